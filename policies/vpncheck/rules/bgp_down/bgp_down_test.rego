package vpncheck.rules.bgp_down_test

import rego.v1

import data.vpncheck.rules.bgp_down

test_enabled_and_failed_fires if {
	some f in bgp_down.deny with input as {"tunnels": [{"bgp": {"enabled": true, "status": "false"}}]}
	f.rule == "bgp-down"
	f.severity == "medium"
	f.message == "BGP session is down: status false"
}

test_success_passes if {
	count(bgp_down.deny) == 0 with input as {"tunnels": [{"bgp": {"enabled": true, "status": "success"}}]}
}

test_not_enabled_passes if {
	count(bgp_down.deny) == 0 with input as {"tunnels": [
		{"bgp": {"enabled": false, "status": "false"}},
		{"bgp": {"status": "false", "peer_asn": "65000"}},
	]}
}

test_absent_is_unknown if {
	doc := {"tunnels": [{}, {"bgp": {"enabled": true}}, {"bgp": {"enabled": true, "status": ""}}]}
	count(bgp_down.deny) == 0 with input as doc
}

test_dual_tunnel if {
	findings := bgp_down.deny with input as {
		"connection": {"dual_tunnel": true, "enable_tunnels_bgp": true},
		"tunnels": [
			{"id": "tun-1", "bgp": {"enabled": true, "status": "success"}},
			{"id": "tun-2", "bgp": {"enabled": true, "status": "failed"}},
		],
	}
	{f.tunnel_id | some f in findings} == {"tun-2"}
}

test_up_values_come_from_data if {
	count(bgp_down.deny) == 0 with input as {"tunnels": [{"bgp": {"enabled": true, "status": "established"}}]}
		with data.vpncheck.config.status.bgp_up as ["success", "established"]
}
