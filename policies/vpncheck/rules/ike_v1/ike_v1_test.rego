package vpncheck.rules.ike_v1_test

import rego.v1

import data.vpncheck.rules.ike_v1

test_ikev1_fires if {
	some f in ike_v1.deny with input as {"tunnels": [{"ike": {"version": "ikev1", "encryption": "aes"}}]}
	f.rule == "ike-v1"
	f.severity == "low"
	f.message == "IKE version is ikev1"
}

test_ikev2_passes if {
	count(ike_v1.deny) == 0 with input as {"tunnels": [{"ike": {"version": "ikev2"}}]}
}

test_china_crypto_is_exempt if {
	count(ike_v1.deny) == 0 with input as {"tunnels": [
		{"ike": {"version": "ikev1", "encryption": "sm4", "integrity": "sha256"}},
		{"ike": {"version": "ikev1", "encryption": "aes", "integrity": "sm3"}},
	]}
}

test_absent_is_unknown if {
	count(ike_v1.deny) == 0 with input as {"tunnels": [{"ike": {"mode": "main"}}, {}]}
}

test_dual_tunnel if {
	findings := ike_v1.deny with input as {"tunnels": [
		{"id": "tun-1", "ike": {"version": "ikev1", "encryption": "sm4"}},
		{"id": "tun-2", "ike": {"version": "ikev1", "encryption": "aes"}},
	]}
	{f.tunnel_id | some f in findings} == {"tun-2"}
}

test_allowing_ikev1_in_data_silences_it if {
	count(ike_v1.deny) == 0 with input as {"tunnels": [{"ike": {"version": "ikev1"}}]}
		with data.vpncheck.config.values.ike_version as {"allowed": ["ikev1", "ikev2"], "denied": []}
}

test_china_crypto_list_comes_from_data if {
	count(ike_v1.deny) == 1 with input as {"tunnels": [{"ike": {"version": "ikev1", "encryption": "sm4"}}]}
		with data.vpncheck.config.china_crypto_algorithms as []
}
