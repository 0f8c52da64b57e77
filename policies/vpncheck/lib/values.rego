# Value lists: the allowed and denied values of policy data. Values compare
# case-insensitively.
package vpncheck.lib

import rego.v1

# denied holds when value is on the denied list of the named kind
# (encryption, integrity, dh_group, ike_version, ike_mode).
denied(kind, value) if lower(value) in _lowered(data.vpncheck.config.values[kind].denied)

# allowed holds when value is on the allowed list of the named kind.
allowed(kind, value) if lower(value) in _lowered(data.vpncheck.config.values[kind].allowed)

# known holds when the data either allows or denies value.
known(kind, value) if allowed(kind, value)

known(kind, value) if denied(kind, value)

_lowered(values) := {lower(v) | some v in values}
