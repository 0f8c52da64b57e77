package checker

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/policies"
)

var (
	builtinOnce   sync.Once
	builtinEngine *Engine
	builtinErr    error
)

// builtin is the engine of the embedded policies, built once per test binary.
func builtin(t testing.TB) *Engine {
	t.Helper()
	builtinOnce.Do(func() {
		builtinEngine, builtinErr = NewEngine(context.Background(), Policies{Builtin: policies.FS})
	})
	if builtinErr != nil {
		t.Fatal(builtinErr)
	}
	return builtinEngine
}

const customRule = `# METADATA
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

func TestEngineLoadsTheBuiltinCatalogue(t *testing.T) {
	rules := builtin(t).Rules()
	ids := map[string]report.Rule{}
	for _, r := range rules {
		ids[r.ID] = r
	}
	for _, id := range []string{"psk-weak", "psk-reused", "ike-weak-integrity", "health-check-failed", "dpd-disabled"} {
		r, ok := ids[id]
		if !ok {
			t.Errorf("rule %s missing from the catalogue", id)
			continue
		}
		if r.Title == "" || r.Description == "" || r.Remediation == "" {
			t.Errorf("rule %s: incomplete metadata %+v", id, r)
		}
	}
}

func TestEngineRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{
			name:  "network builtin",
			files: fstest.MapFS{"net.rego": {Data: []byte(strings.Replace(customRule, "not input.connection.name", `http.send({"method": "get", "url": "http://127.0.0.1:1"}).status_code == 200`, 1))}},
			want:  "undefined function http.send",
		},
		{
			name:  "environment builtin",
			files: fstest.MapFS{"env.rego": {Data: []byte(strings.Replace(customRule, "not input.connection.name", `opa.runtime().env.HOME`, 1))}},
			want:  "undefined function opa.runtime",
		},
		{
			name:  "dns builtin",
			files: fstest.MapFS{"dns.rego": {Data: []byte(strings.Replace(customRule, "not input.connection.name", `net.lookup_ip_addr("example.com")`, 1))}},
			want:  "undefined function net.lookup_ip_addr",
		},
		{
			name:  "rule without metadata",
			files: fstest.MapFS{"bare.rego": {Data: []byte("package vpncheck.rules.bare\n\ndeny contains {\"rule\": \"bare\"} if false\n")}},
			want:  "data.vpncheck.rules.bare (custom:bare.rego) has no METADATA",
		},
		{
			name:  "duplicate id",
			files: fstest.MapFS{"dup.rego": {Data: []byte(strings.Replace(customRule, "id: name-missing", "id: psk-weak", 1))}},
			want:  "rule id psk-weak is declared by both",
		},
		{
			name:  "bad severity",
			files: fstest.MapFS{"sev.rego": {Data: []byte(strings.Replace(customRule, "severity: low", "severity: urgent", 1))}},
			want:  "unknown severity",
		},
		{
			name:  "syntax error",
			files: fstest.MapFS{"broken.rego": {Data: []byte("package vpncheck.rules.broken\n\ndeny contains x if {\n")}},
			want:  "load policies custom: 1 error occurred during loading: broken.rego:4: rego_parse_error",
		},
		{
			name:  "malformed exception",
			files: fstest.MapFS{"data.json": {Data: []byte(`{"vpncheck": {"config": {"exceptions": [{"rule": "psk-weak", "connection_id": "*", "reason": "r", "owner": "o", "expires": "next week"}]}}}`)}},
			want:  `policy data vpncheck.config.exceptions[0].expires: "next week" is not a date (YYYY-MM-DD)`,
		},
		{
			name:  "exception without owner",
			files: fstest.MapFS{"data.json": {Data: []byte(`{"vpncheck": {"config": {"exceptions": [{"rule": "psk-weak", "connection_id": "*", "reason": "r", "expires": "2030-01-01"}]}}}`)}},
			want:  "policy data vpncheck.config.exceptions[0].owner: missing",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEngine(context.Background(), Policies{Builtin: policies.FS, Custom: tc.files})
			if err == nil {
				t.Fatal("loaded")
			}
			if !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want ErrPolicy containing %q", err, tc.want)
			}
		})
	}
}

func TestEngineRefusesToRunWithoutRules(t *testing.T) {
	_, err := NewEngine(context.Background(), Policies{Builtin: policies.FS, NoBuiltinRules: true,
		Custom: fstest.MapFS{"data.json": {Data: []byte(`{"vpncheck": {"config": {"psk": {"min_length": 20}}}}`)}}})
	if !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), "no rule loaded") {
		t.Errorf("err = %v", err)
	}
}

func TestEngineCustomRulesAndData(t *testing.T) {
	ctx := context.Background()
	custom := fstest.MapFS{
		"name_missing/name_missing.rego":      {Data: []byte(customRule)},
		"name_missing/name_missing_test.rego": {Data: []byte("package broken syntax is never loaded {")},
		"data.json":                           {Data: []byte(`{"vpncheck": {"config": {"psk": {"min_length": 4}, "severity": {"by_rule": {"name-missing": "high"}}}}}`)},
	}
	conn := func() *inventory.Inventory {
		inv := inventory.New()
		c := normalizeJSON(t, `{"VpnConnectionId": "vco-1", "IkeConfig": {"Psk": "Zq8#vR2!xL0@pW5&mT7^"}}`)
		inv.Add("cn-test", []*input.Connection{c})
		return inv
	}

	eng, err := NewEngine(ctx, Policies{Builtin: policies.FS, Custom: custom})
	if err != nil {
		t.Fatal(err)
	}
	res, err := eng.Check(ctx, conn(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := rulesOf(res.Report)
	if !got["name-missing"] {
		t.Errorf("custom rule did not fire: %v", got)
	}
	if f := res.Report.Findings[0]; f.Rule != "name-missing" || f.Severity != report.High || f.Title != "Connection name missing" {
		t.Errorf("custom finding = %+v (severity from data by_rule)", f)
	}

	// Without the built-in rules only the custom rule remains.
	eng, err = NewEngine(ctx, Policies{Builtin: policies.FS, Custom: custom, NoBuiltinRules: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(eng.Rules()) != 1 || eng.Rules()[0].ID != "name-missing" {
		t.Errorf("catalogue without built-in rules = %+v", eng.Rules())
	}
}

func TestEngineRejectsIncompleteFindings(t *testing.T) {
	bad := strings.Replace(customRule, `lib.finding(rego.metadata.chain(), {}, "", "the connection has no name")`, `{"rule": "name-missing", "severity": "low"}`, 1)
	eng, err := NewEngine(context.Background(), Policies{Builtin: policies.FS, Custom: fstest.MapFS{"r.rego": {Data: []byte(bad)}}})
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.New()
	inv.Add("cn-test", []*input.Connection{normalizeJSON(t, `{"VpnConnectionId": "vco-1"}`)})
	_, err = eng.Check(context.Background(), inv, Options{})
	if !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), "has no title") {
		t.Errorf("err = %v", err)
	}
}

func rulesOf(r *report.Report) map[string]bool {
	m := map[string]bool{}
	for _, f := range r.Findings {
		m[f.Rule] = true
	}
	return m
}

// A team bundle (written by OPA's bundle writer) loads through NewEngine:
// its rule fires, its data reaches Config, its revision is the engine's.
func TestEngineBundle(t *testing.T) {
	mod, err := ast.ParseModuleWithOpts("vpncheck/rules/name_missing/name_missing.rego", customRule, ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	roots := []string{"vpncheck/rules/name_missing", "vpncheck/config"}
	b := bundle.Bundle{
		Manifest: bundle.Manifest{Revision: "team-42", Roots: &roots},
		Data:     map[string]any{"vpncheck": map[string]any{"config": map[string]any{"evaluation": map[string]any{"timeout_ms": 750}}}},
		Modules:  []bundle.ModuleFile{{URL: mod.Package.Location.File, Path: mod.Package.Location.File, Raw: []byte(customRule), Parsed: mod}},
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(b); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	eng, err := NewEngine(ctx, Policies{Bundle: buf.Bytes(), Source: "team.tar.gz"})
	if err != nil {
		t.Fatal(err)
	}
	if eng.Revision() != "team-42" || eng.Config().Evaluation.Timeout() != 750*time.Millisecond || eng.evalTimeout != 750*time.Millisecond {
		t.Errorf("revision %q, config %+v, eval timeout %v", eng.Revision(), eng.Config(), eng.evalTimeout)
	}
	inv := inventory.New()
	inv.Add("cn-test", []*input.Connection{normalizeJSON(t, `{"VpnConnectionId": "vco-1"}`)})
	res, err := eng.Check(ctx, inv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rulesOf(res.Report)["name-missing"] {
		t.Errorf("the bundle's rule did not fire: %v", rulesOf(res.Report))
	}
	if builtin(t).Revision() != "" || builtin(t).Config().PSK.EstimateMaxLength != 64 {
		t.Errorf("built-in: revision %q, config %+v", builtin(t).Revision(), builtin(t).Config())
	}
}

// A team's rule decides its findings' texts; each is cut to
// MaxFindingText characters, so one rule cannot grow every report and
// state generation by megabytes.
func TestEngineBoundsFindingText(t *testing.T) {
	long := strings.Repeat("é", 600_000) // 1.2 MB
	rule := strings.NewReplacer(
		"# title: Connection name missing", "# title: Connection name missing "+strings.Repeat("t", 5000),
		"#   remediation: Name it.", "#   remediation: Name it. "+strings.Repeat("r", 5000),
		`"the connection has no name"`, `"`+long+`"`,
	).Replace(customRule)
	eng, err := NewEngine(context.Background(), Policies{Builtin: policies.FS, Custom: fstest.MapFS{"r.rego": {Data: []byte(rule)}}, NoBuiltinRules: true})
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.New()
	inv.Add("cn-test", []*input.Connection{normalizeJSON(t, `{"VpnConnectionId": "vco-1"}`)})
	res, err := eng.Check(context.Background(), inv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Report.Findings) != 1 {
		t.Fatalf("findings %+v", res.Report.Findings)
	}
	f := res.Report.Findings[0]
	r := eng.Rules()[0]
	for _, tc := range []struct{ name, text, start string }{
		{"message", f.Message, "éé"}, {"title", f.Title, "Connection name missing t"}, {"remediation", f.Remediation, "Name it. r"},
		{"rule title", r.Title, "Connection name missing t"}, {"rule remediation", r.Remediation, "Name it. r"},
	} {
		if n := utf8.RuneCountInString(tc.text); n != MaxFindingText || !utf8.ValidString(tc.text) || !strings.HasPrefix(tc.text, tc.start) || !strings.HasSuffix(tc.text, "…") {
			t.Errorf("%s: %d characters (valid UTF-8 %v), %.30q…%q; want %d ending in …", tc.name, n, utf8.ValidString(tc.text), tc.text, tc.text[max(0, len(tc.text)-8):], MaxFindingText)
		}
	}
	for _, s := range []string{"", "short", strings.Repeat("é", MaxFindingText), strings.Repeat("a", MaxFindingText)} {
		if got := bound(s); got != s {
			t.Errorf("bound of %d characters changed it", utf8.RuneCountInString(s))
		}
	}
	if got := bound(strings.Repeat("a", MaxFindingText+1)); utf8.RuneCountInString(got) != MaxFindingText || !strings.HasSuffix(got, "a…") {
		t.Errorf("bound of MaxFindingText+1: %d characters", utf8.RuneCountInString(got))
	}
}

// Two subnet-any findings on one connection (its local and its remote
// side) carry their side, so their ids differ: the state keeps both, and
// fixing one side resolves that one alone. Both the compiled policies and
// the interpreter say so.
func TestEngineSubnetAnySides(t *testing.T) {
	ctx := context.Background()
	for name, eng := range map[string]*Engine{"compiled": builtin(t), "interpreter": interpreted(t, builtin(t))} {
		inv := inventory.New()
		inv.Add("cn-test", []*input.Connection{normalizeJSON(t, `{"VpnConnectionId": "vco-1", "LocalSubnet": "0.0.0.0/0", "RemoteSubnet": "0.0.0.0/0"}`)})
		res, err := eng.Check(ctx, inv, Options{})
		if err != nil {
			t.Fatal(err)
		}
		sides, ids := map[string]bool{}, map[string]bool{}
		for _, f := range res.Report.Findings {
			if f.Rule == "subnet-any" {
				sides[f.Side] = true
				ids[report.FindingID(&f)] = true
			}
		}
		if !sides["local"] || !sides["remote"] || len(sides) != 2 || len(ids) != 2 {
			t.Errorf("%s: subnet-any sides %v, %d ids, want local and remote apart", name, sides, len(ids))
		}
	}
	bad := strings.Replace(customRule, `lib.finding(rego.metadata.chain(), {}, "", "the connection has no name")`,
		`object.union(lib.finding(rego.metadata.chain(), {}, "", "the connection has no name"), {"side": "<!here>"})`, 1)
	eng, err := NewEngine(ctx, Policies{Builtin: policies.FS, Custom: fstest.MapFS{"r.rego": {Data: []byte(bad)}}})
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.New()
	inv.Add("cn-test", []*input.Connection{normalizeJSON(t, `{"VpnConnectionId": "vco-1"}`)})
	if _, err = eng.Check(ctx, inv, Options{}); !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), "want local or remote") {
		t.Errorf("a side of free text: err = %v", err)
	}
}
