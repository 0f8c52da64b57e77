package vpncheck.rules.ike_aggressive_mode_test

import rego.v1

import data.vpncheck.rules.ike_aggressive_mode

test_aggressive_ikev1_fires if {
	some f in ike_aggressive_mode.deny with input as {"tunnels": [{"ike": {"version": "ikev1", "mode": "aggressive"}}]}
	f.rule == "ike-aggressive-mode"
	f.severity == "high"
	f.message == "IKE mode is aggressive"
}

# The mode is known; only an IKEv2 version makes it irrelevant.
test_aggressive_without_version_fires if {
	count(ike_aggressive_mode.deny) == 1 with input as {"tunnels": [{"ike": {"mode": "aggressive"}}]}
}

test_main_mode_passes if {
	count(ike_aggressive_mode.deny) == 0 with input as {"tunnels": [{"ike": {"version": "ikev1", "mode": "main"}}]}
}

test_ikev2_ignores_mode if {
	doc := {"tunnels": [{"ike": {"version": "IKEv2", "mode": "aggressive"}}]}
	count(ike_aggressive_mode.deny) == 0 with input as doc
}

test_absent_is_unknown if {
	count(ike_aggressive_mode.deny) == 0 with input as {"tunnels": [{"ike": {"version": "ikev1"}}, {}]}
}

test_dual_tunnel if {
	findings := ike_aggressive_mode.deny with input as {"tunnels": [
		{"id": "tun-1", "ike": {"version": "ikev1", "mode": "main"}},
		{"id": "tun-2", "ike": {"version": "ikev1", "mode": "aggressive"}},
	]}
	{f.tunnel_id | some f in findings} == {"tun-2"}
}
