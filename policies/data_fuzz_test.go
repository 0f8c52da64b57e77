package policies

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzPolicyData: arbitrary bytes as a team's data.json, merged over the
// built-in data. Load either succeeds with policy data that passes the
// schema, or fails with ErrPolicy in one line naming the key (or the file)
// at fault; never a panic.
func FuzzPolicyData(f *testing.F) {
	builtin, err := FS.ReadFile("vpncheck/config/data.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(builtin)
	if team, err := os.ReadFile("../examples/team-policies/custom_rule/vpncheck/config/data.json"); err == nil {
		f.Add(team)
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `"x"`, `{"psk": null}`,
		`{"psk": {"min_length": 24, "banned": ["hunter2"], "estimate_max_length": 32}, "disabled_rules": ["dpd-disabled"]}`,
		`{"psk": {"estimate_max_length": 1e400, "min_guesses": -1}}`,
		`{"severity": {"by_rule": {"psk-weak": "low"}, "by_value": {"ike-weak-integrity": {"sha1": "urgent"}}}}`,
		`{"exceptions": [{"rule": "ike-v1", "connection_id": "*", "tunnel_id": "tun-1", "reason": "r", "owner": "o", "expires": "2030-02-30"}]}`,
		`{"tag_exceptions": {"max_days": 90.5, "max_severity": "high", "require_reason": "yes"}, "evaluation": {"timeout_ms": 0}}`,
		`{"custom": {"psk-weak": {"x": [1, {"y": null}]}}, "values": {"encryption": {"allowed": [], "denied": [3]}}}`,
		`{"values": {"dh_group": {"allowed": ["group14"], "denied": ["group14"]}}, "subnets": {"any": ["0.0.0.0/0", "::/0"]}}`,
		"{\"status\": {\"bgp_up\": [\"\\u0000\"]}, \"\xff\": 1}",
		`{"a\nb": 1}`, `{"custom": {"x\r\ny": 1}}`, `{"severity": {"by_rule": {"psk-weak\n": "low"}}}`,
		`{"exceptions": [{"rule": "ike-v1\nx", "connection_id": "*", "reason": "r", "owner": "o", "expires": "2030-01-01\n"}]}`,
		`{"disabled_rules": ["\u2028"], "psk": {"banned": ["\n"]}, "tag_exceptions": {"max_severity": "high\n"}}`,
	} {
		f.Add([]byte(s))
	}
	schema, _, err := compiledSchema()
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Load(ctx, Options{Custom: fstest.MapFS{"vpncheck/config/data.json": {Data: data}}, Source: "team"})
		if err != nil {
			msg := err.Error()
			if !errors.Is(err, ErrPolicy) || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("refused with %q, want one line wrapping ErrPolicy", msg)
			}
			if testing.Verbose() {
				t.Log(msg)
			}
			if !strings.Contains(msg, "vpncheck.config") && !strings.Contains(msg, "vpncheck/config/data.json") && !strings.Contains(msg, "no rule and no data") {
				t.Fatalf("the error names no key nor file: %s", msg)
			}
			return
		}
		cfg := lookup(set.Data, configPath)
		if err := schema.Validate(cfg); err != nil {
			t.Fatalf("loaded data that the schema refuses: %v", err)
		}
		if c := set.Config; c.PSK.EstimateMaxLength < 1 || c.Evaluation.TimeoutMS < 1 || !isSeverity(c.TagExceptions.MaxSeverity) {
			t.Fatalf("loaded config %+v", c)
		}
	})
}
