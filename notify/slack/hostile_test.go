package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/output"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/notify"
	"github.com/vpncheck/vpncheck/notify/slack/slackfake"
	"github.com/vpncheck/vpncheck/policies"
)

// hostilePayloads are what an attacker who may edit a VPN connection
// plants in its name, tags and ids (testdata/hostile.json), plus bytes JSON
// cannot carry.
func hostilePayloads(t testing.TB) []string {
	t.Helper()
	raw, err := os.ReadFile("testdata/hostile.json")
	if err != nil {
		t.Fatal(err)
	}
	var ps []string
	if err := json.Unmarshal(raw, &ps); err != nil {
		t.Fatal(err)
	}
	return append(ps, "\x9b2J lone CSI byte", "\xff\xfe invalid")
}

// ourLink is the only kind of link the renderer makes.
var ourLink = regexp.MustCompile(`^<https://vpc\.console\.aliyun\.com/vpn/[a-z]{2}(-[a-z0-9]+){1,4}/vpn-connections\|[^<>|&]+>`)

// inertProblem says what in a mrkdwn text could act on its reader: a < that
// does not open one of our links, a stray >, an & that is no entity, or a
// control or invisible format character; "" when there is none.
func inertProblem(s string) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<':
			m := ourLink.FindString(s[i:])
			if m == "" {
				return fmt.Sprintf("a < that is not our link at %d: %.60q", i, s[i:])
			}
			i += len(m) - 1
		case '>':
			return fmt.Sprintf("a stray > at %d: %.60q", i, s[max(0, i-30):])
		case '&':
			if !strings.HasPrefix(s[i:], "&amp;") && !strings.HasPrefix(s[i:], "&lt;") && !strings.HasPrefix(s[i:], "&gt;") {
				return fmt.Sprintf("a bare & at %d: %.60q", i, s[i:])
			}
		}
	}
	for _, r := range s {
		if r != '\n' && (unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029') {
			return fmt.Sprintf("character %U", r)
		}
	}
	return ""
}

// textObj is one text object of a block, as sent.
type textObj struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Verbatim bool   `json:"verbatim"`
}

// textObjects collects every text object of a block list, in order.
func textObjects(t testing.TB, blocks []byte) []textObj {
	t.Helper()
	var v any
	if err := json.Unmarshal(blocks, &v); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	var out []textObj
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if typ, ok := v["type"].(string); ok && (typ == "mrkdwn" || typ == "plain_text") {
				s, _ := v["text"].(string)
				vb, _ := v["verbatim"].(bool)
				out = append(out, textObj{typ, s, vb})
				return
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

// checkInertMessage checks one message as posted: Slack accepts it, every
// mrkdwn text is verbatim and inert, and the fallback holds no markup.
func checkInertMessage(t testing.TB, where, text string, blocks []byte) {
	t.Helper()
	if code, why := slackfake.Explain(text, blocks); code != "" {
		t.Errorf("%s: Slack would answer %s: %s", where, code, why)
	}
	if p := inertProblem(text); p != "" || strings.Contains(text, "\n") || strings.ContainsAny(text, "<>") {
		t.Errorf("%s: the fallback text is not inert (%s): %q", where, p, text)
	}
	for _, o := range textObjects(t, blocks) {
		if o.Type == "mrkdwn" && !o.Verbatim {
			t.Errorf("%s: a mrkdwn text without verbatim: %.80q", where, o.Text)
		}
		if p := inertProblem(o.Text); p != "" {
			t.Errorf("%s: %s in %.200q", where, p, o.Text)
		}
	}
}

// lineShape is the number of lines of each piece the renderer builds from
// a report (scope, errors, overview, each connection's header and each
// finding), sorted: with inert values it does not depend on what the values
// hold. (Whole messages are not compared: longer values pack differently.)
func lineShape(rep *report.Report, meta Meta) string {
	lines := func(s string) int { return strings.Count(s, "\n") + 1 }
	var shape []int
	shape = append(shape, lines(scopeText(rep, accountOf(rep, meta))))
	conns := report.ByConnection(rep.Findings)
	ov, _ := overviewLines(conns)
	for _, ls := range [][]string{errorLines(rep.Errors), ov} {
		for _, l := range ls {
			shape = append(shape, lines(l))
		}
	}
	for _, g := range conns {
		shape = append(shape, lines(connHeader(g, false)), lines(connHeader(g, true)))
		for _, f := range g.Findings {
			shape = append(shape, lines(findingText(f, meta.Now)), lines(findingLine(f)))
		}
	}
	shape = append(shape, lines(fallbackText(rep, rep.Findings, accountOf(rep, meta))))
	slices.Sort(shape)
	return fmt.Sprint(shape)
}

// hostileInventory is one DescribeVpnConnections body with payload planted
// in the region, the connection's name, id, gateway, tag keys and values,
// tunnel ids and the exception tags (whose bad expiry becomes an error
// message). The key is exposed in a tag whose key is the payload, so the
// finding's message quotes it.
func hostileInventory(payload, psk string) []byte {
	tunnel := func(n int) map[string]any {
		return map[string]any{
			"TunnelId": fmt.Sprintf("tun-%d %s", n, payload), "Role": "master", "Status": payload, "EnableDpd": "false",
			"TunnelIkeConfig":   map[string]any{"IkeVersion": "ikev1", "IkeAuthAlg": "md5", "IkeEncAlg": payload, "IkePfs": "group2", "Psk": psk, "LocalId": payload},
			"TunnelIpsecConfig": map[string]any{"IpsecEncAlg": "des", "IpsecAuthAlg": "sha1", "IpsecPfs": "disabled"},
		}
	}
	body := map[string]any{
		"RegionId": payload, "TotalCount": 1, "RequestId": payload,
		"VpnConnections": map[string]any{"VpnConnection": []any{map[string]any{
			"VpnConnectionId": "vco-" + payload, "Name": payload, "VpnGatewayId": "vpn-" + payload,
			"LocalSubnet": "0.0.0.0/0", "RemoteSubnet": payload,
			"Tag": map[string]any{"Tag": []any{
				map[string]any{"Key": payload, "Value": "key " + psk},
				map[string]any{"Key": "vpncheck:exception", "Value": "dpd-disabled," + payload},
				map[string]any{"Key": "vpncheck:exception-expires", "Value": payload},
				map[string]any{"Key": "vpncheck:exception-reason", "Value": payload},
			}},
			"TunnelOptionsSpecification": map[string]any{"TunnelOptions": []any{tunnel(1), tunnel(2)}},
		}}},
	}
	b, _ := json.Marshal(body)
	return b
}

// hostileResult runs the real pipeline on the planted inventory, with a
// failed region and an error message that carry the payload too.
func hostileResult(t testing.TB, eng *checker.Engine, payload string) *checker.Result {
	t.Helper()
	const psk = "Hostile-PSK-9c1e55aa0b7f"
	path := filepath.Join(t.TempDir(), "inventory.json")
	if err := os.WriteFile(path, hostileInventory(payload, psk), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := inventory.New()
	if err := inv.ReadFile(path, ""); err != nil { // its RegionId is the payload
		t.Fatal(err)
	}
	inv.Fail(report.ErrorEntry{Region: "cn-" + payload, Code: "Forbidden.RAM" + payload, Message: "denied: " + payload, RequestID: payload})
	res, err := eng.Check(context.Background(), inv, checker.Options{AccountID: payload, Now: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	res.Report.MarkAllNew(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	return res
}

// TestHostileContentStaysInert plants every payload in names, tags, ids,
// regions and error messages, runs the real pipeline, posts through the
// fake Slack (webhook and bot) and prints the text report: every posted
// text is verbatim, escaped and free of control characters, only our own
// links open, no value adds a line, and the terminal sees no escape.
func TestHostileContentStaysInert(t *testing.T) {
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	eng, err := checker.NewEngine(context.Background(), checker.Policies{Builtin: policies.FS})
	if err != nil {
		t.Fatal(err)
	}
	benign := hostileResult(t, eng, "x")
	if len(benign.Report.Findings) < 5 || len(benign.Report.Errors) < 2 {
		t.Fatalf("the planted inventory yields %d findings and %d errors; want the payload in many places",
			len(benign.Report.Findings), len(benign.Report.Errors))
	}
	var text bytes.Buffer
	tw, _ := output.Get("text")
	if err := tw.Report(&text, benign.Report); err != nil {
		t.Fatal(err)
	}
	benignLines := strings.Count(text.String(), "\n")

	for _, payload := range hostilePayloads(t) {
		t.Run(fmt.Sprintf("%.24q", payload), func(t *testing.T) {
			res := hostileResult(t, eng, payload)
			run := notify.Run{Key: payload, AccountID: payload, Scrubber: res.Secrets}
			if got, want := lineShape(res.Report, Meta{AccountID: payload}), lineShape(benign.Report, Meta{AccountID: "x"}); got != want {
				t.Errorf("a value changed the lines of the message: %s, want %s", got, want)
			}
			for _, bot := range []bool{false, true} {
				fake := newFake(t, slackfake.Options{})
				n, _ := webhookNotifier(t, fake, Config{})
				if bot {
					n, _ = botNotifier(t, fake, Config{})
				}
				if _, err := n.NotifyReport(context.Background(), run, res.Report); err != nil {
					t.Fatalf("bot=%v: %v", bot, err)
				}
				if _, err := n.NotifyFailure(context.Background(), run, "collect: "+payload); err != nil {
					t.Fatalf("bot=%v: %v", bot, err)
				}
				for i, p := range fake.Posts() {
					checkInertMessage(t, fmt.Sprintf("bot=%v post %d", bot, i), p.Text, p.Blocks)
				}
				for _, r := range fake.Requests() {
					if bot {
						// The form's own encoding aside, the text fields were checked above.
						v, _ := url.ParseQuery(r.Body)
						if strings.ContainsAny(v.Get("text"), "<>\n") {
							t.Errorf("a raw fallback reached chat.postMessage: %q", v.Get("text"))
						}
					}
				}
			}

			var out bytes.Buffer
			if err := tw.Report(&out, res.Report); err != nil {
				t.Fatal(err)
			}
			for i, r := range out.String() {
				if r != '\n' && (unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r)) {
					t.Fatalf("the text report prints %U at %d", r, i)
				}
			}
			if got := strings.Count(out.String(), "\n"); got != benignLines {
				t.Errorf("the text report has %d lines, %d with harmless values:\n%s", got, benignLines, out.String())
			}
		})
	}
}

// TestInertHuge: a 10 MB name comes out within the limit, and the whole
// report with 10 MB in every field within Slack's limits. The cost (what is
// shown, not the output limit times the input: 4.2 s at 800 characters
// before) is measured by BenchmarkInertHuge, not asserted here.
func TestInertHuge(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"10 MB name", strings.Repeat("<&>界", 10<<20/6)},
		{"10 MB invisible", strings.Repeat("\u200b", 10<<20/3)},
	} {
		if out := text(tc.in, 800); utf8.RuneCountInString(out) > 800 {
			t.Errorf("%s: %d characters", tc.name, utf8.RuneCountInString(out))
		}
	}
	rep := bigReport(3)
	huge := strings.Repeat("\n<!channel> ", 10<<20/12)
	for i := range rep.Findings {
		f := &rep.Findings[i]
		f.ConnectionName, f.Message, f.TunnelID, f.Region = huge, huge, huge, huge
	}
	msgs := Render(rep, Meta{RunKey: huge, AccountID: huge}, Channel).Messages
	assertLimits(t, msgs)
}

func BenchmarkInertHuge(b *testing.B) {
	for _, in := range []string{strings.Repeat("<&>界", 10<<20/6), strings.Repeat("\u200b", 10<<20/3)} {
		b.Run(fmt.Sprintf("%d bytes", len(in)), func(b *testing.B) {
			for b.Loop() {
				text(in, 800)
			}
		})
	}
}

// plantAll puts payload in every string field of a hand-made report.
func plantAll(rep *report.Report, payload string) {
	for i := range rep.Findings {
		f := &rep.Findings[i]
		for _, p := range []*string{&f.Title, &f.Message, &f.Remediation, &f.AccountID, &f.ConnectionName, &f.VPNGatewayID, &f.ExceptionExpired} {
			*p = payload
		}
		f.ConnectionID += payload
		f.TunnelID += payload
		f.Rule += payload
		if i%2 == 0 {
			f.Region = payload
		}
	}
	rep.Errors = append(rep.Errors, report.ErrorEntry{Region: payload, Code: payload, Message: payload, RequestID: payload, ConnectionID: payload})
	rep.Summary.RegionsScan = append(rep.Summary.RegionsScan, payload)
	rep.Summary.RegionsFailed = append(rep.Summary.RegionsFailed, payload)
}

// FuzzRender renders a report whose every value is adversarial text, in
// both styles: Slack's limits hold, every < opens a console link the
// renderer made, every text is verbatim and free of control characters,
// and a short value never changes the message's lines.
func FuzzRender(f *testing.F) {
	for _, p := range hostilePayloads(f) {
		f.Add(p, uint8(3))
	}
	f.Add(strings.Repeat("`<&>", 900), uint8(40))
	f.Fuzz(func(t *testing.T, payload string, n uint8) {
		build := func(p string) *report.Report {
			rep := bigReport(int(n%60) + 1)
			plantAll(rep, p)
			return rep
		}
		// The same report as a stateful run with every kind of change and a
		// digest, within a budget of 1 to 6, with and without a file.
		st := build(payload)
		now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		for i := range st.Findings {
			f := &st.Findings[i]
			f.FirstSeen, f.Status = now.Add(-time.Duration(i)*time.Hour), report.StatusNew
			if i%2 == 0 {
				f.Status = report.StatusOpen
			}
		}
		was := report.Info
		changed := st.Findings[0]
		changed.PreviousSeverity = &was
		resolved := slices.Clone(st.Findings[:min(3, len(st.Findings))])
		for i := range resolved {
			resolved[i].ResolvedAt = &now
		}
		st.Resolved = resolved
		st.Lifecycle = report.Lifecycle{Stateful: true, NewlySuppressed: resolved, SeverityChanged: []report.Finding{changed},
			Held: []string{payload, "cn-beijing"}, OldestOpen: now.Add(-48 * time.Hour), Digest: n%2 == 0, Unchanged: len(st.Findings) / 2}
		budget := int(n%6) + 1
		r := Render(st, Meta{RunKey: payload, AccountID: payload, Now: now, MaxMessages: budget, Upload: n%3 == 0}, Thread)
		if len(r.Messages) == 0 || len(r.Messages) > budget || r.File != nil && len(r.Messages) >= budget {
			t.Fatalf("budget %d: %d messages, file %v", budget, len(r.Messages), r.File != nil)
		}
		for i, m := range r.Messages {
			raw, err := json.Marshal(m.Blocks)
			if err != nil {
				t.Fatal(err)
			}
			checkInertMessage(t, fmt.Sprintf("stateful message %d", i), m.Text, raw)
			if t.Failed() {
				t.FailNow()
			}
		}
		for _, style := range []Style{Channel, Thread} {
			msgs := Render(build(payload), Meta{RunKey: payload, AccountID: payload}, style).Messages
			if len(msgs) == 0 {
				t.Fatal("nothing rendered")
			}
			for i, m := range msgs {
				raw, err := json.Marshal(m.Blocks)
				if err != nil {
					t.Fatal(err)
				}
				checkInertMessage(t, fmt.Sprintf("style %d message %d", style, i), m.Text, raw)
				if t.Failed() {
					t.FailNow()
				}
			}
		}
		benign := "x"
		if payload == "" {
			benign = "" // an empty message or remediation has no line
		}
		if got, want := lineShape(build(payload), Meta{AccountID: payload}), lineShape(build(benign), Meta{AccountID: benign}); got != want {
			t.Fatalf("the value changed the lines: %s, want %s", got, want)
		}
	})
}

// FuzzInert checks the sanitiser alone: one line, within max, no markup
// but entities, no control or format characters, no backtick in code.
func FuzzInert(f *testing.F) {
	for _, p := range hostilePayloads(f) {
		f.Add(p, 80, false)
		f.Add(p, 7, true)
	}
	f.Fuzz(func(t *testing.T, s string, max int, inCode bool) {
		max = max%4000 + 1
		if max < 1 {
			max = -max + 1
		}
		out := inert(s, max, inCode)
		if n := utf8.RuneCountInString(out); n > max {
			t.Fatalf("%d characters, max %d", n, max)
		}
		if p := inertProblem(out); p != "" || strings.Contains(out, "\n") {
			t.Fatalf("%s: %q", p, out)
		}
		if inCode && strings.Contains(out, "`") {
			t.Fatalf("a backtick in code: %q", out)
		}
		if out != strings.TrimSpace(out) || strings.Contains(out, "  ") {
			t.Fatalf("white space not folded: %q", out)
		}
	})
}
