package vpncheck.rules.health_check_failed_test

import rego.v1

import data.vpncheck.rules.health_check_failed

_check(enabled, status) := {"connection": {"health_check": {"enabled": enabled, "status": status}}}

test_failed_fires if {
	some f in health_check_failed.deny with input as _check(true, "failed")
	f.rule == "health-check-failed"
	f.severity == "high"
	f.message == "health check is failing"
	not f.tunnel_id
}

test_success_passes if {
	count(health_check_failed.deny) == 0 with input as _check(true, "success")
}

test_disabled_or_unknown_enable_passes if {
	count(health_check_failed.deny) == 0 with input as _check(false, "failed")
	count(health_check_failed.deny) == 0 with input as {"connection": {"health_check": {"status": "failed"}}}
}

test_absent_is_unknown if {
	count(health_check_failed.deny) == 0 with input as {"connection": {}}
	count(health_check_failed.deny) == 0 with input as {"connection": {"health_check": {"enabled": true}}}
}

# The health check belongs to the connection: a dual-tunnel connection gets one finding.
test_dual_tunnel_one_finding if {
	findings := health_check_failed.deny with input as {
		"connection": {"dual_tunnel": true, "health_check": {"enabled": true, "status": "failed"}},
		"tunnels": [{"id": "tun-1"}, {"id": "tun-2"}],
	}
	count(findings) == 1
}

test_failed_values_come_from_data if {
	count(health_check_failed.deny) == 1 with input as _check(true, "timeout")
		with data.vpncheck.config.status.health_check_failed as ["failed", "timeout"]
}
