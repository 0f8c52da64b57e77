# METADATA
# title: Tunnel not established
# description: >-
#   The tunnel's status is present and is not an established IPsec SA
#   (status.tunnel_established in policy data, ipsec_sa_established by
#   default): phase 1 or phase 2 has not completed, so no traffic passes.
#   A down standby tunnel also means there is no failover path. NIST SP 800-77
#   Rev. 1 treats VPN availability as a security objective. Severity high:
#   the connection is not doing its job. The status value is the finding's
#   value, so data can set, for example, a different severity for
#   ike_sa_not_established.
# related_resources:
#   - ref: https://www.alibabacloud.com/help/en/vpn/sub-product-ipsec-vpn/user-guide/ipsec-connection-troubleshooting
#     description: Alibaba Cloud, troubleshooting IPsec-VPN connections
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
# custom:
#   id: tunnel-not-established
#   severity: high
#   remediation: >-
#     Compare the IKE and IPsec settings, pre-shared key and identities on
#     both ends and check that UDP 500/4500 reach the gateway; the
#     connection's logs in the VPN console name the failing phase.
package vpncheck.rules.tunnel_not_established

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), tunnel, status, message) if {
	some tunnel in input.tunnels
	status := tunnel.status
	status != ""
	not lib.listed(lib.config.status.tunnel_established, status)
	message := sprintf("tunnel is not established%s: status %s", [lib.on(tunnel), status])
}
