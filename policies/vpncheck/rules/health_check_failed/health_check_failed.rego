# METADATA
# title: Health check failing
# description: >-
#   The connection's health check is enabled and reports failed: probes to the
#   destination address do not pass through the tunnel, so the link is down
#   or routing is broken, and traffic may be lost or fail over. NIST SP 800-77
#   Rev. 1 treats VPN availability as a security objective. Severity high: the
#   private network path the connection exists for is not working now. The
#   status values that mean failed are policy data (status.health_check_failed).
# related_resources:
#   - ref: https://www.alibabacloud.com/help/en/vpn/sub-product-ipsec-vpn/user-guide/configure-health-checks
#     description: Alibaba Cloud, IPsec-VPN health checks
#   - ref: https://csrc.nist.gov/pubs/sp/800/77/r1/final
#     description: NIST SP 800-77 Rev. 1, Guide to IPsec VPNs
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

deny contains lib.finding(rego.metadata.chain(), {}, check.status, "health check is failing") if {
	check := input.connection.health_check
	check.enabled == true
	lib.listed(lib.config.status.health_check_failed, check.status)
}
