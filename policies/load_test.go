package policies_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vpncheck/vpncheck/policies"
)

// teamRule is a complete rule of a team's own.
const teamRule = `# METADATA
# title: Connection name missing
# description: Every connection needs a name.
# custom:
#   id: name-missing
#   severity: low
#   remediation: Name it.
package vpncheck.rules.name_missing

import data.vpncheck.lib

deny contains lib.finding(rego.metadata.chain(), {}, "", "the connection has no name") if {
	not input.connection.name
}
`

func files(kv ...string) fstest.MapFS {
	m := fstest.MapFS{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
	}
	return m
}

// config wraps a config object as a top-level data.json needs it.
func config(c string) string { return `{"vpncheck": {"config": ` + c + `}}` }

// TestLoadRefusesSilentMistakes: each of these once loaded and quietly
// checked less than its author meant. Each is now a load error naming the
// file, package or data key.
func TestLoadRefusesSilentMistakes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"rule package outside vpncheck.rules", files("team/x.rego", strings.Replace(teamRule, "package vpncheck.rules.name_missing", "package team.name_missing", 1)),
			"team/x.rego: package team.name_missing is outside vpncheck.rules.<name>"},
		{"deny one level too deep", files("x.rego", strings.Replace(teamRule, "package vpncheck.rules.name_missing", "package vpncheck.rules.team.name_missing", 1)),
			"deny in package vpncheck.rules.team.name_missing is never collected"},
		{"data.json without its wrapper", files("data.json", `{"psk": {"min_length": 24}}`),
			`data file data.json: it puts "psk" at data.psk, outside data.vpncheck.config`},
		{"data.json half wrapped", files("data.json", `{"vpncheck": {"psk": {"min_length": 24}}}`),
			`data file data.json: it puts "psk" at data.vpncheck.psk, outside data.vpncheck.config`},
		{"data file in another directory", files("team/config/data.json", `{"psk": {"min_length": 24}}`),
			"data file team/config/data.json: its data lands at data.team.config, outside data.vpncheck.config"},
		{"misspelt threshold", files("vpncheck/config/data.json", `{"psk": {"min_lenght": 24}}`),
			"policy data vpncheck.config.psk.min_lenght: unknown key (a typo?"},
		{"unknown top-level key", files("vpncheck/config/data.json", `{"required_tags": ["Owner"]}`),
			"policy data vpncheck.config.required_tags: unknown key"},
		{"replaced with an empty list", files("vpncheck/config/data.json", `{"values": {"encryption": {"denied": []}}}`),
			"policy data vpncheck.config.values.encryption.denied: is empty"},
		{"empty status list", files("vpncheck/config/data.json", `{"status": {"tunnel_established": []}}`),
			"policy data vpncheck.config.status.tunnel_established: is empty"},
		{"threshold null", files("vpncheck/config/data.json", `{"psk": {"min_length": null}}`),
			"policy data vpncheck.config.psk.min_length: is null, want integer (set by custom)"},
		{"threshold a string", files("vpncheck/config/data.json", `{"psk": {"min_length": "16"}}`),
			"policy data vpncheck.config.psk.min_length: is string, want integer"},
		{"threshold a fraction", files("vpncheck/config/data.json", `{"psk": {"min_length": 16.5}}`),
			"policy data vpncheck.config.psk.min_length: is number, want integer"},
		{"list item not a string", files("vpncheck/config/data.json", `{"psk": {"banned": ["x", 1]}}`),
			"policy data vpncheck.config.psk.banned[1]: is number, want string"},
		{"unknown severity by rule", files("vpncheck/config/data.json", `{"severity": {"by_rule": {"psk-weak": "urgent"}}}`),
			`policy data vpncheck.config.severity.by_rule.psk-weak: "urgent" is not one of ["info","low","medium","high","critical"]`},
		{"unknown severity by value", files("vpncheck/config/data.json", `{"severity": {"by_value": {"ike-weak-integrity": {"sha1": "urgent"}}}}`),
			`policy data vpncheck.config.severity.by_value.ike-weak-integrity.sha1: "urgent" is not one of`},
		{"unknown severity in METADATA", files("x.rego", strings.Replace(teamRule, "severity: low", "severity: urgent", 1)),
			`rule name-missing (data.vpncheck.rules.name_missing): METADATA custom.severity: unknown severity "urgent"`},
		{"disabled rule that does not exist", files("vpncheck/config/data.json", `{"disabled_rules": ["dpd-disabld"]}`),
			`policy data vpncheck.config.disabled_rules[0]: no rule has id "dpd-disabld"`},
		{"severity for a rule that does not exist", files("vpncheck/config/data.json", `{"severity": {"by_rule": {"psk-weakk": "low"}}}`),
			`policy data vpncheck.config.severity.by_rule.psk-weakk: no rule has id "psk-weakk"`},
		{"exception for a rule that does not exist", files("vpncheck/config/data.json", `{"exceptions": [{"rule": "ike-v2", "connection_id": "*", "reason": "r", "owner": "o", "expires": "2030-01-01"}]}`),
			`policy data vpncheck.config.exceptions[0].rule: no rule has id "ike-v2"`},
		{"exception with a misspelt key", files("vpncheck/config/data.json", `{"exceptions": [{"rule": "ike-v1", "connection": "vco-1", "connection_id": "*", "reason": "r", "owner": "o", "expires": "2030-01-01"}]}`),
			"policy data vpncheck.config.exceptions[0].connection: unknown key"},
		{"exception without owner", files("vpncheck/config/data.json", `{"exceptions": [{"rule": "ike-v1", "connection_id": "*", "reason": "r", "expires": "2030-01-01"}]}`),
			"policy data vpncheck.config.exceptions[0].owner: missing"},
		{"exception with a blank reason", files("vpncheck/config/data.json", `{"exceptions": [{"rule": "ike-v1", "connection_id": "*", "reason": " ", "owner": "o", "expires": "2030-01-01"}]}`),
			"policy data vpncheck.config.exceptions[0].reason: is blank"},
		{"exception with an impossible date", files("vpncheck/config/data.json", `{"exceptions": [{"rule": "ike-v1", "connection_id": "*", "reason": "r", "owner": "o", "expires": "2030-02-30"}]}`),
			`policy data vpncheck.config.exceptions[0].expires: "2030-02-30" is not a date (YYYY-MM-DD)`},
		{"exceptions not a list", files("vpncheck/config/data.json", `{"exceptions": {"rule": "ike-v1"}}`),
			"policy data vpncheck.config.exceptions: is object, want array"},
		{"tag exception severity", files("vpncheck/config/data.json", `{"tag_exceptions": {"max_severity": "urgent"}}`),
			`policy data vpncheck.config.tag_exceptions.max_severity: "urgent" is not one of`},
		{"evaluation timeout a string", files("vpncheck/config/data.json", `{"evaluation": {"timeout_ms": "2000"}}`),
			"policy data vpncheck.config.evaluation.timeout_ms: is string, want integer"},
		{"estimate length out of range", files("vpncheck/config/data.json", `{"psk": {"estimate_max_length": 100000}}`),
			"policy data vpncheck.config.psk.estimate_max_length"},
		{"custom data for a rule that does not exist", files("vpncheck/config/data.json", `{"custom": {"missing-tag": {"tags": []}}}`),
			`policy data vpncheck.config.custom.missing-tag: no rule has id "missing-tag"`},
		{"preferred value the rule denies", files("vpncheck/config/data.json", `{"preferred": {"ike": {"encryption": "3des"}}}`),
			`policy data vpncheck.config.preferred.ike.encryption: "3des" is not an allowed value`},
		{"preferred pfs that disables pfs", files("vpncheck/config/data.json", `{"preferred": {"ipsec": {"pfs": "disabled"}}}`),
			`policy data vpncheck.config.preferred.ipsec.pfs: "disabled" is not an allowed value`},
		{"preferred key misspelt", files("vpncheck/config/data.json", `{"preferred": {"ike": {"encrypton": "aes"}}}`),
			"policy data vpncheck.config.preferred.ike.encrypton: unknown key"},
		{"config replaced by a list", files("data.json", config(`[]`)),
			"policy data vpncheck.config: is array, want object"},
		{"empty directory", files(), "no rule and no data"},
		{"only tests", files("x/x_test.rego", "package vpncheck.rules.x_test\n\ntest_x if true\n"), "no rule and no data"},
		{"empty data", files("vpncheck/config/data.json", `{}`), "no rule and no data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policies.Load(context.Background(), policies.Options{Custom: tc.files})
			if err == nil {
				t.Fatal("loaded")
			}
			if !errors.Is(err, policies.ErrPolicy) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n %s\nwant ErrPolicy containing\n %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestLoadMergesTeamData(t *testing.T) {
	set := load(t, policies.Options{Custom: files(
		"name_missing/name_missing.rego", teamRule,
		"vpncheck/config/data.json", `{"psk": {"min_length": 24, "banned": ["hunter2"], "estimate_max_length": 32},
			"tag_exceptions": {"max_days": 30}, "evaluation": {"timeout_ms": 500},
			"custom": {"name-missing": {"anything": [1, 2]}}, "disabled_rules": ["dpd-disabled"]}`,
	)})
	c := set.Config
	if c.PSK.EstimateMaxLength != 32 || len(c.PSK.Banned) != 1 || c.PSK.Banned[0] != "hunter2" {
		t.Errorf("psk = %+v: the team's list replaces the built-in one", c.PSK)
	}
	want := policies.TagExceptionsConfig{MaxDays: 30, MaxSeverity: "high", RequireReason: true, RequireOwner: true}
	if c.TagExceptions != want {
		t.Errorf("tag_exceptions = %+v, want %+v (merged key by key)", c.TagExceptions, want)
	}
	if c.Evaluation.Timeout() != 500*time.Millisecond {
		t.Errorf("evaluation timeout = %v", c.Evaluation.Timeout())
	}
	psk := set.Data["vpncheck"].(map[string]any)["config"].(map[string]any)["psk"].(map[string]any)
	if psk["min_length"] == nil || psk["min_guesses"] == nil {
		t.Errorf("merged psk = %v: min_guesses must survive the merge", psk)
	}
	if set.Rules[len(set.Rules)-1].ID != "unknown-algorithm" || len(set.Rules) != 20 {
		t.Errorf("%d rules", len(set.Rules))
	}
}

func TestLoadBuiltinDefaults(t *testing.T) {
	c := load(t, policies.Options{}).Config
	want := policies.Config{
		PSK:           policies.PSKConfig{Banned: c.PSK.Banned, EstimateMaxLength: 64},
		TagExceptions: policies.TagExceptionsConfig{MaxDays: 90, MaxSeverity: "high", RequireReason: true, RequireOwner: true},
		Evaluation:    policies.EvaluationConfig{TimeoutMS: 2000},
	}
	if len(c.PSK.Banned) < 10 || c.PSK.EstimateMaxLength != want.PSK.EstimateMaxLength || c.TagExceptions != want.TagExceptions || c.Evaluation != want.Evaluation {
		t.Errorf("built-in config = %+v, want %+v", c, want)
	}
}

// The built-in data names built-in rules (severity.by_value); without the
// built-in rules those ids are still known, so a team's set alone loads.
func TestLoadWithoutBuiltinRules(t *testing.T) {
	set := load(t, policies.Options{NoBuiltinRules: true, Custom: files("r.rego", teamRule,
		"data.json", config(`{"disabled_rules": ["psk-weak"]}`))})
	if len(set.Rules) != 1 || set.Rules[0].ID != "name-missing" {
		t.Errorf("rules = %+v", set.Rules)
	}
	for name := range set.Modules {
		if strings.HasPrefix(name, "builtin:vpncheck/rules/") {
			t.Errorf("built-in rule %s loaded", name)
		}
	}
	_, err := policies.Load(context.Background(), policies.Options{NoBuiltinRules: true, Custom: files("data.json", config(`{"psk": {"min_length": 20}}`))})
	if !errors.Is(err, policies.ErrPolicy) || !strings.Contains(err.Error(), "no rule loaded") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadSandbox(t *testing.T) {
	for _, call := range []string{`http.send({"method": "get", "url": "http://127.0.0.1:1"}).status_code == 200`, `opa.runtime().env.HOME`, `net.lookup_ip_addr("example.com")`} {
		rule := strings.Replace(teamRule, "not input.connection.name", call, 1)
		_, err := policies.Load(context.Background(), policies.Options{Custom: files("r.rego", rule)})
		if !errors.Is(err, policies.ErrPolicy) || !strings.Contains(err.Error(), "undefined function") {
			t.Errorf("%s: err = %v", call, err)
		}
	}
}

func TestLoadTestsOnlyWhenAsked(t *testing.T) {
	custom := files("r.rego", teamRule, "r_test.rego", "package vpncheck.rules.name_missing_test\n\ntest_x if true\n")
	if set := load(t, policies.Options{Custom: custom}); set.Modules["custom:r_test.rego"] != nil {
		t.Error("a test module loaded for evaluation")
	}
	if set := load(t, policies.Options{Custom: custom, Tests: true}); set.Modules["custom:r_test.rego"] == nil {
		t.Error("the test module is missing with Tests")
	}
}

func TestOptionsOpen(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "b.tar.gz"), []byte("not gzip"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "r.rego"), []byte(teamRule), 0o644))

	var o policies.Options
	must(o.Open(dir))
	if o.Custom == nil || o.Bundle != nil || o.Source != dir {
		t.Errorf("directory: %+v", o)
	}
	o = policies.Options{}
	must(o.Open(filepath.Join(dir, "b.tar.gz")))
	if o.Custom != nil || string(o.Bundle) != "not gzip" {
		t.Errorf("bundle: %+v", o)
	}
	_, err := policies.Load(context.Background(), o)
	if !errors.Is(err, policies.ErrPolicy) || !strings.Contains(err.Error(), "bundle "+filepath.Join(dir, "b.tar.gz")+": ") {
		t.Errorf("a broken bundle: %v", err)
	}
	if err := (&policies.Options{}).Open(filepath.Join(dir, "r.rego")); err == nil || !strings.Contains(err.Error(), "not a directory or a bundle") {
		t.Errorf("a .rego file: %v", err)
	}
	if err := (&policies.Options{}).Open(filepath.Join(dir, "missing")); err == nil || errors.Is(err, policies.ErrPolicy) {
		t.Errorf("a missing path: %v (bad input, not a policy error)", err)
	}
}

// BenchmarkLoad is one load of the built-in policies: parse, compile,
// catalogue, schema validation (the function does it once per instance).
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := policies.Load(context.Background(), policies.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
