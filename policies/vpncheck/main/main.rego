# METADATA
# title: vpncheck entrypoint
# description: >-
#   Gathers the findings of every rule under data.vpncheck.rules for one
#   connection (the input), leaving out the rules switched off in
#   data.vpncheck.config.disabled_rules.
# entrypoint: true
package vpncheck.main

import rego.v1

import data.vpncheck.lib

_disabled contains id if some id in lib.config.disabled_rules

findings contains finding if {
	some finding in data.vpncheck.rules[_].deny
	not finding.rule in _disabled
}
