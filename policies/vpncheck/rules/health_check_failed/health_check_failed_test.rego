package vpncheck.rules.health_check_failed_test

import rego.v1

import data.vpncheck.rules.health_check_failed

test_failed_fires if {
	some f in health_check_failed.deny with input as {"connection": {"health_check": {"enabled": true, "status": "failed"}}}
	f.rule == "health-check-failed"
	not f.tunnel_id
}

test_success_passes if {
	count(health_check_failed.deny) == 0 with input as {"connection": {"health_check": {"enabled": true, "status": "success"}}}
}

test_disabled_or_unknown_enable_passes if {
	count(health_check_failed.deny) == 0 with input as {"connection": {"health_check": {"enabled": false, "status": "failed"}}}
	count(health_check_failed.deny) == 0 with input as {"connection": {"health_check": {"status": "failed"}}}
}

test_absent_is_unknown if {
	count(health_check_failed.deny) == 0 with input as {"connection": {}}
}

# The health check belongs to the connection: a dual-tunnel connection gets one finding.
test_dual_tunnel_one_finding if {
	findings := health_check_failed.deny with input as {
		"connection": {"dual_tunnel": true, "health_check": {"enabled": true, "status": "failed"}},
		"tunnels": [{"id": "tun-1"}, {"id": "tun-2"}],
	}
	count(findings) == 1
}
