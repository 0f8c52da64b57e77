# METADATA
# title: Weak pre-shared key
# description: >-
#   The tunnel's pre-shared key is short, on the banned list of common keys,
#   or easy to guess. A guessed key lets an attacker impersonate the gateway,
#   or crack captured IKEv1 aggressive-mode exchanges offline; NIST SP 800-77
#   Rev. 1 asks for pre-shared keys with the strength of a random key, and
#   RFC 7296 section 2.15 warns that a shared secret must carry enough
#   entropy. Severity critical: the key is the only authentication of the
#   peer. The minimum length, minimum zxcvbn guess estimate and banned list
#   are policy data (psk); vpncheck computes the facts, and the key never
#   reaches the policies.
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
	some i, tunnel in input.tunnels
	reasons := [reason | some [j, reason] in _weaknesses; j == i]
	count(reasons) > 0
	message := sprintf("pre-shared key is weak%s: %s", [lib.on(tunnel), concat(", ", sort(reasons))])
}

# Each weakness is a pair [tunnel index, reason].
_weaknesses contains [i, reason] if {
	some i, tunnel in input.tunnels
	minimum := lib.config.psk.min_length
	tunnel.psk.length < minimum
	reason := sprintf("%d characters, below the minimum of %d", [tunnel.psk.length, minimum])
}

_weaknesses contains [i, "a commonly used key"] if {
	some i, tunnel in input.tunnels
	tunnel.psk.banned == true
}

_weaknesses contains [i, reason] if {
	some i, tunnel in input.tunnels
	minimum := lib.config.psk.min_guesses
	tunnel.psk.guesses < minimum
	reason := sprintf(
		"estimated at about 10^%d guesses, below the minimum of %v%s",
		[tunnel.psk.guesses_log10, minimum, _estimate_scope(tunnel.psk)],
	)
}

# A key longer than psk.estimate_max_length is estimated on its prefix.
_estimate_scope(psk) := sprintf(" (the estimate covers the first %d characters)", [psk.estimated_length]) if {
	psk.estimated_length < psk.length
} else := ""
