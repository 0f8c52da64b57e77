# METADATA
# title: Weak IPsec PFS Diffie-Hellman group
# description: >-
#   Phase 2 (IPsec) perfect forward secrecy uses a Diffie-Hellman group smaller
#   than 2048 bits: group 1 is MUST NOT and groups 2 and 5 SHOULD NOT in
#   RFC 8247 section 2.4 (the same groups serve PFS), and NIST SP 800-77
#   Rev. 1 sets 2048 bits as the floor. Severity high: the exchange that is
#   meant to protect past traffic can itself be broken. group14 is compliant.
# related_resources:
#   - ref: https://www.rfc-editor.org/rfc/rfc8247#section-2.4
#     description: RFC 8247, key exchange methods (also used for PFS)
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
# custom:
#   id: ipsec-weak-dh-group
#   severity: high
#   remediation: >-
#     Set the IPsec PFS group to group14 on the connection and on the customer
#     gateway device.
package vpncheck.rules.ipsec_weak_dh_group

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, group, message) if {
	some tunnel in input.tunnels
	group := tunnel.ipsec.dh_group
	lib.denied("dh_group", group)
	message := sprintf("IPsec PFS group is %s%s", [group, lib.on(tunnel)])
}
