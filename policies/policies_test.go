package policies_test

import (
	"context"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/vpncheck/vpncheck/policies"
)

// catalogue is the rule catalogue of the interface contract
// (../shared/INTERFACE.md, "Rule catalogue"): the built-in rules must be
// exactly these.
var catalogue = []string{
	"bgp-down",
	"dpd-disabled",
	"health-check-disabled",
	"health-check-failed",
	"ike-aggressive-mode",
	"ike-v1",
	"ike-weak-dh-group",
	"ike-weak-encryption",
	"ike-weak-integrity",
	"ipsec-pfs-disabled",
	"ipsec-weak-dh-group",
	"ipsec-weak-encryption",
	"ipsec-weak-integrity",
	"psk-exposed",
	"psk-reused",
	"psk-weak",
	"subnet-any",
	"tunnel-not-established",
	"unknown-algorithm",
}

var severities = []string{"info", "low", "medium", "high", "critical"}

var rulesPrefix = ast.MustParseRef("data.vpncheck.rules")

// tree is one loaded policy tree.
type tree struct {
	modules map[string]*ast.Module
	data    map[string]any
}

func load(t *testing.T, fsys fs.FS, label string) tree {
	t.Helper()
	res, err := loader.NewFileLoader().
		WithFS(fsys).
		WithProcessAnnotation(true).
		WithRegoVersion(ast.RegoV1).
		All([]string{"."})
	if err != nil {
		t.Fatalf("load %s policies: %v", label, err)
	}
	tr := tree{modules: map[string]*ast.Module{}, data: res.Documents}
	for name, m := range res.Modules {
		tr.modules[label+":"+path.Clean(name)] = m.Parsed
	}
	return tr
}

// compile compiles modules with the capabilities the engine grants: no
// network and no environment.
func compile(t *testing.T, modules map[string]*ast.Module) *ast.Compiler {
	t.Helper()
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool {
		return b.Name == "http.send" || b.Name == "net.lookup_ip_addr" || b.Name == "opa.runtime"
	})
	c := ast.NewCompiler().WithCapabilities(caps).WithDefaultRegoVersion(ast.RegoV1).WithEnablePrintStatements(true)
	if c.Compile(modules); c.Failed() {
		t.Fatalf("compile: %v", c.Errors)
	}
	return c
}

// runRegoTests runs the Rego tests of modules (those matching filter, a
// regular expression; "" for all) as subtests named after each test rule.
func runRegoTests(t *testing.T, modules map[string]*ast.Module, data map[string]any, filter string) {
	t.Helper()
	ctx := context.Background()
	runner := tester.NewRunner().
		SetCompiler(compile(t, modules)).
		SetModules(modules).
		SetStore(inmem.NewFromObject(data)).
		RaiseBuiltinErrors(true).
		CapturePrintOutput(true)
	if filter != "" {
		runner = runner.Filter(filter)
	}
	ch, err := runner.RunTests(ctx, nil)
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
	tr := load(t, policies.FS, "builtin")
	runRegoTests(t, tr.modules, tr.data, "")
}

// TestExampleRule runs the worked example of policies/README.md the way
// `--policies examples/custom_rule` loads it: over the built-in tree, with
// its data merged over the built-in data.
func TestExampleRule(t *testing.T) {
	builtin := load(t, policies.FS, "builtin")
	custom := load(t, os.DirFS("examples/custom_rule"), "custom")
	modules := builtin.modules
	for k, m := range custom.modules {
		modules[k] = m
	}
	data := builtin.data
	merge(data, custom.data)
	runRegoTests(t, modules, data, `missing_required_tag_test`)
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// TestMetadata checks that every rule package carries complete METADATA and
// that the ids are exactly the catalogue's.
func TestMetadata(t *testing.T) {
	tr := load(t, policies.FS, "builtin")
	c := compile(t, tr.modules)

	byPkg := map[string]*ast.Annotations{}
	for _, ref := range c.GetAnnotationSet().Flatten() {
		a := ref.Annotations
		if a.Scope != "package" || !ref.Path.HasPrefix(rulesPrefix) {
			continue
		}
		byPkg[ref.Path.String()] = a
	}

	var ids []string
	for name, m := range tr.modules {
		if strings.HasSuffix(name, "_test.rego") || !m.Package.Path.HasPrefix(rulesPrefix) {
			continue
		}
		pkg := m.Package.Path.String()
		rel := strings.TrimPrefix(name, "builtin:")
		t.Run(rel, func(t *testing.T) {
			// vpncheck/rules/<name>/<name>.rego holds package vpncheck.rules.<name>.
			dir, file := path.Split(rel)
			base := strings.TrimSuffix(file, ".rego")
			if want := "vpncheck/rules/" + base + "/"; dir != want || pkg != "data.vpncheck.rules."+base {
				t.Errorf("package %s in %s: want vpncheck/rules/<name>/<name>.rego with package vpncheck.rules.<name>", pkg, rel)
			}
			if _, ok := tr.modules["builtin:"+dir+base+"_test.rego"]; !ok {
				t.Errorf("no %s%s_test.rego beside the rule", dir, base)
			}

			a := byPkg[pkg]
			if a == nil {
				t.Fatalf("%s has no package-scope METADATA", pkg)
			}
			id, _ := a.Custom["id"].(string)
			if id != strings.ReplaceAll(base, "_", "-") {
				t.Errorf("custom.id %q, want %q (the package name with dashes)", id, strings.ReplaceAll(base, "_", "-"))
			}
			ids = append(ids, id)
			if strings.TrimSpace(a.Title) == "" {
				t.Error("no title")
			}
			if strings.TrimSpace(a.Description) == "" {
				t.Error("no description")
			}
			if sev, _ := a.Custom["severity"].(string); !slices.Contains(severities, sev) {
				t.Errorf("custom.severity %q, want one of %v", sev, severities)
			}
			if rem, _ := a.Custom["remediation"].(string); strings.TrimSpace(rem) == "" {
				t.Error("no custom.remediation")
			}
			refs := 0
			for _, rr := range a.RelatedResources {
				if rr.Ref.String() != "" {
					refs++
				}
			}
			if refs == 0 {
				t.Error("no related_resources ref")
			}
		})
	}

	sort.Strings(ids)
	if !slices.Equal(ids, catalogue) {
		t.Errorf("rule ids differ from the catalogue:\n got %v\nwant %v", ids, catalogue)
	}
}
