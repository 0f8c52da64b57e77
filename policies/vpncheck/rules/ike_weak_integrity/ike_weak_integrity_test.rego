package vpncheck.rules.ike_weak_integrity_test

import rego.v1

import data.vpncheck.rules.ike_weak_integrity

test_sha1_is_medium_by_value if {
	some f in ike_weak_integrity.deny with input as {"tunnels": [{"ike": {"integrity": "sha1"}}]}
	f.rule == "ike-weak-integrity"
	f.severity == "medium"
	f.message == "IKE integrity algorithm is sha1"
	not f.tunnel_id
}

test_md5_is_high if {
	some f in ike_weak_integrity.deny with input as {"tunnels": [{"ike": {"integrity": "md5"}}]}
	f.severity == "high"
}

test_sha2_and_sm3_pass if {
	count(ike_weak_integrity.deny) == 0 with input as {"tunnels": [
		{"ike": {"integrity": "sha256"}},
		{"ike": {"integrity": "sha512"}},
		{"ike": {"integrity": "sm3"}},
	]}
}

test_absent_is_unknown if {
	count(ike_weak_integrity.deny) == 0 with input as {"tunnels": [{"ike": {"encryption": "aes"}}, {}]}
}

test_dual_tunnel_names_each_tunnel if {
	findings := ike_weak_integrity.deny with input as {"tunnels": [
		{"id": "tun-1", "ike": {"integrity": "md5"}},
		{"id": "tun-2", "ike": {"integrity": "sha256"}},
		{"id": "tun-3", "ike": {"integrity": "sha1"}},
	]}
	{[f.tunnel_id, f.severity] | some f in findings} == {["tun-1", "high"], ["tun-3", "medium"]}
}

test_denied_list_comes_from_data if {
	count(ike_weak_integrity.deny) == 0 with input as {"tunnels": [{"ike": {"integrity": "sha1"}}]}
		with data.vpncheck.config.values.integrity.denied as ["md5"]
}

test_severity_by_value_from_data if {
	some f in ike_weak_integrity.deny with input as {"tunnels": [{"ike": {"integrity": "sha1"}}]}
		with data.vpncheck.config.severity.by_value as {"ike-weak-integrity": {"sha1": "critical"}}
	f.severity == "critical"
}
