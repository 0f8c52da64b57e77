package vpncheck.rules.ipsec_pfs_disabled_test

import rego.v1

import data.vpncheck.rules.ipsec_pfs_disabled

test_disabled_fires if {
	some f in ipsec_pfs_disabled.deny with input as {"tunnels": [{"ipsec": {"dh_group": "disabled"}}]}
	f.rule == "ipsec-pfs-disabled"
	f.severity == "medium"
	f.message == "IPsec perfect forward secrecy is off"
}

test_group_passes if {
	count(ipsec_pfs_disabled.deny) == 0 with input as {"tunnels": [
		{"ipsec": {"dh_group": "group14"}},
		{"ipsec": {"dh_group": "group2"}},
	]}
}

test_absent_is_unknown if {
	doc := {"tunnels": [{"ipsec": {"encryption": "aes"}}, {"ike": {"dh_group": "disabled"}}]}
	count(ipsec_pfs_disabled.deny) == 0 with input as doc
}

test_dual_tunnel if {
	findings := ipsec_pfs_disabled.deny with input as {"tunnels": [
		{"id": "tun-1", "ipsec": {"dh_group": "group14"}},
		{"id": "tun-2", "ipsec": {"dh_group": "disabled"}},
	]}
	{f.tunnel_id | some f in findings} == {"tun-2"}
}

test_off_values_come_from_data if {
	count(ipsec_pfs_disabled.deny) == 1 with input as {"tunnels": [{"ipsec": {"dh_group": "none"}}]}
		with data.vpncheck.config.values.pfs_disabled as ["disabled", "none"]
}
