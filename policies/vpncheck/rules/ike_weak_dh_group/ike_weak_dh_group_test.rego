package vpncheck.rules.ike_weak_dh_group_test

import rego.v1

import data.vpncheck.rules.ike_weak_dh_group

test_group2_fires if {
	some f in ike_weak_dh_group.deny with input as {"tunnels": [{"ike": {"dh_group": "group2"}}]}
	f.rule == "ike-weak-dh-group"
	f.severity == "high"
	f.message == "IKE DH group is group2"
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

test_severity_by_rule_from_data if {
	some f in ike_weak_dh_group.deny with input as {"tunnels": [{"ike": {"dh_group": "group5"}}]}
		with data.vpncheck.config.severity.by_rule as {"ike-weak-dh-group": "medium"}
	f.severity == "medium"
}

test_by_value_wins_over_by_rule if {
	findings := ike_weak_dh_group.deny with input as {"tunnels": [
		{"id": "tun-a", "ike": {"dh_group": "group1"}},
		{"id": "tun-b", "ike": {"dh_group": "group5"}},
	]}
		with data.vpncheck.config.severity as {
			"by_rule": {"ike-weak-dh-group": "medium"},
			"by_value": {"ike-weak-dh-group": {"group1": "critical"}},
		}
	{[f.tunnel_id, f.severity] | some f in findings} == {["tun-a", "critical"], ["tun-b", "medium"]}
}
