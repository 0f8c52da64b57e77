# Membership tests against the value lists of policy data
# (data.vpncheck.config). Values compare case-insensitively.
package vpncheck.lib

import rego.v1

# METADATA
# description: >-
#   Holds when value is on the denied list of the named kind (encryption,
#   integrity, dh_group, ike_version, ike_mode).
denied(kind, value) if listed(object.get(data.vpncheck.lib.config.values, [kind, "denied"], []), value)

# METADATA
# description: Holds when value is on the allowed list of the named kind.
allowed(kind, value) if listed(object.get(data.vpncheck.lib.config.values, [kind, "allowed"], []), value)

# METADATA
# scope: document
# description: Holds when the data either allows or denies value.
known(kind, value) if allowed(kind, value)

known(kind, value) if denied(kind, value)

# METADATA
# description: Holds when value is a non-empty string on list, ignoring case.
listed(list, value) if {
	is_string(value)
	value != ""
	wanted := lower(value)
	some v in list
	lower(v) == wanted
}
