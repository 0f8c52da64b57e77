package vpncheck.rules.tunnel_not_established_test

import rego.v1

import data.vpncheck.rules.tunnel_not_established

test_ike_down_fires if {
	some f in tunnel_not_established.deny with input as {"tunnels": [{"status": "ike_sa_not_established"}]}
	f.rule == "tunnel-not-established"
	f.severity == "high"
	f.message == "tunnel is not established: status ike_sa_not_established"
}

test_established_passes if {
	count(tunnel_not_established.deny) == 0 with input as {"tunnels": [{"status": "ipsec_sa_established"}]}
}

test_absent_is_unknown if {
	count(tunnel_not_established.deny) == 0 with input as {"tunnels": [{}, {"status": ""}]}
}

test_dual_tunnel if {
	findings := tunnel_not_established.deny with input as {"tunnels": [
		{"id": "tun-1", "status": "ipsec_sa_established"},
		{"id": "tun-2", "status": "ipsec_sa_not_established"},
	]}
	{[f.tunnel_id, f.message] | some f in findings} == {[
		"tun-2",
		"tunnel is not established on tunnel tun-2: status ipsec_sa_not_established",
	]}
}

test_severity_by_status_value if {
	some f in tunnel_not_established.deny with input as {"tunnels": [{"status": "ike_sa_not_established"}]}
		with data.vpncheck.config.severity.by_value as {"tunnel-not-established": {"ike_sa_not_established": "critical"}}
	f.severity == "critical"
}
