package vpncheck.rules.psk_reused_test

import rego.v1

import data.vpncheck.rules.psk_reused

test_shared_key_fires if {
	some f in psk_reused.deny with input as {"tunnels": [{"psk": {"length": 20, "shared_with": 3}}]}
	f.rule == "psk-reused"
	f.severity == "high"
	f.message == "pre-shared key is shared by 3 tunnels"
}

test_unique_key_passes if {
	count(psk_reused.deny) == 0 with input as {"tunnels": [{"psk": {"length": 20, "shared_with": 1}}]}
}

test_absent_key_is_unknown if {
	count(psk_reused.deny) == 0 with input as {"tunnels": [{}, {"psk": {"length": 20}}]}
}

test_dual_tunnel_same_key_on_both if {
	findings := psk_reused.deny with input as {"tunnels": [
		{"id": "tun-1", "psk": {"shared_with": 2}},
		{"id": "tun-2", "psk": {"shared_with": 2}},
	]}
	{[f.tunnel_id, f.message] | some f in findings} == {
		["tun-1", "pre-shared key on tunnel tun-1 is shared by 2 tunnels"],
		["tun-2", "pre-shared key on tunnel tun-2 is shared by 2 tunnels"],
	}
}
