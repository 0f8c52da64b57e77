package vpncheck.rules.health_check_disabled_test

import rego.v1

import data.vpncheck.rules.health_check_disabled

test_disabled_fires if {
	some f in health_check_disabled.deny with input as {"connection": {"health_check": {"enabled": false}}}
	f.rule == "health-check-disabled"
	f.severity == "low"
	f.message == "health check is configured but disabled"
	not f.tunnel_id
}

test_enabled_passes if {
	doc := {"connection": {"health_check": {"enabled": true, "status": "failed"}}}
	count(health_check_disabled.deny) == 0 with input as doc
}

# No configuration, or one that does not say whether it is enabled, is unknown.
test_absent_is_unknown if {
	count(health_check_disabled.deny) == 0 with input as {"connection": {}}
	count(health_check_disabled.deny) == 0 with input as {"connection": {"health_check": {"status": "success"}}}
}

# The health check belongs to the connection: a dual-tunnel connection gets one finding.
test_dual_tunnel_one_finding if {
	findings := health_check_disabled.deny with input as {
		"connection": {"dual_tunnel": true, "health_check": {"enabled": false}},
		"tunnels": [{"id": "tun-1"}, {"id": "tun-2"}],
	}
	count(findings) == 1
	every f in findings {
		not f.tunnel_id
	}
}
