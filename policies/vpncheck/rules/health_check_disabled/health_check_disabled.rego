# METADATA
# title: Health check disabled
# description: >-
#   The connection has a health check configuration but it is switched off,
#   so a tunnel that passes no traffic is not detected and, with a standby
#   connection or tunnel, routes do not fail over. NIST SP 800-77 Rev. 1
#   counts monitoring of the VPN among its availability controls. Severity
#   low: it removes a safety net, it breaks nothing by itself. A connection
#   without a health check configuration, or whose configuration does not say
#   whether it is enabled, is not judged.
# related_resources:
#   - ref: https://www.alibabacloud.com/help/en/vpn/sub-product-ipsec-vpn/user-guide/configure-health-checks
#     description: Alibaba Cloud, IPsec-VPN health checks
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
# custom:
#   id: health-check-disabled
#   severity: low
#   remediation: >-
#     Enable the connection's health check with a source and destination
#     address that answer across the tunnel (ModifyVpnConnectionAttribute,
#     HealthCheckConfig enable true).
package vpncheck.rules.health_check_disabled

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), {}, "", "health check is configured but disabled") if {
	input.connection.health_check.enabled == false
}
