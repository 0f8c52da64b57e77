package checker

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"
)

// A team rule that never ends (a comprehension over a hundred million
// numbers) is cut off by evaluation.timeout_ms: the connections it held up
// are named in errors, and the run goes on and reports.
func TestRunawayRuleIsCutOffAndReported(t *testing.T) {
	rule := strings.Replace(customRule, "not input.connection.name",
		"count([x | some x in numbers.range(1, 100000000); x > 0]) > 0", 1)
	eng, err := NewEngine(context.Background(), Policies{Custom: fstest.MapFS{
		"vpncheck/rules/runaway/runaway.rego": {Data: []byte(rule)},
		"vpncheck/config/data.json":           {Data: []byte(`{"evaluation": {"timeout_ms": 300}}`)},
	}, Source: "team"})
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.New()
	if err := inv.ReadFile("../testdata/sample.json", "cn-hangzhou"); err != nil {
		t.Fatal(err)
	}
	res, err := eng.Check(context.Background(), inv, Options{Now: fixedNow})
	if err != nil {
		t.Fatalf("a runaway rule stopped the run: %v", err)
	}
	notJudged := 0
	for _, e := range res.Report.Errors {
		if e.Code == report.CodeNotJudged && e.ConnectionID != "" && strings.Contains(e.Message, "evaluation.timeout_ms") {
			notJudged++
		}
	}
	if notJudged != 2 {
		t.Fatalf("%d connections named as not judged; errors %+v", notJudged, res.Report.Errors)
	}
	if !res.Report.Failed() {
		t.Error("a run with unjudged connections does not count as partial for --fail-on")
	}
}
