package deploy_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/deploy"
)

var update = flag.Bool("update", false, "rewrite testdata/policies.golden")

// TestPolicyDocuments: every document setup writes, for a sample account
// with every option on, is the golden file (reviewable JSON, no
// placeholder); go test -update rewrites it.
func TestPolicyDocuments(t *testing.T) {
	c := deploy.Config{AccountID: "1234567890123456", Region: "cn-hangzhou", StateBucket: "vpncheck-state-1234567890123456",
		BundleKey: "policies/team.tar.gz", SlackSecret: "vpncheck/slack", PepperSecret: "vpncheck/pepper", AllMembers: true,
		ExternalID: "ext-42"}.WithDefaults()
	var b strings.Builder
	for _, d := range []struct{ name, doc string }{
		{"trust of role " + c.Role, deploy.FunctionTrust()},
		{c.ReaderPolicy + " (the function's role, and " + c.ReaderRole + " in every member)", deploy.ReaderDocument()},
		{c.LogsPolicy, c.LogsDocument()},
		{c.StatePolicy, c.StateDocument()},
		{c.SecretsPolicy, c.SecretsDocument()},
		{c.CoordinatorPolicy, c.CoordinatorDocument()},
		{deploy.DefaultConfigPolicy + " (with --config-rule)", deploy.ConfigDocument()},
		{"trust of role " + c.ReaderRole + " in every member", c.ReaderTrust()},
	} {
		b.WriteString("# " + d.name + "\n" + d.doc + "\n\n")
		if strings.ContainsAny(d.doc, "<>") {
			t.Errorf("%s holds a placeholder", d.name)
		}
	}
	path := filepath.Join("testdata", "policies.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != b.String() {
		t.Errorf("policy documents differ from %s (go test -update if intended):\n%s", path, b.String())
	}
}
