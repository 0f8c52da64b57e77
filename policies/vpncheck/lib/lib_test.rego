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

test_finding_carries_its_value if {
	lib.finding(_chain, {"id": "tun-1"}, "des", "it is wrong").value == "des"
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

test_defaults_are_the_built_in_data if {
	leaves := {path: value |
		walk(lib._defaults, [path, value])
		not is_object(value)
	}
	count(leaves) > 10
	every path, value in leaves {
		object.get(data.vpncheck.config, path, null) == value
	}
}

test_a_missing_key_falls_back_to_its_default if {
	lib.config.psk.min_length == 16 with data.vpncheck.config as {}
	lib.config.values.dh_group.denied == ["group1", "group2", "group5"] with data.vpncheck.config as {}
	lib.denied("integrity", "md5") with data.vpncheck.config as {"values": {}}
	lib.config.psk.min_length == 24 with data.vpncheck.config.psk as {"min_length": 24}
	lib.config.psk.min_guesses == 1e14 with data.vpncheck.config.psk as {"min_length": 24}
}

test_a_config_that_is_not_an_object_reads_as_the_defaults if {
	lib.config.psk.min_length == 16 with data.vpncheck.config as ["psk"]
	lib.denied("dh_group", "group5") with data.vpncheck.config as null
}

test_data_replaces_a_default_list_whole if {
	lib.config.values.dh_group.denied == ["group2"] with data.vpncheck.config.values.dh_group.denied as ["group2"]
	not lib.denied("dh_group", "group5") with data.vpncheck.config.values.dh_group.denied as ["group2"]
}

test_custom_settings if {
	lib.custom("team-rule", "tags", ["Owner"]) == ["Owner"] with data.vpncheck.config as {}
	custom := {"team-rule": {"tags": ["CostCenter"]}}
	lib.custom("team-rule", "tags", ["Owner"]) == ["CostCenter"] with data.vpncheck.config.custom as custom
}

test_severity_without_data if {
	lib.severity("x-rule", "high", "md5") == "high" with data.vpncheck.config as {}
}
