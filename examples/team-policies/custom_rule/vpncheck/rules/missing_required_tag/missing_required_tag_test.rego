package vpncheck.rules.missing_required_tag_test

import rego.v1

import data.vpncheck.rules.missing_required_tag

test_missing_tag_fires if {
	some f in missing_required_tag.deny with input as {"connection": {"tags": {"Owner": "net-team"}}}
		with data.vpncheck.config.custom as _required(["Owner", "CostCenter"])
	f.rule == "missing-required-tag"
	f.severity == "low"
	f.message == "connection has no CostCenter tag"
}

test_all_tags_present_passes if {
	doc := {"connection": {"tags": {"Owner": "net-team", "CostCenter": "42"}}}
	count(missing_required_tag.deny) == 0 with input as doc
		with data.vpncheck.config.custom as _required(["Owner", "CostCenter"])
}

test_no_tags_at_all if {
	count(missing_required_tag.deny) == 2 with input as {"connection": {}}
		with data.vpncheck.config.custom as _required(["Owner", "CostCenter"])
}

test_empty_value_counts_as_missing if {
	count(missing_required_tag.deny) == 1 with input as {"connection": {"tags": {"Owner": ""}}}
		with data.vpncheck.config.custom as _required(["Owner"])
}

test_without_data_requires_an_owner if {
	findings := missing_required_tag.deny with input as {"connection": {"tags": {"CostCenter": "42"}}}
		with data.vpncheck.config as {}
	{f.message | some f in findings} == {"connection has no Owner tag"}
}

_required(tags) := {"missing-required-tag": {"required_tags": tags}}
