package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/output"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/notify/slack"
)

// The text report and the Slack message order connections the same way:
// both take report.ByConnection's order (worst first).
func TestTextAndSlackOrderConnectionsAlike(t *testing.T) {
	f := func(conn string, sev report.Severity, n int) []report.Finding {
		out := make([]report.Finding, n)
		for i := range out {
			// A value per connection: each problem its own, told per
			// connection (a problem on many connections is told once).
			out[i] = report.Finding{Rule: "r" + string(rune('a'+i)), Value: conn, Title: "t", Message: "m", Remediation: "fix",
				Region: "cn-hangzhou", ConnectionID: "vco-" + conn, ConnectionName: conn, Severity: sev}
		}
		return out
	}
	rep := report.New()
	rep.Summary.RegionsScan = []string{"cn-hangzhou"}
	for _, fs := range [][]report.Finding{
		f("onecritfivelow", report.Critical, 1), f("onecritfivelow", report.Low, 5),
		f("onecrit", report.Critical, 1), f("twocrit", report.Critical, 2), f("sixhigh", report.High, 6),
	} {
		rep.Findings = append(rep.Findings, fs...)
	}
	rep.Finish()
	rep.MarkAllNew(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	var want []string
	for _, g := range report.ByConnection(rep.Findings) {
		want = append(want, g.ConnectionName)
	}

	firstSeen := func(text string) []string {
		names := slices.Clone(want)
		slices.SortFunc(names, func(a, b string) int { return strings.Index(text, a+" ") - strings.Index(text, b+" ") })
		return names
	}
	var text bytes.Buffer
	w, _ := output.Get("text")
	if err := w.Report(&text, rep); err != nil {
		t.Fatal(err)
	}
	if got := firstSeen(text.String()); !slices.Equal(got, want) {
		t.Errorf("text order %v, want %v", got, want)
	}

	msgs := slack.Render(rep, slack.Meta{}, slack.Channel).Messages
	raw, err := json.Marshal(msgs)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(raw), "`", " ") // names are code spans in Slack
	if got := firstSeen(s); !slices.Equal(got, want) {
		t.Errorf("Slack order %v, want %v", got, want)
	}
}
