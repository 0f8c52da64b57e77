package vpncheck.lib_test

import rego.v1

import data.vpncheck.lib

_chain := [
	{"path": ["data", "vpncheck", "rules", "x", "deny"], "annotations": {"scope": "rule"}},
	{
		"path": ["data", "vpncheck", "rules", "x"],
		"annotations": {
			"scope": "package", "title": "X",
			"custom": {"id": "x-rule", "severity": "high", "remediation": "Fix it."},
		},
	},
]

test_finding_for_a_tunnel if {
	lib.finding(_chain, {"id": "tun-1"}, "", "it is wrong") == {
		"rule": "x-rule", "title": "X", "severity": "high",
		"remediation": "Fix it.", "message": "it is wrong", "tunnel_id": "tun-1",
	}
}

test_finding_for_the_connection_has_no_tunnel_id if {
	f := lib.finding(_chain, {}, "", "m")
	not f.tunnel_id
	g := lib.finding(_chain, {"id": ""}, "", "m")
	not g.tunnel_id
}

test_severity_resolution if {
	overrides := {
		"by_rule": {"x-rule": "low", "y-rule": "critical"},
		"by_value": {"x-rule": {"md5": "critical"}},
	}
	lib.severity("x-rule", "high", "md5") == "critical" with data.vpncheck.config.severity as overrides
	lib.severity("x-rule", "high", "sha1") == "low" with data.vpncheck.config.severity as overrides
	lib.severity("z-rule", "high", "md5") == "high" with data.vpncheck.config.severity as overrides
	lib.severity("z-rule", "medium", "") == "medium" with data.vpncheck.config.severity as {}
}

test_on if {
	lib.on({"id": "tun-9"}) == " on tunnel tun-9"
	lib.on({}) == ""
	lib.on({"id": ""}) == ""
}

test_lists_ignore_case if {
	lib.denied("integrity", "MD5")
	lib.allowed("encryption", "AES256")
	lib.known("dh_group", "group2")
	lib.known("dh_group", "group14")
	not lib.known("dh_group", "group19")
	not lib.denied("no_such_kind", "md5")
}

test_listed_needs_a_non_empty_string if {
	lib.listed(["a", "B"], "b")
	not lib.listed(["a"], "")
	not lib.listed(["1"], 1)
	not lib.listed([], "a")
}
