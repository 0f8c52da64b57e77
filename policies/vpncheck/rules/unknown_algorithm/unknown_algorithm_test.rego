package vpncheck.rules.unknown_algorithm_test

import rego.v1

import data.vpncheck.rules.unknown_algorithm

_known_ike := {"version": "ikev2", "mode": "main", "encryption": "aes256", "integrity": "sha256", "dh_group": "group14"}

_known_ipsec := {"encryption": "aes256", "integrity": "sha256", "dh_group": "group14"}

test_unknown_ike_encryption_fires if {
	doc := {"tunnels": [{"ike": object.union(_known_ike, {"encryption": "aes-gcm"})}]}
	some f in unknown_algorithm.deny with input as doc
	f.rule == "unknown-algorithm"
	f.severity == "info"
	f.message == "IKE encryption algorithm aes-gcm is neither allowed nor denied by policy data"
}

test_every_field_is_judged if {
	findings := unknown_algorithm.deny with input as {"tunnels": [{
		"ike": {"version": "ikev3", "mode": "quick", "encryption": "x1", "integrity": "x2", "dh_group": "group19"},
		"ipsec": {"encryption": "x3", "integrity": "x4", "dh_group": "group20"},
	}]}
	count(findings) == 8
}

test_known_values_pass if {
	count(unknown_algorithm.deny) == 0 with input as {"tunnels": [
		{"ike": _known_ike, "ipsec": _known_ipsec},
		{
			"ike": {"version": "ikev1", "mode": "aggressive", "encryption": "3des", "integrity": "md5", "dh_group": "group2"},
			"ipsec": {"encryption": "sm4", "integrity": "sm3", "dh_group": "disabled"},
		},
	]}
}

# disabled is known as an IPsec PFS value only.
test_disabled_is_unknown_for_ike if {
	doc := {"tunnels": [{"ike": object.union(_known_ike, {"dh_group": "disabled"})}]}
	count(unknown_algorithm.deny) == 1 with input as doc
}

test_absent_is_unknown if {
	count(unknown_algorithm.deny) == 0 with input as {"tunnels": [{}, {"ike": {"encryption": ""}}, {"ipsec": {}}]}
}

test_dual_tunnel if {
	findings := unknown_algorithm.deny with input as {"tunnels": [
		{"id": "tun-1", "ipsec": object.union(_known_ipsec, {"integrity": "sha3"})},
		{"id": "tun-2", "ipsec": _known_ipsec},
	]}
	{[f.tunnel_id, f.message] | some f in findings} == {[
		"tun-1",
		"IPsec integrity algorithm sha3 is neither allowed nor denied by policy data on tunnel tun-1",
	]}
}

test_adding_a_value_to_data_makes_it_known if {
	doc := {"tunnels": [{"ike": object.union(_known_ike, {"dh_group": "group19"})}]}
	count(unknown_algorithm.deny) == 0 with input as doc
		with data.vpncheck.config.values.dh_group.allowed as ["group14", "group19"]
}
