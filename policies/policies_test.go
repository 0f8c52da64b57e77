package policies_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/policies"
)

var update = flag.Bool("update", false, "rewrite testdata/catalogue.golden from the rules' METADATA")

// load is policies.Load for tests: the same loader the engine uses.
func load(t *testing.T, o policies.Options) *policies.Set {
	t.Helper()
	set, err := policies.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// runRegoTests runs the Rego tests of a set loaded with Tests (those
// matching filter, a regular expression; "" for all) as subtests named after
// each test rule, with the compiler and data the engine would use.
func runRegoTests(t *testing.T, set *policies.Set, filter string) {
	t.Helper()
	runner := tester.NewRunner().
		SetCompiler(set.Compiler).
		SetModules(set.Modules).
		SetStore(set.NewStore()).
		RaiseBuiltinErrors(true).
		CapturePrintOutput(true)
	if filter != "" {
		runner = runner.Filter(filter)
	}
	ch, err := runner.RunTests(context.Background(), nil)
	if err != nil {
		t.Fatalf("run rego tests: %v", err)
	}
	n := 0
	for r := range ch {
		n++
		t.Run(strings.TrimPrefix(r.Package, "data.")+"."+r.Name, func(t *testing.T) {
			switch {
			case r.Error != nil:
				t.Errorf("%s: error: %v", r.Location, r.Error)
			case r.Fail:
				t.Errorf("%s: failed%s", r.Location, failedAt(r))
			case r.Skip:
				t.Skip("skipped (todo_ test)")
			}
			if t.Failed() && len(r.Output) > 0 {
				t.Logf("print output:\n%s", r.Output)
			}
		})
	}
	if n == 0 {
		t.Fatal("no Rego tests found")
	}
}

func failedAt(r *tester.Result) string {
	if r.FailedAt == nil {
		return ""
	}
	return " at " + r.FailedAt.String()
}

// TestRego runs every Rego test of the embedded policies, with their data.
func TestRego(t *testing.T) {
	runRegoTests(t, load(t, policies.Options{Tests: true}), "")
}

// TestOpaTestDirectory runs the Rego tests the way `opa test policies`
// loads them (every .rego and data file under the directory, nothing
// filtered): the first command a security team types must be green, so no
// tree under policies/ may add rules the built-in tests see (team examples
// live in examples/team-policies).
func TestOpaTestDirectory(t *testing.T) {
	modules, store, err := tester.LoadWithParserOptions([]string{"."}, nil, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
	if err != nil {
		t.Fatalf("load policies/ as opa test does: %v", err)
	}
	ch, err := tester.NewRunner().SetStore(store).SetModules(modules).RaiseBuiltinErrors(true).RunTests(context.Background(), nil)
	if err != nil {
		t.Fatalf("run rego tests: %v", err)
	}
	n := 0
	for r := range ch {
		n++
		switch {
		case r.Error != nil:
			t.Errorf("%s: %s.%s: error under opa test policies: %v", r.Location, r.Package, r.Name, r.Error)
		case r.Fail:
			t.Errorf("%s: %s.%s fails under opa test policies%s", r.Location, r.Package, r.Name, failedAt(r))
		}
	}
	if n == 0 {
		t.Fatal("no Rego tests found")
	}
}

// TestExampleRule runs the worked example of policies/README.md the way
// `--policies examples/custom_rule` loads it: over the built-in tree, with
// its data merged over the built-in data.
func TestExampleRule(t *testing.T) {
	set := load(t, policies.Options{Custom: os.DirFS("../examples/team-policies/custom_rule"), Source: "examples/custom_rule", Tests: true})
	runRegoTests(t, set, `missing_required_tag_test`)
}

// TestCatalogue compares the built-in rules' METADATA with
// testdata/catalogue.golden (id, default severity, title), the one list of
// the rule ids; `go test ./policies/ -run Catalogue -update` rewrites it.
func TestCatalogue(t *testing.T) {
	set := load(t, policies.Options{})
	var b bytes.Buffer
	for _, r := range set.Rules {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", r.ID, r.Severity, r.Title)
	}
	golden := filepath.Join("testdata", "catalogue.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("the catalogue differs from %s (rerun with -update if the change is meant):\n got:\n%s\nwant:\n%s", golden, got, want)
	}
}

// TestMetadata checks the built-in rules' conventions beyond what Load
// requires of every rule: layout, a test beside each rule, an id that is
// the package name, a description and a reference.
func TestMetadata(t *testing.T) {
	set := load(t, policies.Options{Tests: true})
	rules := map[string]policies.Rule{}
	for _, r := range set.Rules {
		rules[r.Package] = r
	}
	rulesPrefix := ast.MustParseRef("data.vpncheck.rules")
	seen := 0
	for name, m := range set.Modules {
		rel, builtin := strings.CutPrefix(name, "builtin:")
		if !builtin || strings.HasSuffix(rel, "_test.rego") || !m.Package.Path.HasPrefix(rulesPrefix) {
			continue
		}
		seen++
		pkg := m.Package.Path.String()
		t.Run(rel, func(t *testing.T) {
			// vpncheck/rules/<name>/<name>.rego holds package vpncheck.rules.<name>.
			dir, file := path.Split(rel)
			base := strings.TrimSuffix(file, ".rego")
			if want := "vpncheck/rules/" + base + "/"; dir != want || pkg != "data.vpncheck.rules."+base {
				t.Errorf("package %s in %s: want vpncheck/rules/<name>/<name>.rego with package vpncheck.rules.<name>", pkg, rel)
			}
			if _, ok := set.Modules["builtin:"+dir+base+"_test.rego"]; !ok {
				t.Errorf("no %s%s_test.rego beside the rule", dir, base)
			}
			r, ok := rules[pkg]
			if !ok {
				t.Fatalf("%s is not in the catalogue", pkg)
			}
			if want := strings.ReplaceAll(base, "_", "-"); r.ID != want {
				t.Errorf("custom.id %q, want %q (the package name with dashes)", r.ID, want)
			}
			if strings.TrimSpace(r.Description) == "" {
				t.Error("no description")
			}
			if len(r.References) == 0 {
				t.Error("no related_resources ref")
			}
		})
	}
	if seen != len(set.Rules) {
		t.Errorf("%d rule files, %d catalogue entries", seen, len(set.Rules))
	}
}

// TestSchemaSeverities keeps the schema's severity names those of the
// report model.
func TestSchemaSeverities(t *testing.T) {
	var doc struct {
		Defs struct {
			Severity struct {
				Enum []string `json:"enum"`
			} `json:"severity"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(policies.Schema, &doc); err != nil {
		t.Fatal(err)
	}
	var want []string
	for s := report.Info; s <= report.Critical; s++ {
		want = append(want, s.String())
	}
	if !slices.Equal(doc.Defs.Severity.Enum, want) {
		t.Errorf("schema severities %v, report's %v", doc.Defs.Severity.Enum, want)
	}
}
