# METADATA
# title: Pre-shared key exposed
# description: >-
#   The whole pre-shared key appears in the connection's name or a tag value,
#   or equals the tunnel's local or remote IKE identity. Names, tags and
#   identities are readable by anyone with read-only access to the account,
#   are copied into logs, consoles and tickets, and are sent in IKE messages,
#   so the key is effectively public. NIST SP 800-77 Rev. 1 requires keys to
#   be kept secret. Severity critical: whoever reads the field can
#   authenticate as the peer. vpncheck masks the key in every output.
# related_resources:
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs, on protecting pre-shared keys
# custom:
#   id: psk-exposed
#   severity: critical
#   remediation: >-
#     Remove the key from the connection's name, tags and IKE identities, then
#     generate a new random key and set it on the connection and on the
#     customer gateway device: the old one must be treated as disclosed.
package vpncheck.rules.psk_exposed

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, "", message) if {
	some tunnel in input.tunnels
	places := tunnel.psk.exposed_in
	count(places) > 0
	message := sprintf("pre-shared key%s is readable in %s", [lib.on(tunnel), concat(", ", sort(places))])
}
