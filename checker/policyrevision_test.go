package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/vpncheck/vpncheck/policies"
)

// Every report names the policies that judged it, in the JSON report
// (policy_revision, top level) and the text report's header: the team
// bundle's revision, the built-in set's hash (what `vpncheck version`
// prints), or, for a team directory, a hash of everything that ran.
func TestReportNamesItsPolicies(t *testing.T) {
	mod, err := ast.ParseModuleWithOpts("vpncheck/rules/name_missing/name_missing.rego", customRule, ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	roots := []string{"vpncheck/rules/name_missing", "vpncheck/config"}
	var bun bytes.Buffer
	if err := bundle.NewWriter(&bun).Write(bundle.Bundle{
		Manifest: bundle.Manifest{Revision: "git-3f2a9c1", Roots: &roots},
		Data:     map[string]any{"vpncheck": map[string]any{"config": map[string]any{}}},
		Modules:  []bundle.ModuleFile{{URL: mod.Package.Location.File, Path: mod.Package.Location.File, Raw: []byte(customRule), Parsed: mod}},
	}); err != nil {
		t.Fatal(err)
	}
	dir := fstest.MapFS{"vpncheck/rules/name_missing/name_missing.rego": {Data: []byte(customRule)}}
	dataOnly := fstest.MapFS{"data.json": {Data: []byte(`{"vpncheck": {"config": {"psk": {"min_length": 20}}}}`)}}
	team := regexp.MustCompile(`^built-in and team [0-9a-f]{12}$`)

	got := map[string]string{}
	for _, tc := range []struct {
		name  string
		p     Policies
		match func(string) bool
	}{
		{"built-in", Policies{Builtin: policies.FS}, regexp.MustCompile(`^built-in [0-9a-f]{12}$`).MatchString},
		{"bundle", Policies{Builtin: policies.FS, Bundle: bun.Bytes(), Source: "team.tar.gz"}, func(r string) bool { return r == "git-3f2a9c1" }},
		{"directory", Policies{Builtin: policies.FS, Custom: dir, Source: "team"}, team.MatchString},
		{"data only", Policies{Builtin: policies.FS, Custom: dataOnly, Source: "team"}, team.MatchString},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, err := NewEngine(context.Background(), tc.p)
			if err != nil {
				t.Fatal(err)
			}
			rep := checkFiles(t, eng, Options{}, "cn-hangzhou", "../testdata/sample.json")
			var js, text bytes.Buffer
			if err := mustFormat(t, "json").Report(&js, rep); err != nil {
				t.Fatal(err)
			}
			if err := mustFormat(t, "text").Report(&text, rep); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				PolicyRevision *string `json:"policy_revision"`
			}
			if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.PolicyRevision == nil || !tc.match(*doc.PolicyRevision) {
				t.Fatalf("policy_revision = %v in\n%.300s", doc.PolicyRevision, js.String())
			}
			rev := *doc.PolicyRevision
			if header, _, _ := strings.Cut(text.String(), "\n\n"); !strings.Contains(header+"\n", "\n  policies: "+rev+"\n") {
				t.Errorf("the text report's header does not name %q:\n%s", rev, header)
			}
			got[tc.name] = rev
		})
	}
	if got["directory"] == got["data only"] || got["directory"] == got["built-in"] {
		t.Errorf("different policies, one name: %v", got)
	}
}
