package slack

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/notify/slack/slackfake"
	"github.com/vpncheck/vpncheck/policies"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleReport runs the real pipeline on the repository's sample inventory,
// with a fixed clock, so the golden files follow the rules' real wording.
func sampleReport(t *testing.T) *checker.Result {
	t.Helper()
	ctx := context.Background()
	eng, err := checker.NewEngine(ctx, checker.Policies{Builtin: policies.FS})
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.New()
	if err := inv.ReadFile("../../testdata/sample.json", "cn-hangzhou"); err != nil {
		t.Fatal(err)
	}
	res, err := eng.Check(ctx, inv, checker.Options{Now: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// sampleFixture is the JSON report of the sample, captured from the real
// pipeline with
//
//	go run ./function check --inventory testdata/sample.json --region cn-hangzhou --format json >notify/testdata/sample_report.json
//
// The goldens render it, so a change to the rules does not move them; a
// change to the message does, and is a reviewed diff (go test ./notify -update).
func sampleFixture(t *testing.T) *report.Report {
	t.Helper()
	raw, err := os.ReadFile("testdata/sample_report.json")
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

var sampleMeta = Meta{RunKey: "vpncheck-hourly@2026-05-01T10:00:00Z", AccountID: "1234567890123456"}

// payload is what a webhook would carry for each message.
func payload(t *testing.T, msgs []Message) []byte {
	t.Helper()
	type wire struct {
		Text   string `json:"text"`
		Blocks any    `json:"blocks"`
	}
	out := make([]wire, len(msgs))
	for i, m := range msgs {
		out[i] = wire{m.Text, m.Blocks}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./notify -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the rendering; review the diff and run go test ./notify -update\ngot:\n%s", path, got)
	}
}

// assertLimits checks every message as the fake Slack would, plus this
// package's own budget.
func assertLimits(t *testing.T, msgs []Message) {
	t.Helper()
	for i, m := range msgs {
		raw, err := json.Marshal(m.Blocks)
		if err != nil {
			t.Fatal(err)
		}
		if code, why := slackfake.Explain(m.Text, raw); code != "" {
			t.Errorf("message %d: Slack would answer %s: %s", i, code, why)
		}
		if len(m.Blocks) > MaxBlocks {
			t.Errorf("message %d: %d blocks", i, len(m.Blocks))
		}
		if n := blockText(t, raw); n > messageBudget {
			t.Errorf("message %d: %d characters of block text, over the budget %d", i, n, messageBudget)
		}
		if m.Text == "" {
			t.Errorf("message %d: no fallback text", i)
		}
	}
}

func blockText(t *testing.T, raw []byte) int {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "text" {
					n += utf8.RuneCountInString(s)
				} else {
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return n
}

func TestRenderSampleGolden(t *testing.T) {
	rep := sampleFixture(t)
	for _, tc := range []struct {
		name  string
		style Style
	}{{"sample_channel.json", Channel}, {"sample_thread.json", Thread}} {
		t.Run(tc.name, func(t *testing.T) {
			msgs := Render(rep, sampleMeta, tc.style).Messages
			assertLimits(t, msgs)
			golden(t, tc.name, payload(t, msgs))
		})
	}
}

func TestRenderSampleContent(t *testing.T) {
	rep := sampleReport(t).Report
	msgs := Render(rep, sampleMeta, Channel).Messages
	if len(msgs) != 1 {
		t.Fatalf("the sample fits one message; got %d", len(msgs))
	}
	all := string(payload(t, msgs))
	var counts []string
	for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
		if n := rep.Summary.BySeverity[sev]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	for _, want := range []string{
		strings.Join(counts, " · "), // header counts
		"1234567890123456",          // account
		"cn-hangzhou",
		"VPN1-CGW22", "vco-gw8tylx7hvwhl7tu8****", "vpn-gw8bvv722zwjht7ia****",
		"VPN2-CGW1", "vco-gw837v1ybfh74b6dy****",
		"Weak pre-shared key", "_Fix:_ ",
		ConsoleURL("cn-hangzhou"),
		sampleMeta.RunKey,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the message lacks %q", want)
		}
	}
	thread := Render(rep, sampleMeta, Thread).Messages
	if len(thread) != 2 {
		t.Fatalf("thread style: want the summary and one reply, got %d messages", len(thread))
	}
	if s := string(payload(t, thread[:1])); strings.Contains(s, "_Fix:_") || !strings.Contains(s, "VPN2-CGW1") {
		t.Errorf("the summary names connections and leaves the details to the thread:\n%s", s)
	}
}

func TestRenderFailureAndAllClearGolden(t *testing.T) {
	fail := renderFailure("load policies: rego_parse_error: policies/custom/x.rego:3: unexpected eof\n  (more)", sampleMeta)
	assertLimits(t, fail)
	golden(t, "failure.json", payload(t, fail))

	rep := &report.Report{Summary: report.Summary{Connections: 12, Tunnels: 20, Suppressed: 2,
		RegionsScan: []string{"cn-hangzhou", "cn-shanghai"}}}
	if got := Render(rep, sampleMeta, Channel); len(got.Messages) != 0 || got.File != nil {
		t.Errorf("a clean report renders nothing by default, got %d messages", len(got.Messages))
	}
	ok := renderAllClear(rep, sampleMeta)
	assertLimits(t, ok)
	golden(t, "all_clear.json", payload(t, ok))
}

func TestRenderErrorsOnly(t *testing.T) {
	rep := &report.Report{
		Summary: report.Summary{RegionsFailed: []string{"cn-beijing", "cn-shanghai"}},
		Errors: []report.ErrorEntry{
			{Region: "cn-beijing", Code: "Forbidden.RAM", Message: "User not authorized to operate on the specified resource.", RequestID: "REQ-1"},
			{Region: "cn-shanghai", Code: "Throttling.User", Message: "Request was denied due to user flow control."},
		},
	}
	msgs := Render(rep, Meta{RunKey: "k"}, Channel).Messages
	assertLimits(t, msgs)
	golden(t, "errors_only.json", payload(t, msgs))
	s := string(payload(t, msgs))
	for _, want := range []string{"no region could be scanned", "Forbidden.RAM", "cn-beijing", "REQ-1", "Throttling.User"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q", want)
		}
	}
}

// bigReport has n findings over many connections: a tenth high or
// critical, the rest medium and lower, with long texts.
func bigReport(n int) *report.Report {
	rep := &report.Report{Summary: report.Summary{RegionsScan: []string{"cn-hangzhou", "cn-shanghai"}}}
	long := strings.Repeat("The IKE policy on this tunnel accepts a weak proposal & <peer> may pick it. ", 8)
	for i := range n {
		sev := report.Low
		switch {
		case i%50 == 0:
			sev = report.Critical
		case i%10 == 0:
			sev = report.High
		case i%3 == 0:
			sev = report.Medium
		}
		region := "cn-hangzhou"
		if i%2 == 1 {
			region = "cn-shanghai"
		}
		rep.Findings = append(rep.Findings, report.Finding{
			// Each problem its own (a value per finding): a report that grouping
			// by problem cannot shorten, to hold the budget to account.
			Rule: fmt.Sprintf("rule-%d", i%7), Value: fmt.Sprintf("v%d", i), Severity: sev, Title: "Weak IKE integrity algorithm",
			Message: long, Remediation: long, Region: region,
			ConnectionID:   fmt.Sprintf("vco-%06d", i/2),
			ConnectionName: fmt.Sprintf("branch-office-%d-連接", i/2),
			VPNGatewayID:   fmt.Sprintf("vpn-%04d", i/20),
			TunnelID:       fmt.Sprintf("tun-%06d", i),
		})
	}
	rep.Summary.Findings = n
	return rep
}

func TestRenderLargeReportWithinLimits(t *testing.T) {
	rep := bigReport(500)
	for _, style := range []Style{Channel, Thread} {
		msgs := Render(rep, sampleMeta, style).Messages
		assertLimits(t, msgs)
		all := string(payload(t, msgs))
		if len(msgs) > DefaultMaxMessages {
			t.Errorf("style %d: %d messages, over the budget of %d", style, len(msgs), DefaultMaxMessages)
		}
		// The worst connections are named; what did not fit is counted.
		for _, f := range rep.Findings[:10] {
			if f.Severity >= report.High && !strings.Contains(all, f.ConnectionID) {
				t.Errorf("style %d: %s has a %s finding and is not named", style, f.ConnectionID, f.Severity)
			}
		}
		if !strings.Contains(all, "Not everything fits in 5 messages.") || !strings.Contains(all, "vpncheck check --format json") {
			t.Errorf("style %d: the summary does not say what was left out and where the rest is", style)
		}
		t.Logf("style %d: %d messages", style, len(msgs))
	}
}

// TestRenderBudgetBoundsTheOverview: 10,000 connections with a high
// finding once posted 150 webhook messages (915 KB) in one run. Now the
// budget holds: a webhook gets 5 messages that say how to get the rest; a
// bot gets 4 and the complete report as a file naming every connection.
func TestRenderBudgetBoundsTheOverview(t *testing.T) {
	rep := &report.Report{Summary: report.Summary{RegionsScan: []string{"cn-hangzhou"}}}
	for i := range 10000 {
		rep.Findings = append(rep.Findings, report.Finding{Rule: "psk-weak", Severity: report.High, Title: "Weak pre-shared key",
			Message: "pre-shared key is weak", Region: "cn-hangzhou",
			ConnectionID: fmt.Sprintf("vco-%05d", i), ConnectionName: strings.Repeat("n", 100)})
	}
	web := Render(rep, Meta{}, Channel)
	assertLimits(t, web.Messages)
	size := len(payload(t, web.Messages))
	t.Logf("webhook: %d messages, %d bytes", len(web.Messages), size)
	if len(web.Messages) != DefaultMaxMessages || web.File != nil || size > 200<<10 {
		t.Errorf("webhook: %d messages, %d bytes, file %v", len(web.Messages), size, web.File != nil)
	}
	if s := string(payload(t, web.Messages[:1])); !strings.Contains(s, "connections in the list of connections") || !strings.Contains(s, "vpncheck check --format json") {
		t.Errorf("webhook: the summary does not say what it left out and how to get it")
	}
	bot := Render(rep, Meta{Upload: true, MaxMessages: 5}, Thread)
	assertLimits(t, bot.Messages)
	if len(bot.Messages) != 4 || bot.File == nil {
		t.Fatalf("bot: %d messages, file %v; want 4 and the file", len(bot.Messages), bot.File != nil)
	}
	if s := string(payload(t, bot.Messages[:1])); !strings.Contains(s, "attached in this thread as a file") {
		t.Errorf("bot: the summary does not point to the file")
	}
	var full report.Report
	if err := json.Unmarshal(bot.File.Content, &full); err != nil || len(full.Findings) != 10000 {
		t.Fatalf("the file holds %d findings (%v)", len(full.Findings), err)
	}
	t.Logf("bot: %d messages and a file of %d bytes", len(bot.Messages), len(bot.File.Content))
}

func TestRenderEscapesAndTruncates(t *testing.T) {
	huge := strings.Repeat("界<&>", 5000)
	rep := &report.Report{
		Summary: report.Summary{RegionsScan: []string{"cn-hangzhou"}},
		Findings: []report.Finding{{
			Rule: "x", Severity: report.Critical, Title: huge, Message: huge, Remediation: huge,
			Region: "cn-hangzhou", ConnectionID: "vco-1`x", ConnectionName: "<!channel> " + huge, TunnelID: huge,
		}},
	}
	msgs := Render(rep, Meta{RunKey: huge}, Channel).Messages
	assertLimits(t, msgs)
	for _, m := range msgs {
		raw, _ := json.Marshal(m.Blocks)
		var blocks []map[string]any
		_ = json.Unmarshal(raw, &blocks)
		for _, b := range blocks {
			s := fmt.Sprint(b)
			if strings.Contains(s, "<!channel>") {
				t.Errorf("a name reached Slack unescaped: %.80s", s)
			}
			if !utf8.ValidString(s) {
				t.Errorf("a cut split a character")
			}
		}
	}
}

func TestInert(t *testing.T) {
	for _, tc := range []struct {
		in     string
		max    int
		inCode bool
		want   string
	}{
		{"a<b", 10, false, "a&lt;b"},
		{"abcdef", 4, false, "abc…"},
		{"ab&cd", 4, false, "ab…"},
		{"ab&cd", 8, false, "ab&amp;…"},
		{"界界界", 3, false, "界界界"},
		{"界界界界", 3, false, "界界…"},
		{"  a \n\n b\t", 10, false, "a b"},
		{"a\u202eb\u200bc\u2066d\x1b[2Je\u0085f\U000E0041", 20, false, "abcd[2Je f"},
		{"a`b", 10, true, "a'b"},
		{"a`b", 10, false, "a`b"},
		{"\xffx", 5, false, "\uFFFDx"},
		{"<!channel> cn-x", 40, false, "&lt;!channel&gt; cn-x"},
		{"abc", 0, false, ""},
		{"ab cd", 3, false, "ab…"},
	} {
		if got := inert(tc.in, tc.max, tc.inCode); got != tc.want {
			t.Errorf("inert(%q, %d, %v) = %q, want %q", tc.in, tc.max, tc.inCode, got, tc.want)
		}
	}
	if got := truncMrkdwn("ab <https://x|y> &amp; z", 8); got != "ab …" {
		t.Errorf("truncMrkdwn cut a link: %q", got)
	}
}
