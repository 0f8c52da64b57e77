# METADATA
# title: Dead peer detection disabled
# description: >-
#   Dead peer detection (RFC 3706) is off, so a tunnel whose peer has gone
#   stays up on this side until its SAs expire, black-holing traffic and
#   delaying failover to a standby tunnel or route. NIST SP 800-77 Rev. 1
#   lists liveness checks among the availability controls of a VPN. Severity
#   medium: an availability risk, not a confidentiality one.
# related_resources:
#   - ref: https://www.rfc-editor.org/rfc/rfc3706
#     description: RFC 3706, dead peer detection
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
# custom:
#   id: dpd-disabled
#   severity: medium
#   remediation: >-
#     Enable DPD on the connection (ModifyVpnConnectionAttribute, EnableDpd
#     true, or the tunnel's EnableDpd in dual-tunnel mode).
package vpncheck.rules.dpd_disabled

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, "", message) if {
	some tunnel in input.tunnels
	tunnel.dpd == false
	message := sprintf("dead peer detection is off%s", [lib.on(tunnel)])
}
