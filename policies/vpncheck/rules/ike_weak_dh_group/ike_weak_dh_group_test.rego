package vpncheck.rules.ike_weak_dh_group_test

import rego.v1

import data.vpncheck.rules.ike_weak_dh_group

test_group2_fires if {
	some f in ike_weak_dh_group.deny with input as {"tunnels": [{"ike": {"dh_group": "group2"}}]}
	f.rule == "ike-weak-dh-group"
	f.severity == "high"
}

test_group14_passes if {
	count(ike_weak_dh_group.deny) == 0 with input as {"tunnels": [{"ike": {"dh_group": "group14"}}]}
}

test_absent_is_unknown if {
	count(ike_weak_dh_group.deny) == 0 with input as {"tunnels": [{"ike": {}}, {"ipsec": {"dh_group": "group1"}}]}
}

test_dual_tunnel if {
	findings := ike_weak_dh_group.deny with input as {"tunnels": [
		{"id": "tun-a", "ike": {"dh_group": "group5"}},
		{"id": "tun-b", "ike": {"dh_group": "group14"}},
	]}
	{f.tunnel_id | some f in findings} == {"tun-a"}
}
