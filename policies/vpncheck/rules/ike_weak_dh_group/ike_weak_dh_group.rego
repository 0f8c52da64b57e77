# METADATA
# title: Weak IKE Diffie-Hellman group
# description: >-
#   Phase 1 (IKE) uses a Diffie-Hellman group smaller than 2048 bits. RFC 8247
#   section 2.4 marks group 1 (768-bit MODP) MUST NOT and groups 2 (1024-bit)
#   and 5 (1536-bit) SHOULD NOT; NIST SP 800-77 Rev. 1 sets 2048 bits as the
#   floor. Severity high: a breakable key exchange exposes every key derived
#   from it. Alibaba Cloud's strongest offer, group14 (2048-bit MODP, RFC 8247
#   MUST), is compliant.
# related_resources:
#   - ref: https://www.rfc-editor.org/rfc/rfc8247#section-2.4
#     description: RFC 8247, IKEv2 key exchange methods
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
# custom:
#   id: ike-weak-dh-group
#   severity: high
#   remediation: >-
#     Set the IKE DH group to group14 on the connection and on the customer
#     gateway device.
package vpncheck.rules.ike_weak_dh_group

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, group, message) if {
	some tunnel in input.tunnels
	group := tunnel.ike.dh_group
	lib.denied("dh_group", group)
	message := sprintf("IKE DH group is %s%s", [group, lib.on(tunnel)])
}
