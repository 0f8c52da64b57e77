# METADATA
# title: Weak pre-shared key
# description: >-
#   The tunnel's pre-shared key is short, on the banned list of common keys, or
#   easy to guess. A guessed PSK lets an attacker impersonate the gateway or,
#   with IKEv1 aggressive mode, crack it offline (NIST SP 800-77 Rev. 1,
#   section 4.2.2: a PSK must have the strength of a random key). Thresholds
#   (minimum length, minimum zxcvbn guess estimate) and the banned list are
#   policy data. vpncheck computes these facts; the key never reaches policy.
# related_resources:
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs, on pre-shared keys
#   - ref: https://www.rfc-editor.org/rfc/rfc7296#section-2.15
#     description: RFC 7296, on the entropy of shared secrets
# custom:
#   id: psk-weak
#   severity: critical
#   remediation: >-
#     Generate a random key of at least 32 characters (for example
#     `openssl rand -base64 32`), set it on the connection and on the customer
#     gateway device, and store it in a secrets manager.
package vpncheck.rules.psk_weak

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, "", message) if {
	some tunnel in input.tunnels
	reasons := _reasons(tunnel.psk)
	count(reasons) > 0
	message := sprintf("pre-shared key is weak%s: %s", [lib.on(tunnel), concat(", ", sort(reasons))])
}

_reasons(psk) := (_too_short(psk) | _banned(psk)) | _guessable(psk)

_too_short(psk) := {sprintf("%d characters, below the minimum of %d", [psk.length, min_length])} if {
	min_length := data.vpncheck.config.psk.min_length
	psk.length < min_length
} else := set()

_banned(psk) := {"a commonly used key"} if psk.banned == true
else := set()

_guessable(psk) := {sprintf("estimated at about 10^%d guesses, below the minimum of %v", [psk.guesses_log10, threshold])} if {
	threshold := data.vpncheck.config.psk.min_guesses
	psk.guesses < threshold
} else := set()
