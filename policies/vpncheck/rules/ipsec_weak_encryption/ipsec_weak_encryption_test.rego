package vpncheck.rules.ipsec_weak_encryption_test

import rego.v1

import data.vpncheck.rules.ipsec_weak_encryption

test_des_fires if {
	some f in ipsec_weak_encryption.deny with input as {"tunnels": [{"ipsec": {"encryption": "des"}}]}
	f.rule == "ipsec-weak-encryption"
	f.severity == "high"
	f.message == "IPsec encryption algorithm is des"
}

test_aes_passes if {
	count(ipsec_weak_encryption.deny) == 0 with input as {"tunnels": [{"ipsec": {"encryption": "aes"}}]}
}

test_absent_is_unknown if {
	doc := {"tunnels": [{"ipsec": {"dh_group": "disabled"}}, {"ike": {"encryption": "des"}}]}
	count(ipsec_weak_encryption.deny) == 0 with input as doc
}

test_dual_tunnel if {
	findings := ipsec_weak_encryption.deny with input as {"tunnels": [
		{"id": "tun-1", "ipsec": {"encryption": "3des"}},
		{"id": "tun-2", "ipsec": {"encryption": "aes256"}},
	]}
	{f.tunnel_id | some f in findings} == {"tun-1"}
}

test_severity_by_value if {
	some f in ipsec_weak_encryption.deny with input as {"tunnels": [{"ipsec": {"encryption": "3des"}}]}
		with data.vpncheck.config.severity.by_value as {"ipsec-weak-encryption": {"3des": "medium"}}
	f.severity == "medium"
}
