package vpncheck.rules.psk_exposed_test

import rego.v1

import data.vpncheck.rules.psk_exposed

test_exposed_fires if {
	some f in psk_exposed.deny with input as {"tunnels": [{"psk": {"length": 20, "exposed_in": ["tag:Owner", "name"]}}]}
	f.rule == "psk-exposed"
	f.severity == "critical"
	f.message == "pre-shared key is readable in name, tag:Owner"
}

test_not_exposed_passes if {
	count(psk_exposed.deny) == 0 with input as {"tunnels": [{"psk": {"length": 20, "exposed_in": []}}]}
}

test_absent_is_unknown if {
	count(psk_exposed.deny) == 0 with input as {"tunnels": [{}, {"psk": {"length": 20}}]}
}

test_dual_tunnel if {
	findings := psk_exposed.deny with input as {"tunnels": [
		{"id": "tun-1", "psk": {"exposed_in": ["remote_id"]}},
		{"id": "tun-2", "psk": {"exposed_in": []}},
	]}
	{[f.tunnel_id, f.message] | some f in findings} == {[
		"tun-1",
		"pre-shared key on tunnel tun-1 is readable in remote_id",
	]}
}
