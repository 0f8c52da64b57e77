# METADATA
# title: BGP session down
# description: >-
#   BGP is enabled on the tunnel and its session status is present and not
#   up (status.bgp_up in policy data, success by default), so the routes it
#   should carry are not exchanged and traffic to the peer's networks is lost
#   or takes another path. RFC 4271 defines the session states; NIST SP
#   800-77 Rev. 1 treats VPN availability as a security objective. Severity
#   medium: the tunnel may still carry statically routed traffic. For a
#   dual-tunnel connection BGP counts as enabled only when EnableTunnelsBgp
#   is true.
# related_resources:
#   - ref: https://www.rfc-editor.org/rfc/rfc4271#section-8
#     description: RFC 4271, BGP-4 finite state machine
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
# custom:
#   id: bgp-down
#   severity: medium
#   remediation: >-
#     Check the tunnel is established, then the BGP peer IPs, ASNs and
#     authentication key on both ends and that the peer accepts the session.
package vpncheck.rules.bgp_down

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, status, message) if {
	some tunnel in input.tunnels
	tunnel.bgp.enabled == true
	status := tunnel.bgp.status
	status != ""
	not lib.listed(lib.config.status.bgp_up, status)
	message := sprintf("BGP session is down%s: status %s", [lib.on(tunnel), status])
}
