# METADATA
# title: IKE aggressive mode
# description: >-
#   Phase 1 runs in IKEv1 aggressive mode, which sends the identities in the
#   clear and a hash that lets an eavesdropper crack the pre-shared key
#   offline. NIST SP 800-77 Rev. 1 advises against it and RFC 9395 deprecates
#   IKEv1 altogether. Severity high: with a pre-shared key it turns a passive
#   observer into an attacker who can impersonate the gateway. IKEv2 has no
#   modes, so the rule does not fire when the version is ikev2.
# related_resources:
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
#   - ref: https://www.rfc-editor.org/rfc/rfc9395
#     description: RFC 9395, deprecation of IKEv1 and obsoleted algorithms
# custom:
#   id: ike-aggressive-mode
#   severity: high
#   remediation: >-
#     Set the IKE mode to main, or better the IKE version to ikev2, on the
#     connection and on the customer gateway device; then change the
#     pre-shared key, which may have been captured.
package vpncheck.rules.ike_aggressive_mode

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, mode, message) if {
	some tunnel in input.tunnels
	mode := tunnel.ike.mode
	lib.denied("ike_mode", mode)
	not _ikev2(tunnel.ike)
	message := sprintf("IKE mode is %s%s", [mode, lib.on(tunnel)])
}

_ikev2(ike) if lower(ike.version) == "ikev2"
