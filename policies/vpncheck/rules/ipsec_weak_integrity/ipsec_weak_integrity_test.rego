package vpncheck.rules.ipsec_weak_integrity_test

import rego.v1

import data.vpncheck.rules.ipsec_weak_integrity

test_md5_is_high if {
	some f in ipsec_weak_integrity.deny with input as {"tunnels": [{"ipsec": {"integrity": "md5"}}]}
	f.rule == "ipsec-weak-integrity"
	f.severity == "high"
	f.message == "IPsec integrity algorithm is md5"
}

test_sha1_is_medium if {
	some f in ipsec_weak_integrity.deny with input as {"tunnels": [{"ipsec": {"integrity": "sha1"}}]}
	f.severity == "medium"
}

test_sha2_and_sm3_pass if {
	count(ipsec_weak_integrity.deny) == 0 with input as {"tunnels": [
		{"ipsec": {"integrity": "sha384"}},
		{"ipsec": {"integrity": "sm3"}},
	]}
}

test_absent_is_unknown if {
	doc := {"tunnels": [{"ipsec": {"encryption": "aes"}}, {"ike": {"integrity": "md5"}}]}
	count(ipsec_weak_integrity.deny) == 0 with input as doc
}

test_dual_tunnel if {
	findings := ipsec_weak_integrity.deny with input as {"tunnels": [
		{"id": "tun-1", "ipsec": {"integrity": "sha1"}},
		{"id": "tun-2", "ipsec": {"integrity": "sha1"}},
	]}
	{f.tunnel_id | some f in findings} == {"tun-1", "tun-2"}
}
