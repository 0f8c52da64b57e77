package vpncheck.main_test

import rego.v1

import data.vpncheck.main

# A connection like the API's documented sample: IKEv1, sha1, group2, a weak
# key shared with another tunnel, and a failing health check.
_sample := {
	"connection": {
		"id": "vco-1",
		"local_subnets": ["10.0.0.0/8"],
		"remote_subnets": ["192.168.0.0/16"],
		"dual_tunnel": false,
		"status": "ipsec_sa_established",
		"health_check": {"enabled": true, "status": "failed"},
	},
	"tunnels": [{
		"status": "ipsec_sa_established",
		"ike": {
			"version": "ikev1", "mode": "main", "encryption": "aes", "integrity": "sha1",
			"dh_group": "group2", "lifetime": 86400, "local_id": "8.0.0.1", "remote_id": "8.0.0.2",
		},
		"ipsec": {"encryption": "aes", "integrity": "sha1", "dh_group": "group2", "lifetime": 86400},
		"psk": {"length": 6, "banned": true, "guesses": 2, "guesses_log10": 0, "exposed_in": [], "shared_with": 2},
		"bgp": {"enabled": true, "status": "success", "local_asn": "10001", "peer_asn": "10001"},
	}],
}

_sample_rules := {
	"health-check-failed", "ike-v1", "ike-weak-dh-group", "ike-weak-integrity",
	"ipsec-weak-dh-group", "ipsec-weak-integrity", "psk-reused", "psk-weak",
}

test_collects_every_rule if {
	{f.rule | some f in main.findings} == _sample_rules with input as _sample
}

test_findings_have_the_documented_shape if {
	findings := main.findings with input as _sample
	count(findings) > 0
	every f in findings {
		object.keys(object.remove(f, ["tunnel_id", "value"])) == {"rule", "title", "severity", "remediation", "message"}
		f.severity in {"info", "low", "medium", "high", "critical"}
	}
}

test_a_clean_connection_has_no_findings if {
	count(main.findings) == 0 with input as {
		"connection": {"id": "vco-2", "health_check": {"enabled": true, "status": "success"}},
		"tunnels": [
			{
				"id": "tun-1", "status": "ipsec_sa_established", "dpd": true,
				"ike": {"version": "ikev2", "encryption": "aes256", "integrity": "sha256", "dh_group": "group14"},
				"ipsec": {"encryption": "aes256", "integrity": "sha256", "dh_group": "group14"},
				"psk": {"length": 32, "banned": false, "guesses": 1e30, "guesses_log10": 30, "exposed_in": [], "shared_with": 1},
			},
			{
				"id": "tun-2", "status": "ipsec_sa_established", "dpd": true,
				"ike": {"version": "ikev1", "encryption": "sm4", "integrity": "sm3", "dh_group": "group14"},
				"ipsec": {"encryption": "sm4", "integrity": "sm3", "dh_group": "group14"},
			},
		],
	}
}

test_an_empty_connection_has_no_findings if {
	count(main.findings) == 0 with input as {"connection": {}, "tunnels": [{}]}
}

test_disabled_rules_are_left_out if {
	rules := {f.rule | some f in main.findings} with input as _sample
		with data.vpncheck.config.disabled_rules as ["ike-v1", "psk-weak"]
	rules == _sample_rules - {"ike-v1", "psk-weak"}
}

test_a_rule_package_added_under_rules_is_collected if {
	extra := {"rule": "team-rule", "title": "t", "severity": "low", "remediation": "r", "message": "m"}
	some f in main.findings with input as {"connection": {}, "tunnels": [{}]}
		with data.vpncheck.rules.team_rule.deny as {extra}
	f.rule == "team-rule"
}
