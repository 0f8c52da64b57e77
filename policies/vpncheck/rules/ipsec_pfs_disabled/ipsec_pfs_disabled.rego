# METADATA
# title: IPsec perfect forward secrecy disabled
# description: >-
#   Phase 2 rekeys without a fresh Diffie-Hellman exchange, so every IPsec SA
#   key derives from the IKE SA's keying material and one compromise exposes
#   all the traffic of that IKE SA's life. NIST SP 800-77 Rev. 1 recommends
#   PFS; RFC 7296 section 1.3.2 describes the optional exchange. Severity
#   medium: it widens the damage of a key compromise rather than causing one.
#   The values that mean "off" are policy data (values.pfs_disabled).
# related_resources:
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
#   - ref: https://www.rfc-editor.org/rfc/rfc7296#section-1.3.2
#     description: RFC 7296, rekeying child SAs with a new Diffie-Hellman exchange
# custom:
#   id: ipsec-pfs-disabled
#   severity: medium
#   remediation: >-
#     Set the IPsec PFS (DH group) to group14 on the connection and on the
#     customer gateway device.
package vpncheck.rules.ipsec_pfs_disabled

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, pfs, message) if {
	some tunnel in input.tunnels
	pfs := tunnel.ipsec.dh_group
	lib.listed(lib.config.values.pfs_disabled, pfs)
	message := sprintf("IPsec perfect forward secrecy is off%s", [lib.on(tunnel)])
}
