package gen

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vpncheck/vpncheck/policies"
)

// A plan that needs what the runtime does not implement is refused when
// the code is generated, naming what is missing, never at run time.
func TestRefusesWhatTheRuntimeLacks(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"built-in", `deny contains {"rule": "x"} if regex.match("^a", input.connection.name)`, "built-in function regex.match"},
		{"with", `deny contains {"rule": "x"} if { _helper with input as {} }
_helper if input.connection`, "statement *ir.WithStmt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mod := `# METADATA
# title: X
# description: X.
# custom:
#   id: x-rule
#   severity: low
#   remediation: X.
package vpncheck.rules.x

import rego.v1

` + tc.body + "\n"
			set, err := policies.Load(context.Background(), policies.Options{
				Custom: fstest.MapFS{"vpncheck/rules/x/x.rego": {Data: []byte(mod)}}, Source: "test"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = generate(context.Background(), set, "compiled")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}
