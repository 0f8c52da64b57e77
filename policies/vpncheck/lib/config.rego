# Policy data (data.vpncheck.config), with a built-in default behind every
# key a rule reads, so that a key missing from the data can never switch a
# check off. vpncheck itself refuses data with a missing key at load
# (policies/schema/config.schema.json); the defaults guard every other
# evaluation (opa eval, opa test, a test that replaces the data), and a test
# keeps them equal to config/data.json.
package vpncheck.lib

import rego.v1

# METADATA
# description: >-
#   The policy data, data.vpncheck.config, merged over the built-in
#   defaults: objects key by key, anything else (a number, a list) replaced
#   whole, as vpncheck merges a team's data over the built-in data.
config := object.union(_defaults, _data)

# METADATA
# description: >-
#   A team rule's own setting: data.vpncheck.config.custom[id][key], else
#   default_value. Give a default that keeps the rule checking.
custom(id, key, default_value) := object.get(data.vpncheck.lib.config, ["custom", id, key], default_value)

# Without policy data, or with data that is not an object (vpncheck refuses
# both at load), every key reads as its default.
default _data := {}

_data := data.vpncheck.config if is_object(data.vpncheck.config)

_defaults := {
	"values": _default_values,
	"china_crypto_algorithms": ["sm3", "sm4"],
	"psk": {"min_length": 16, "min_guesses": 1e14},
	"status": {
		"tunnel_established": ["ipsec_sa_established"],
		"bgp_up": ["success"],
		"health_check_failed": ["failed"],
	},
	"subnets": {"any": ["0.0.0.0/0"]},
	"disabled_rules": [],
}

_default_values := {
	"encryption": {"allowed": ["aes", "aes192", "aes256", "sm4"], "denied": ["des", "3des"]},
	"integrity": {"allowed": ["sha256", "sha384", "sha512", "sm3"], "denied": ["md5", "sha1"]},
	"dh_group": {"allowed": ["group14"], "denied": ["group1", "group2", "group5"]},
	"ike_version": {"allowed": ["ikev2"], "denied": ["ikev1"]},
	"ike_mode": {"allowed": ["main"], "denied": ["aggressive"]},
	"pfs_disabled": ["disabled"],
}
