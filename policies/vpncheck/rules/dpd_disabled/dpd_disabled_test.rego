package vpncheck.rules.dpd_disabled_test

import rego.v1

import data.vpncheck.rules.dpd_disabled

test_off_fires if {
	some f in dpd_disabled.deny with input as {"tunnels": [{"dpd": false}]}
	f.rule == "dpd-disabled"
	f.severity == "medium"
	f.message == "dead peer detection is off"
}

test_on_passes if {
	count(dpd_disabled.deny) == 0 with input as {"tunnels": [{"dpd": true}]}
}

test_absent_is_unknown if {
	count(dpd_disabled.deny) == 0 with input as {"tunnels": [{}]}
}

test_dual_tunnel if {
	doc := {"tunnels": [{"id": "tun-1", "dpd": true}, {"id": "tun-2", "dpd": false}]}
	findings := dpd_disabled.deny with input as doc
	{f.tunnel_id | some f in findings} == {"tun-2"}
}

test_disabled_rules_in_data_do_not_change_the_rule_itself if {
	# disabled_rules is applied by main.rego, not by each rule.
	count(dpd_disabled.deny) == 1 with input as {"tunnels": [{"dpd": false}]}
		with data.vpncheck.config.disabled_rules as ["dpd-disabled"]
}
