package checker

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/bench/synth"
	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/keys"
	"github.com/vpncheck/vpncheck/checker/report"
)

var diffConnections = flag.Int("diff.connections", 2000,
	"varied generated connections the compiled/interpreted differential test judges (go test ./checker -run Differential -diff.connections 50000)")

// interpreted is eng with the compiled policies switched off: OPA's
// interpreter on the same policies (a team's rules too) and data, the
// reference.
func interpreted(t testing.TB, eng *Engine) *Engine {
	t.Helper()
	if eng.compiled == nil {
		t.Fatal("the built-in engine does not run compiled")
	}
	ref := *eng
	ref.compiled, ref.team = nil, nil // everything in OPA, team rules included
	return &ref
}

// checkBoth judges the inventory files with both engines and requires the
// same report: findings (rule, severity, title, message, remediation,
// place), suppressed and hidden findings, and errors.
func checkBoth(t *testing.T, eng, ref *Engine, opt Options, paths ...string) int {
	t.Helper()
	run := func(e *Engine) *Result {
		inv := inventory.New()
		for _, p := range paths {
			if err := inv.ReadFile(p, ""); err != nil {
				t.Fatal(err)
			}
		}
		res, err := e.Check(context.Background(), inv, opt)
		if err != nil {
			t.Fatalf("%v: %v", paths, err)
		}
		return res
	}
	got, want := run(eng), run(ref)
	if len(got.Report.Findings) != len(want.Report.Findings) {
		t.Fatalf("%v: %d findings compiled, %d interpreted", paths, len(got.Report.Findings), len(want.Report.Findings))
	}
	for i := range want.Report.Findings {
		if !reflect.DeepEqual(got.Report.Findings[i], want.Report.Findings[i]) {
			t.Fatalf("%v: finding %d:\ncompiled    %+v\ninterpreted %+v", paths, i, got.Report.Findings[i], want.Report.Findings[i])
		}
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"suppressed", got.Suppressed, want.Suppressed},
		{"hidden", got.Hidden, want.Hidden},
		{"errors", got.Report.Errors, want.Report.Errors},
		{"summary", got.Report.Summary, want.Report.Summary},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Fatalf("%v: %s differ:\ncompiled    %+v\ninterpreted %+v", paths, c.name, c.got, c.want)
		}
	}
	return len(want.Report.Findings)
}

// The compiled built-in policies judge every connection of the test
// inventories exactly as OPA's interpreter does.
func TestDifferentialTestInventories(t *testing.T) {
	eng := builtin(t)
	ref := interpreted(t, eng)
	opt := Options{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), MinSeverity: report.Info}
	paths, err := filepath.Glob("../testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	more, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	compared, findings := 0, 0
	for _, p := range append(paths, more...) {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(raw, []byte(`"VpnConnections"`)) {
			continue // not an inventory
		}
		n := checkBoth(t, eng, ref, opt, p)
		t.Logf("%s: %d findings alike", p, n)
		compared++
		findings += n
	}
	// A test that compared nothing would pass: the sample (15 findings)
	// and the canaries (7) at least.
	if compared < 2 || findings < 22 {
		t.Fatalf("compared %d inventories and %d findings; the test inventories were not found", compared, findings)
	}
}

// A large generated inventory of odd connections (fields left out, wrong
// types, odd case, unknown values, weak, banned, shared and exposed keys)
// is judged alike both ways. -diff.connections sets its size.
func TestDifferentialGeneratedInventory(t *testing.T) {
	eng := builtin(t)
	ref := interpreted(t, eng)
	dir := t.TempDir()
	total, findings := 0, 0
	for seed := uint64(1); total < *diffConnections; seed++ {
		n := min(1000, *diffConnections-total)
		path := filepath.Join(dir, "inv.json")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		err = synth.Write(f, synth.Options{Connections: n, DistinctKeys: 40, DualEvery: 2, Seed: seed, Vary: true,
			Region: []string{"cn-hangzhou", "", "cn-shanghai"}[seed%3], StartIndex: total})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		min := report.Info
		if seed == 2 {
			min = report.High
		}
		findings += checkBoth(t, eng, ref, Options{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), MinSeverity: min, AccountID: "1234"}, path)
		total += n
	}
	t.Logf("%d varied connections: %d findings alike", total, findings)
	if findings < total {
		t.Fatalf("only %d findings over %d connections: the inventory judges too little", findings, total)
	}
}

// BenchmarkEvaluateBothWays is one connection's evaluation (bench_test.go's
// connection, a mix of findings) compiled and interpreted, side by side.
func BenchmarkEvaluateBothWays(b *testing.B) {
	eng := builtin(b)
	var conns []*apiwire.Connection
	apiwire.Decode(bytes.NewReader([]byte(`{"VpnConnections": {"VpnConnection": [`+benchConn+`]}}`)), func(raw *apiwire.Connection, _ []string) error {
		conns = append(conns, raw)
		return nil
	})
	c := input.Normalize(conns[0], "cn-bench")
	keys.Analyze(context.Background(), []*input.Connection{c}, keys.Policy{}, nil)
	for _, tc := range []struct {
		name string
		e    *Engine
	}{{"compiled", eng}, {"interpreted", interpreted(b, eng)}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.e.evaluate(context.Background(), c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
