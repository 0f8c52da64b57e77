package vpncheck.rules.ipsec_weak_dh_group_test

import rego.v1

import data.vpncheck.rules.ipsec_weak_dh_group

test_group1_fires if {
	some f in ipsec_weak_dh_group.deny with input as {"tunnels": [{"ipsec": {"dh_group": "group1"}}]}
	f.rule == "ipsec-weak-dh-group"
	f.severity == "high"
	f.message == "IPsec PFS group is group1"
}

test_group14_and_disabled_pass if {
	count(ipsec_weak_dh_group.deny) == 0 with input as {"tunnels": [
		{"ipsec": {"dh_group": "group14"}},
		{"ipsec": {"dh_group": "disabled"}},
	]}
}

test_absent_is_unknown if {
	doc := {"tunnels": [{"ipsec": {"encryption": "aes"}}, {"ike": {"dh_group": "group1"}}]}
	count(ipsec_weak_dh_group.deny) == 0 with input as doc
}

test_dual_tunnel if {
	findings := ipsec_weak_dh_group.deny with input as {"tunnels": [
		{"id": "tun-a", "ipsec": {"dh_group": "group2"}},
		{"id": "tun-b", "ipsec": {"dh_group": "group2"}},
	]}
	{f.tunnel_id | some f in findings} == {"tun-a", "tun-b"}
}
