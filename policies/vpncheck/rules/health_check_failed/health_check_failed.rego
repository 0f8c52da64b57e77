# METADATA
# title: Health check failing
# description: >-
#   The connection's health check is enabled and reports failed: traffic to
#   the destination address does not pass through the tunnel, so the link is
#   down or routing is broken, and failover may not happen.
# related_resources:
#   - ref: https://www.alibabacloud.com/help/en/vpn/sub-product-ipsec-vpn/user-guide/configure-health-checks
#     description: Alibaba Cloud, IPsec-VPN health checks
# custom:
#   id: health-check-failed
#   severity: high
#   remediation: >-
#     Check the tunnel status and the routes on both sides, and that the
#     health check's source and destination addresses answer; the connection's
#     monitoring page shows when it started failing.
package vpncheck.rules.health_check_failed

import rego.v1

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), {}, "", message) if {
	check := input.connection.health_check
	check.enabled == true
	check.status == "failed"
	message := "health check is failing"
}
