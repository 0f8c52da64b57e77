package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/lifecycle"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/notify"
	"github.com/vpncheck/vpncheck/notify/slack/slackfake"
)

// dayRun is one run of a day of runs on the sample account, through the real
// lifecycle: the first run, an hour without change, a fix (VPN1-CGW22 got
// a strong key of its own, so its weak and shared key findings and
// VPN2-CGW1's shared key finding are gone), and the next morning's digest.
type dayRun struct {
	name string
	at   time.Time
	rep  *report.Report
}

func day(t *testing.T) []dayRun {
	t.Helper()
	start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	fixed := func(f report.Finding) bool {
		return f.ConnectionName == "VPN1-CGW22" && (f.Rule == "psk-weak" || f.Rule == "psk-reused") || f.Rule == "psk-reused"
	}
	runs := []struct {
		name string
		at   time.Time
		drop func(report.Finding) bool
	}{
		{"first run", start, nil},
		{"unchanged", start.Add(time.Hour), nil},
		{"a fix", start.Add(2 * time.Hour), fixed},
		{"digest", start.Add(24 * time.Hour), fixed},
	}
	var st *lifecycle.State
	var out []dayRun
	for _, r := range runs {
		rep := sampleFixture(t)
		if r.drop != nil {
			var keep []report.Finding
			for _, f := range rep.Findings {
				if !r.drop(f) {
					keep = append(keep, f)
				}
			}
			rep.Findings = keep
			rep.Finish()
		}
		st = lifecycle.Advance(st, rep, lifecycle.Options{Now: r.at, DigestEvery: 24 * time.Hour,
			Judged: func(*report.Finding) bool { return true }})
		// The state keeps no texts: the run names fixed findings after
		// their rules (run.nameResolved), as here from the fixture's.
		titles := map[string]string{}
		for _, f := range sampleFixture(t).Findings {
			titles[f.Rule] = f.Title
		}
		for i := range rep.Resolved {
			if rep.Resolved[i].Title == "" {
				rep.Resolved[i].Title = titles[rep.Resolved[i].Rule]
			}
		}
		out = append(out, dayRun{r.name, r.at, rep})
	}
	return out
}

// posted is what a channel shows: each message or file share in order,
// with its thread as the index of its parent.
type posted struct {
	Via    string          `json:"via"`
	Thread *int            `json:"thread,omitempty"`
	Text   string          `json:"text"`
	Blocks json.RawMessage `json:"blocks,omitempty"`
	Files  []postedFile    `json:"files,omitempty"`
}

type postedFile struct {
	Name   string `json:"name"`
	Title  string `json:"title"`
	Length int    `json:"length"`
}

func channelView(fake *slackfake.Server) []posted {
	idx := map[string]int{}
	var out []posted
	for i, p := range fake.Posts() {
		idx[p.TS] = i
		v := posted{Via: p.Via, Text: p.Text, Blocks: p.Blocks}
		if p.ThreadTS != "" {
			n := idx[p.ThreadTS]
			v.Thread = &n
		}
		for _, f := range p.Files {
			v.Files = append(v.Files, postedFile{f.Name, f.Title, len(f.Content)})
		}
		out = append(out, v)
	}
	return out
}

func channelGolden(t *testing.T, name string, view []posted) {
	t.Helper()
	b, err := json.MarshalIndent(view, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, name, append(b, '\n'))
}

var linkRE = regexp.MustCompile(`<(https://[^|>]+)\|([^>]+)>`)

// asSeen renders posts as a person reads them in Slack: markup gone,
// links as their labels, entities decoded, thread replies indented.
func asSeen(view []posted) string {
	var b strings.Builder
	for i, p := range view {
		indent := ""
		if p.Thread != nil {
			indent = "    │ "
			fmt.Fprintf(&b, "    ↳ reply in the thread of message %d\n", *p.Thread+1)
		} else {
			fmt.Fprintf(&b, "── message %d (notification: %q)\n", i+1, p.Text)
		}
		for _, f := range p.Files {
			fmt.Fprintf(&b, "%s[file] %s — %s, %d bytes\n", indent, f.Title, f.Name, f.Length)
		}
		var blocks []struct {
			Type     string   `json:"type"`
			Text     *textObj `json:"text"`
			Elements []textObj
		}
		_ = json.Unmarshal(p.Blocks, &blocks)
		for _, bl := range blocks {
			var s string
			switch bl.Type {
			case "divider":
				s = "───"
			case "header":
				s = "▌" + bl.Text.Text
			case "section":
				s = bl.Text.Text
			case "context":
				for _, e := range bl.Elements {
					s += e.Text
				}
			}
			s = readable(s)
			for _, l := range strings.Split(s, "\n") {
				b.WriteString(indent + l + "\n")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// readable is mrkdwn as Slack shows it: bold and italic markers and code
// ticks gone (code spans keep their text), links as their labels,
// entities decoded.
func readable(s string) string {
	s = linkRE.ReplaceAllString(s, "$2")
	parts := strings.Split(s, "`")
	for i := 0; i < len(parts); i += 2 { // outside code spans
		parts[i] = strings.NewReplacer("*", "", "_Fix:_", "Fix:", "_(", "(", ")_", ")", " _new_", " new").Replace(parts[i])
	}
	return html.UnescapeString(strings.Join(parts, ""))
}

// TestDayOfMessages posts a day of runs through the fake Slack with a bot
// token: the first run in full, nothing for an unchanged run, the fix
// briefly, and the digest. The goldens hold what the channel received,
// and day.txt the same as a person reads it.
func TestDayOfMessages(t *testing.T) {
	var seen strings.Builder
	for _, r := range day(t) {
		fake := newFake(t, slackfake.Options{})
		n, _ := botNotifier(t, fake, Config{})
		run := notify.Run{Key: "vpncheck-hourly@" + r.at.Format(time.RFC3339), At: r.at}
		d, err := n.NotifyReport(context.Background(), run, r.rep)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		view := channelView(fake)
		for _, p := range fake.Posts() {
			checkInertMessage(t, r.name, p.Text, p.Blocks)
		}
		name := "day_" + strings.ReplaceAll(r.name, " ", "_") + ".json"
		channelGolden(t, name, view)
		fmt.Fprintf(&seen, "════ %s, %s: %d messages\n\n%s", r.name, r.at.Format("Jan 2 15:04"), d.Posted, asSeen(view))
		switch r.name {
		case "unchanged":
			if len(fake.Requests()) != 0 {
				t.Errorf("an unchanged run reached Slack: %d requests", len(fake.Requests()))
			}
		case "a fix":
			all := asSeen(view)
			for _, want := range []string{"Fixed since the last run (3)", "Still open: 12 findings unchanged since earlier runs", "open 2 hours", "3 fixed"} {
				if !strings.Contains(all, want) {
					t.Errorf("the fix does not say %q:\n%s", want, all)
				}
			}
			if strings.Contains(all, "Fix: ") {
				t.Errorf("the fix repeats the open findings in full:\n%s", all)
			}
		case "digest":
			all := asSeen(view)
			if !strings.Contains(all, "Digest: everything open · 1 critical, 5 high") || !strings.Contains(all, "open 24 hours") {
				t.Errorf("the digest does not list what is open:\n%s", all)
			}
			// The total is said once, in the header (the notification
			// text, apart from the blocks, says it too).
			var blocks strings.Builder
			for _, p := range view {
				blocks.Write(p.Blocks)
			}
			if n := strings.Count(blocks.String(), "12 "); n != 1 {
				t.Errorf("the digest states its total %d times, want once:\n%s", n, all)
			}
		}
	}
	golden(t, "day.txt", []byte(seen.String()))
}

// TestChangesSaidOnce: re-rated and newly excepted findings, held regions
// and the unchanged count, each said in the summary.
func TestChangesSaidOnce(t *testing.T) {
	now := time.Date(2026, 5, 3, 9, 0, 0, 0, time.UTC)
	rep := sampleFixture(t)
	for i := range rep.Findings {
		f := &rep.Findings[i]
		f.Status, f.FirstSeen = report.StatusOpen, now.Add(-72*time.Hour)
	}
	was := report.Medium
	rep.Findings[2].PreviousSeverity = &was
	rep.Lifecycle = report.Lifecycle{Stateful: true, Unchanged: 14, OldestOpen: now.Add(-72 * time.Hour),
		SeverityChanged: []report.Finding{rep.Findings[2]}, NewlySuppressed: []report.Finding{rep.Findings[0]},
		Held: []string{"cn-shanghai"}}
	rep.Summary.Suppressed = 1
	msgs := Render(rep, Meta{Now: now, RunKey: "k"}, Thread).Messages
	assertLimits(t, msgs)
	if len(msgs) != 1 {
		t.Fatalf("nothing new in detail: want the summary alone, got %d messages", len(msgs))
	}
	s := asSeen([]posted{{Text: msgs[0].Text, Blocks: mustJSON(t, msgs[0].Blocks)}})
	for _, want := range []string{
		"1 re-rated · 1 now excepted", "Severity changed (1)", "now high, was medium",
		"Now covered by an exception (1): no longer reported", "Findings in cn-shanghai stay open: the region could not be checked.",
		"Still open: 14 findings unchanged since earlier runs", "the oldest open since 2026-04-30 (3 days)", "1 suppressed by exceptions",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the summary does not say %q:\n%s", want, s)
		}
	}
	if HasNews(&report.Report{Findings: rep.Findings, Lifecycle: report.Lifecycle{Stateful: true}}) {
		t.Error("open findings without change are news")
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBudgetExceeded posts a report too large for its budget: a webhook
// gets exactly the budget, the summary saying what was left out and how to
// get it; a bot gets one message less and the complete report as a file
// in the summary's thread, through the external upload flow.
func TestBudgetExceeded(t *testing.T) {
	rep := bigReport(300)
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	run := notify.Run{Key: "vpncheck-hourly@2026-05-01T10:00:00Z", At: at}
	t.Run("webhook", func(t *testing.T) {
		fake := newFake(t, slackfake.Options{})
		n, _ := webhookNotifier(t, fake, Config{MaxMessages: 2})
		d, err := n.NotifyReport(context.Background(), run, rep)
		if err != nil {
			t.Fatal(err)
		}
		view := channelView(fake)
		if len(view) != 2 || d.Posted != 2 || d.Files != 0 {
			t.Fatalf("%d posts (%+v), want the budget of 2", len(view), d)
		}
		if s := asSeen(view[:1]); !strings.Contains(s, "Not everything fits in 2 messages.") || !strings.Contains(s, "vpncheck check --format json") {
			t.Errorf("the summary does not say what was left out and where it is:\n%s", s)
		}
		channelGolden(t, "budget_webhook.json", view)
	})
	t.Run("bot with file", func(t *testing.T) {
		fake := newFake(t, slackfake.Options{})
		n, _ := botNotifier(t, fake, Config{MaxMessages: 3})
		d, err := n.NotifyReport(context.Background(), run, rep)
		if err != nil {
			t.Fatal(err)
		}
		view := channelView(fake)
		if len(view) != 3 || d.Posted != 2 || d.Files != 1 {
			t.Fatalf("%d posts (%+v), want 2 messages and the file", len(view), d)
		}
		files := fake.Files()
		if len(files) != 1 || files[0].ThreadTS != fake.Posts()[0].TS || files[0].Length != len(files[0].Content) {
			t.Fatalf("files %+v", files)
		}
		var full report.Report
		if err := json.Unmarshal(files[0].Content, &full); err != nil || len(full.Findings) != len(rep.Findings) {
			t.Errorf("the file holds %d of %d findings (%v)", len(full.Findings), len(rep.Findings), err)
		}
		if s := asSeen(view[:1]); !strings.Contains(s, "attached in this thread as a file") {
			t.Errorf("the summary does not point to the file:\n%s", s)
		}
		paths := map[string]bool{}
		for _, r := range fake.Requests() {
			paths[strings.SplitN(r.Path, "CFAKE", 2)[0]] = true
		}
		for _, p := range []string{"/api/files.getUploadURLExternal", "/upload/v1/", "/api/files.completeUploadExternal"} {
			if !paths[p] {
				t.Errorf("the upload flow did not call %s: %v", p, paths)
			}
		}
		channelGolden(t, "budget_bot_file.json", view)
	})
	t.Run("bot without files:write", func(t *testing.T) {
		fake := newFake(t, slackfake.Options{NoFilesWrite: true})
		n, _ := botNotifier(t, fake, Config{MaxMessages: 3})
		d, err := n.NotifyReport(context.Background(), run, rep)
		if err != nil {
			t.Fatal(err)
		}
		posts := fake.Posts()
		if len(posts) != 3 || d.Files != 0 || !strings.Contains(d.Unattached, "missing_scope (the token needs files:write)") {
			t.Fatalf("%d posts, %+v", len(posts), d)
		}
		if last := string(posts[2].Blocks); !strings.Contains(last, "could not be attached") || posts[2].ThreadTS != posts[0].TS {
			t.Errorf("the file's place does not say why: %s", last)
		}
	})
	t.Run("upload retried", func(t *testing.T) {
		fake := newFake(t, slackfake.Options{})
		fake.FailFileNext(slackfake.Pass, slackfake.Pass, slackfake.Failure{Status: 503})
		n, s := botNotifier(t, fake, Config{MaxMessages: 3})
		d, err := n.NotifyReport(context.Background(), run, rep)
		if err != nil || d.Files != 1 || len(fake.Files()) != 1 || len(s.all()) != 1 {
			t.Fatalf("%+v, %v, files %d, waits %v", d, err, len(fake.Files()), s.all())
		}
	})
	t.Run("every message counts", func(t *testing.T) {
		for _, budget := range []int{1, 2, 3, 5, 8} {
			for _, bot := range []bool{false, true} {
				fake := newFake(t, slackfake.Options{})
				n, _ := webhookNotifier(t, fake, Config{MaxMessages: budget})
				if bot {
					n, _ = botNotifier(t, fake, Config{MaxMessages: budget})
				}
				if _, err := n.NotifyReport(context.Background(), run, bigReport(2000)); err != nil {
					t.Fatal(err)
				}
				if got := len(fake.Posts()); got > budget {
					t.Errorf("budget %d, bot %v: %d messages", budget, bot, got)
				}
			}
		}
	})
}

// TestDeliveryResumesAcrossInstances is the exactly-once seam: a state
// store's record of acknowledged parts (Delivered) is skipped, each part
// Slack acknowledges is handed to OnPosted before the next is sent, and
// an OnPosted error stops delivery.
func TestDeliveryResumesAcrossInstances(t *testing.T) {
	rep := bigReport(300)
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	fake := newFake(t, slackfake.Options{})
	store := map[int]string{}
	errStore := errors.New("store unavailable")
	record := func(fail int) func(int, string) error {
		return func(part int, ts string) error {
			if part == fail {
				return errStore
			}
			if _, ok := store[part]; ok {
				t.Errorf("part %d recorded twice", part)
			}
			store[part] = ts
			return nil
		}
	}
	first, _ := botNotifier(t, fake, Config{MaxMessages: 4})
	run := notify.Run{Key: "k", At: at, Delivered: map[int]string{}, OnPosted: record(1)}
	d, err := first.NotifyReport(context.Background(), run, rep)
	if !errors.Is(err, errStore) || d.Posted != 2 || len(store) != 1 {
		t.Fatalf("first instance: %+v, %v, store %v", d, err, store)
	}
	// Part 1 was posted but not recorded: a retry posts it again (at least
	// once), and nothing that was recorded.
	second, _ := botNotifier(t, fake, Config{MaxMessages: 4})
	run = notify.Run{Key: "k", At: at, Delivered: cloneParts(store), OnPosted: record(-1)}
	d, err = second.NotifyReport(context.Background(), run, rep)
	if err != nil || d.Skipped != 1 || d.Posted != 2 || d.Files != 1 {
		t.Fatalf("second instance: %+v, %v", d, err)
	}
	if len(store) != 4 || !strings.HasPrefix(store[3], "F") {
		t.Errorf("store %v: want 3 messages and the file (part 3)", store)
	}
	posts := fake.Posts()
	for _, p := range posts[1:] {
		if p.ThreadTS != posts[0].TS {
			t.Errorf("a part went outside the summary's thread: %+v", p.ThreadTS)
		}
	}
	third, _ := botNotifier(t, fake, Config{MaxMessages: 4})
	before := len(fake.Requests())
	d, err = third.NotifyReport(context.Background(), notify.Run{Key: "k", At: at, Delivered: cloneParts(store), OnPosted: record(-1)}, rep)
	if err != nil || d.Posted != 0 || d.Files != 0 || d.Skipped != 4 || len(fake.Requests()) != before {
		t.Errorf("everything delivered, yet: %+v, %v, %d requests", d, err, len(fake.Requests())-before)
	}
}

func cloneParts(m map[int]string) map[int]string {
	out := make(map[int]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
