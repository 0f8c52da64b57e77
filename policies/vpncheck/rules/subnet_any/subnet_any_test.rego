package vpncheck.rules.subnet_any_test

import rego.v1

import data.vpncheck.rules.subnet_any

test_remote_any_fires if {
	doc := {"connection": {"local_subnets": ["10.0.0.0/8"], "remote_subnets": ["0.0.0.0/0"]}}
	some f in subnet_any.deny with input as doc
	f.rule == "subnet-any"
	f.severity == "medium"
	f.message == "remote subnet list includes 0.0.0.0/0"
	f.side == "remote"
	not f.tunnel_id
}

test_both_sides_fire if {
	findings := subnet_any.deny with input as {"connection": {
		"local_subnets": ["0.0.0.0/0", "10.0.0.0/8"],
		"remote_subnets": ["192.168.0.0/16", "0.0.0.0/0"],
	}}
	{[f.side, f.message] | some f in findings} == {
		["local", "local subnet list includes 0.0.0.0/0"],
		["remote", "remote subnet list includes 0.0.0.0/0"],
	}
}

test_specific_subnets_pass if {
	doc := {"connection": {"local_subnets": ["10.0.0.0/8"], "remote_subnets": ["0.0.0.0/1"]}}
	count(subnet_any.deny) == 0 with input as doc
}

test_absent_is_unknown if {
	count(subnet_any.deny) == 0 with input as {"connection": {}}
}

# Subnets belong to the connection: a dual-tunnel connection gets one finding per side.
test_dual_tunnel_one_finding if {
	findings := subnet_any.deny with input as {
		"connection": {"dual_tunnel": true, "local_subnets": ["0.0.0.0/0"]},
		"tunnels": [{"id": "tun-1"}, {"id": "tun-2"}],
	}
	count(findings) == 1
}

test_any_values_come_from_data if {
	count(subnet_any.deny) == 1 with input as {"connection": {"remote_subnets": ["::/0"]}}
		with data.vpncheck.config.subnets.any as ["0.0.0.0/0", "::/0"]
}
