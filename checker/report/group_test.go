package report

import (
	"slices"
	"testing"
)

// ByConnection is the one "worst first" order: highest severity, then most
// findings at it (and then at the next ones down), then name.
func TestByConnectionWorstFirst(t *testing.T) {
	f := func(conn string, sev Severity) Finding {
		return Finding{Region: "cn-x", ConnectionID: conn, ConnectionName: conn, Severity: sev}
	}
	fs := []Finding{
		f("b-1crit-5low", Critical), f("b-1crit-5low", Low), f("b-1crit-5low", Low), f("b-1crit-5low", Low), f("b-1crit-5low", Low), f("b-1crit-5low", Low),
		f("a-1crit", Critical),
		f("c-2crit", Critical), f("c-2crit", Critical),
		f("d-6high", High), f("d-6high", High), f("d-6high", High), f("d-6high", High), f("d-6high", High), f("d-6high", High),
		f("e-1crit-1low", Critical), f("e-1crit-1low", Low),
	}
	var got []string
	for _, g := range ByConnection(fs) {
		got = append(got, g.Name())
		if !slices.IsSortedFunc(g.Findings, func(a, b Finding) int { return int(b.Severity) - int(a.Severity) }) {
			t.Errorf("%s: findings not worst first", g.Name())
		}
	}
	want := []string{"c-2crit", "b-1crit-5low", "e-1crit-1low", "a-1crit", "d-6high"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

// Connections without an id are never merged into one heading.
func TestByConnectionKeepsConnectionsWithoutIDApart(t *testing.T) {
	gs := ByConnection([]Finding{{ConnectionName: "x", Severity: Low}, {ConnectionName: "y", Severity: Low}})
	if len(gs) != 2 {
		t.Fatalf("%d groups, want 2", len(gs))
	}
}
