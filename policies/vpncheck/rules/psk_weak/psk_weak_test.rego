package vpncheck.rules.psk_weak_test

import rego.v1

import data.vpncheck.rules.psk_weak

_strong := {"length": 32, "banned": false, "guesses": 1e30, "guesses_log10": 30, "exposed_in": [], "shared_with": 1}

_weak := {"length": 6, "banned": true, "guesses": 2, "guesses_log10": 0, "exposed_in": [], "shared_with": 1}

test_short_banned_guessable_key if {
	some f in psk_weak.deny with input as {"tunnels": [{"psk": _weak}]}
	f.rule == "psk-weak"
	f.severity == "critical"
	startswith(f.message, "pre-shared key is weak: ")
	contains(f.message, "6 characters, below the minimum of 16")
	contains(f.message, "a commonly used key")
	contains(f.message, "10^0 guesses")
}

test_strong_key_passes if {
	count(psk_weak.deny) == 0 with input as {"tunnels": [{"psk": _strong}]}
}

test_long_but_guessable if {
	key := object.union(_strong, {"guesses": 3e11, "guesses_log10": 11})
	some f in psk_weak.deny with input as {"tunnels": [{"psk": key}]}
	contains(f.message, "10^11 guesses")
	not contains(f.message, "characters")
}

test_long_key_judged_on_its_prefix if {
	key := object.union(_strong, {"length": 300, "estimated_length": 64, "guesses": 3e11, "guesses_log10": 11})
	some f in psk_weak.deny with input as {"tunnels": [{"psk": key}]}
	startswith(f.message, "pre-shared key is weak: estimated at about 10^11 guesses, below the minimum of ")
	endswith(f.message, " (the estimate covers the first 64 characters)")
}

test_whole_key_estimated if {
	key := object.union(_strong, {"length": 32, "estimated_length": 32, "guesses": 3e11, "guesses_log10": 11})
	some f in psk_weak.deny with input as {"tunnels": [{"psk": key}]}
	not contains(f.message, "first")
}

test_banned_only if {
	some f in psk_weak.deny with input as {"tunnels": [{"psk": object.union(_strong, {"banned": true})}]}
	f.message == "pre-shared key is weak: a commonly used key"
}

test_absent_key_is_unknown if {
	count(psk_weak.deny) == 0 with input as {"tunnels": [{"ike": {"version": "ikev2"}}]}
}

test_min_length_from_data if {
	count(psk_weak.deny) == 1 with input as {"tunnels": [{"psk": _strong}]}
		with data.vpncheck.config.psk.min_length as 40
}

test_min_guesses_from_data if {
	key := object.union(_strong, {"guesses": 3e11, "guesses_log10": 11})
	count(psk_weak.deny) == 0 with input as {"tunnels": [{"psk": key}]}
		with data.vpncheck.config.psk.min_guesses as 1e10
}

test_dual_tunnel if {
	findings := psk_weak.deny with input as {"tunnels": [
		{"id": "tun-1", "psk": _strong},
		{"id": "tun-2", "psk": _weak},
	]}
	{f.tunnel_id | some f in findings} == {"tun-2"}
	some f in findings
	startswith(f.message, "pre-shared key is weak on tunnel tun-2: ")
}

test_missing_thresholds_keep_their_defaults if {
	findings := psk_weak.deny with input as {"tunnels": [{"psk": _weak}]} with data.vpncheck.config as {}
	some f in findings
	contains(f.message, "6 characters, below the minimum of 16")
	contains(f.message, "10^0 guesses")
}
