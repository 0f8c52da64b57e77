package vpncheck.rules.ike_weak_encryption_test

import rego.v1

import data.vpncheck.rules.ike_weak_encryption

test_3des_fires if {
	some f in ike_weak_encryption.deny with input as {"tunnels": [{"ike": {"encryption": "3des"}}]}
	f.rule == "ike-weak-encryption"
	f.severity == "high"
	f.message == "IKE encryption algorithm is 3des"
	not f.tunnel_id
}

test_des_fires_in_any_case if {
	count(ike_weak_encryption.deny) == 1 with input as {"tunnels": [{"ike": {"encryption": "DES"}}]}
}

test_aes_and_sm4_pass if {
	count(ike_weak_encryption.deny) == 0 with input as {"tunnels": [
		{"ike": {"encryption": "aes256"}},
		{"ike": {"encryption": "sm4"}},
	]}
}

test_absent_is_unknown if {
	count(ike_weak_encryption.deny) == 0 with input as {"tunnels": [
		{},
		{"ike": {"integrity": "md5"}},
		{"ike": {"encryption": ""}},
		{"ipsec": {"encryption": "des"}},
	]}
}

test_dual_tunnel_names_the_tunnel if {
	findings := ike_weak_encryption.deny with input as {"tunnels": [
		{"id": "tun-1", "ike": {"encryption": "aes"}},
		{"id": "tun-2", "ike": {"encryption": "3des"}},
	]}
	{[f.tunnel_id, f.message] | some f in findings} == {["tun-2", "IKE encryption algorithm is 3des on tunnel tun-2"]}
}

test_denied_list_comes_from_data if {
	count(ike_weak_encryption.deny) == 1 with input as {"tunnels": [{"ike": {"encryption": "aes"}}]}
		with data.vpncheck.config.values.encryption.denied as ["aes"]
}
