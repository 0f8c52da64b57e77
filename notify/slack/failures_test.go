package slack

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/lifecycle"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/notify"
	"github.com/vpncheck/vpncheck/notify/slack/slackfake"
)

// failureDay is a day of hourly runs on two regions, through the real
// lifecycle, as the on-call person reads the channel: cn-shanghai starts
// failing (403 Forbidden.RAM), goes on failing (with another code too),
// is scanned again with two subnet-any findings (its local and remote
// side), then its listing comes back partial, and the next morning's
// digest.
func failureDay(t *testing.T) []dayRun {
	t.Helper()
	start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	hz := report.Finding{Rule: "dpd-disabled", Severity: report.Medium, Title: "Dead peer detection disabled",
		Message: "dead peer detection is off", Remediation: "Enable DPD.", Region: "cn-hangzhou",
		ConnectionID: "vco-hz0001", ConnectionName: "hz-office", VPNGatewayID: "vpn-hz0001"}
	anySide := func(side string) report.Finding {
		return report.Finding{Rule: "subnet-any", Severity: report.Medium, Title: "Subnet allows any address",
			Message: side + " subnet list includes 0.0.0.0/0", Remediation: "Replace 0.0.0.0/0.", Region: "cn-shanghai",
			ConnectionID: "vco-sh0001", ConnectionName: "sh-dc", VPNGatewayID: "vpn-sh0001", Side: side}
	}
	type shanghai int
	const (
		ok shanghai = iota
		forbidden
		throttled
		partial
	)
	runs := []struct {
		name string
		at   time.Duration
		sh   shanghai
		open bool // cn-shanghai's connection has its findings
	}{
		{"first run", 0, ok, false},
		{"cn-shanghai starts failing", time.Hour, forbidden, false},
		{"still failing", 2 * time.Hour, forbidden, false},
		{"failing with another code", 3 * time.Hour, throttled, false},
		{"scanned again", 4 * time.Hour, ok, true},
		{"partial listing", 5 * time.Hour, partial, true},
		{"still partial", 6 * time.Hour, partial, true},
		{"digest", 24 * time.Hour, partial, true},
	}
	var st *lifecycle.State
	var out []dayRun
	for _, r := range runs {
		rep := report.New()
		rep.Findings = append(rep.Findings, hz)
		rep.Summary.Connections, rep.Summary.Tunnels = 1, 1
		rep.Summary.RegionsScan = []string{"cn-hangzhou"}
		switch r.sh {
		case forbidden, throttled:
			code := "Forbidden.RAM"
			if r.sh == throttled {
				code = "Throttling.User"
			}
			rep.Summary.RegionsFailed = []string{"cn-shanghai"}
			rep.Errors = append(rep.Errors, report.ErrorEntry{Region: "cn-shanghai", Code: code, RequestID: "req-1",
				Message: "describe vpn connections in cn-shanghai page 1: " + code + ": not allowed"})
		case partial:
			rep.Summary.RegionsScan = append(rep.Summary.RegionsScan, "cn-shanghai")
			rep.Errors = append(rep.Errors, report.ErrorEntry{Region: "cn-shanghai", Code: report.CodeIncompleteResponse,
				Message: "cn-shanghai is incomplete: describe vpn connections in cn-shanghai page 2: TotalCount 3, 1 read"})
		default:
			rep.Summary.RegionsScan = append(rep.Summary.RegionsScan, "cn-shanghai")
		}
		if r.open {
			rep.Findings = append(rep.Findings, anySide("local"), anySide("remote"))
			rep.Summary.Connections, rep.Summary.Tunnels = 2, 2
		}
		rep.Finish()
		judged := func(f *report.Finding) bool {
			return f.Region == "cn-hangzhou" || r.sh == ok
		}
		st = lifecycle.Advance(st, rep, lifecycle.Options{Now: start.Add(r.at), DigestEvery: 24 * time.Hour, Judged: judged})
		out = append(out, dayRun{r.name, start.Add(r.at), rep})
	}
	return out
}

// TestFailureDayOfMessages: a failure is said when it begins and when it
// ends (with what the region holds now), not in the hours between; a
// partial listing says "partial" in the header, the notification and the
// region list; two subnet-any findings on one connection are told apart.
// failure_day.txt is what the channel shows.
func TestFailureDayOfMessages(t *testing.T) {
	var seen strings.Builder
	for _, r := range failureDay(t) {
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
		all := asSeen(view)
		fmt.Fprintf(&seen, "════ %s, %s: %d messages\n\n%s", r.name, r.at.Format("Jan 2 15:04"), d.Posted, all)
		want := map[string][]string{
			"cn-shanghai starts failing": {"VPN check: 1 region not scanned", "Forbidden.RAM", "Not scanned cn-shanghai"},
			"scanned again": {"2 new: 2 medium · 1 region scanned again", "Scanned again (1)",
				"cn-shanghai Forbidden.RAM, failing since 2026-05-01 09:00 UTC (3 hours): now 2 findings there (2 medium) on 1 connection, 2 of them new"},
			"partial listing": {"VPN check: partial data from 1 region", "Regions scanned cn-hangzhou, cn-shanghai (partial)", "partial data: cn-shanghai", "IncompleteResponse"},
			"digest":          {"Still failing (1)", "IncompleteResponse", "since 2026-05-01 13:00 UTC (19 hours)", "local side", "remote side"},
		}[r.name]
		for _, w := range want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: the channel does not show %q:\n%s", r.name, w, all)
			}
		}
		switch r.name {
		case "still failing", "failing with another code", "still partial":
			if len(fake.Requests()) != 0 {
				t.Errorf("%s: a failure said before is posted again:\n%s", r.name, all)
			}
		case "partial listing":
			if len(view) == 0 || !strings.Contains(view[0].Text, "partial") {
				t.Errorf("the notification text does not say partial: %+v", view)
			}
			if strings.Contains(all, "nothing new") {
				t.Errorf("a partial listing reads as nothing new:\n%s", all)
			}
		case "digest":
			// Two findings of one rule on one connection are two lines
			// that differ.
			var lines []string
			for _, l := range strings.Split(all, "\n") {
				if strings.Contains(l, "subnet-any") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 2 || lines[0] == lines[1] {
				t.Errorf("the digest's subnet-any lines are not told apart: %q", lines)
			}
		}
	}
	golden(t, "failure_day.txt", []byte(seen.String()))
}

// A finding fixed and back is "open" from its return, in the digest and
// when it is fixed again, not from its first sighting.
func TestReopenedAgeInMessages(t *testing.T) {
	start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	f := report.Finding{Rule: "dpd-disabled", Severity: report.Medium, Title: "Dead peer detection disabled",
		Message: "dead peer detection is off", Region: "cn-hangzhou", ConnectionID: "vco-hz0001"}
	mk := func(fs ...report.Finding) *report.Report {
		r := report.New()
		r.Findings = append(r.Findings, fs...)
		r.Summary.RegionsScan = []string{"cn-hangzhou"}
		r.Finish()
		return r
	}
	o := func(h int) lifecycle.Options {
		return lifecycle.Options{Now: start.Add(time.Duration(h) * time.Hour), DigestEvery: 24 * time.Hour, Judged: func(*report.Finding) bool { return true }}
	}
	st := lifecycle.Advance(nil, mk(f), o(0))
	st = lifecycle.Advance(st, mk(), o(1))   // fixed
	st = lifecycle.Advance(st, mk(f), o(20)) // back
	digest := mk(f)
	st = lifecycle.Advance(st, digest, o(24))
	msgs := Render(digest, Meta{Now: start.Add(24 * time.Hour)}, Channel).Messages
	if s := asSeen(viewOf(t, msgs)); !strings.Contains(s, "open 4 hours") || strings.Contains(s, "open 24 hours") {
		t.Errorf("the digest does not count from the reopening:\n%s", s)
	}
	fixed := mk()
	lifecycle.Advance(st, fixed, o(26))
	msgs = Render(fixed, Meta{Now: start.Add(26 * time.Hour)}, Channel).Messages
	if s := asSeen(viewOf(t, msgs)); !strings.Contains(s, "open 6 hours") {
		t.Errorf("fixed again: not counted from the reopening:\n%s", s)
	}
}

func viewOf(t *testing.T, msgs []Message) []posted {
	t.Helper()
	var out []posted
	for _, m := range msgs {
		out = append(out, posted{Text: m.Text, Blocks: mustJSON(t, m.Blocks)})
	}
	return out
}
