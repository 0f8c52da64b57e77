// Package notify turns a vpncheck report into Slack messages (Render, a pure
// function) and delivers them (Notifier, a thin adapter over slack-go).
package slack

import (
	"fmt"
	"strings"

	slackgo "github.com/slack-go/slack"

	"github.com/vpncheck/vpncheck/checker/report"
)

// Slack's Block Kit limits, and the budgets this package keeps under them.
const (
	MaxBlocks      = 50    // blocks in one message
	MaxSectionText = 3000  // characters in a section's text
	MaxHeaderText  = 150   // characters in a header (plain text)
	MaxFields      = 10    // fields in a section
	MaxFieldText   = 2000  // characters in one field
	MaxMessageText = 12000 // total block text Slack accepts in practice

	// messageBudget is the block text one rendered message may hold: well
	// under MaxMessageText, so a message never meets msg_too_long.
	messageBudget = 8000
	// sectionBudget leaves room under MaxSectionText for the packing slackgo.
	sectionBudget = 2900
	// maxDetailMessages bounds the messages of per-finding detail; what does
	// not fit is summarised as counts (the overview still names every
	// connection with a high or critical finding).
	maxDetailMessages = 4
	// maxLowerOverview is how many connections with only medium or lower
	// findings the overview names before it counts the rest.
	maxLowerOverview = 15
	// maxErrorLines is how many scan errors are listed before the rest are counted.
	maxErrorLines = 20
	// fallbackBudget bounds the plain-text fallback of a message.
	fallbackBudget = 1000
)

// ConsoleURL is the VPC console page listing a region's IPsec-VPN connections.
func ConsoleURL(region string) string {
	return "https://vpc.console.aliyun.com/vpn/" + region + "/vpn-connections"
}

// Style says where the messages of one report go.
type Style int

const (
	// Channel posts every message at the top level (an incoming webhook):
	// the first opens with the summary and carries as much detail as fits.
	Channel Style = iota
	// Thread posts the summary alone; the other messages are its thread.
	Thread
)

// Meta is what the caller knows about the run beyond the report.
type Meta struct {
	// RunKey names the run: the timer trigger's name and trigger time, the
	// same on every retry of one timer event. Shown in each message's footer
	// and used to skip what a retry already delivered. Empty: no footer key.
	RunKey string
	// AccountID is the account checked, when known; else the report's.
	AccountID string
}

// Message is one Slack message: the plain-text fallback shown in
// notifications, and its blocks.
type Message struct {
	Text   string
	Blocks []slackgo.Block
}

// Kind names what a run posted, for duplicate protection.
type Kind string

// The kinds of message sets.
const (
	KindReport   Kind = "report"
	KindFailure  Kind = "failure"
	KindAllClear Kind = "all-clear"
)

var severityEmoji = map[report.Severity]string{
	report.Critical: ":rotating_light:",
	report.High:     ":red_circle:",
	report.Medium:   ":large_orange_circle:",
	report.Low:      ":large_yellow_circle:",
	report.Info:     ":white_circle:",
}

// Render builds the messages for a report, in posting order. It returns
// nothing for a report without findings and without errors (see
// RenderAllClear). The first message is the summary; with Thread the others
// belong in its thread.
func Render(rep *report.Report, meta Meta, style Style) []Message {
	if len(rep.Findings) == 0 && len(rep.Errors) == 0 && len(rep.Summary.RegionsFailed) == 0 {
		return nil
	}
	conns := report.ByConnection(rep.Findings)
	account := accountOf(rep, meta)

	head := []block{headerBlock(reportTitle(rep))}
	head = append(head, sectionBlocks(scopeText(rep, account))...)
	head = append(head, errorBlocks(rep)...)
	overview := overviewBlocks(conns)

	p := newPacker()
	for _, b := range head {
		p.add(b)
	}
	if len(overview) > 0 {
		p.add(dividerBlock())
		for _, b := range overview {
			p.add(b)
		}
	}
	if style == Thread {
		if len(conns) > 0 {
			p.add(contextBlock("Details for each connection are in the thread :thread:"))
		}
		p.breakMessage()
	}
	p.detailsFrom = len(p.msgs)
	omitted := p.details(conns, maxDetailMessages)
	if len(omitted.findings) > 0 {
		p.addOrNew(sectionBlock(omitted.text()))
	}
	return p.finish(meta.RunKey, fallbackText(rep, account))
}

// RenderAllClear builds the short message for a report without findings or
// errors: what was covered.
func RenderAllClear(rep *report.Report, meta Meta) []Message {
	account := accountOf(rep, meta)
	p := newPacker()
	p.add(headerBlock(":white_check_mark: VPN check: all clear"))
	for _, b := range sectionBlocks(scopeText(rep, account)) {
		p.add(b)
	}
	fallback := fmt.Sprintf("VPN check: all clear, %s checked", report.Plural(rep.Summary.Connections, "connection"))
	if r := plainRegions(rep.Summary.RegionsScan); r != "" {
		fallback += " in " + r
	}
	return p.finish(meta.RunKey, fallback)
}

// RenderFailure builds the message for a check that could not run (policies
// did not load, no region scanned, anything else): a one-line reason.
func RenderFailure(reason string, meta Meta) []Message {
	why := text(reason, 1000)
	if why == "" {
		why = "no reason given"
	}
	p := newPacker()
	p.add(headerBlock(":x: VPN check failed"))
	body := "*The check could not complete:* " + why +
		"\nNo connection was judged in this run; the next scheduled run will try again. Check the function's logs."
	if meta.AccountID != "" {
		body = "*Account* " + code(meta.AccountID, 64) + "\n" + body
	}
	p.add(sectionBlock(body))
	return p.finish(meta.RunKey, "VPN check failed: "+truncRunes(why, 300))
}

func reportTitle(rep *report.Report) string {
	s := rep.Summary
	if len(s.RegionsScan) == 0 && len(s.RegionsFailed) > 0 {
		return ":x: VPN check failed: no region could be scanned"
	}
	var title string
	if len(rep.Findings) == 0 {
		title = ":white_circle: VPN check: no findings"
	} else {
		worst, _ := rep.Worst()
		title = severityEmoji[worst] + " VPN check: " + severityCounts(rep.Findings, " · ")
	}
	if n := len(s.RegionsFailed); n > 0 {
		title += fmt.Sprintf(", %s not scanned", report.Plural(n, "region"))
	}
	return title
}

// severityCounts lists the counts by severity, worst first.
func severityCounts(fs []report.Finding, sep string) string { return report.CountOf(fs).Join(sep) }

func scopeText(rep *report.Report, account string) string {
	s := rep.Summary
	var lines []string
	if account != "" {
		lines = append(lines, "*Account* "+code(account, 64))
	}
	if len(s.RegionsScan) > 0 {
		links := make([]string, 0, len(s.RegionsScan))
		for i, r := range s.RegionsScan {
			if i == 20 {
				links = append(links, fmt.Sprintf("and %d more", len(s.RegionsScan)-20))
				break
			}
			links = append(links, regionLink(r))
		}
		lines = append(lines, "*Regions scanned* "+strings.Join(links, ", "))
	}
	if len(s.RegionsFailed) > 0 {
		lines = append(lines, ":warning: *Not scanned* "+regionList(s.RegionsFailed))
	}
	covered := fmt.Sprintf("*Covered* %s, %s", report.Plural(s.Connections, "connection"), report.Plural(s.Tunnels, "tunnel"))
	if s.Suppressed > 0 {
		covered += fmt.Sprintf(" · %d suppressed by exceptions", s.Suppressed)
	}
	if s.Incomplete > 0 {
		covered += fmt.Sprintf(" · %d with configuration the API did not return", s.Incomplete)
	}
	if s.BelowMinSeverity > 0 {
		covered += fmt.Sprintf(" · %s below the minimum severity, not shown", report.Plural(s.BelowMinSeverity, "finding"))
	}
	lines = append(lines, covered)
	return strings.Join(lines, "\n")
}

func regionLink(region string) string {
	if !linkable(region) {
		return regionText(region)
	}
	return "<" + ConsoleURL(region) + "|" + region + ">"
}

// regionText shows a region: bare when it looks like a region id, else as code.
func regionText(region string) string {
	if linkable(region) {
		return region
	}
	return code(region, 64)
}

// regionList shows the first regions and counts the rest.
func regionList(rs []string) string {
	const show = 20
	out := make([]string, 0, min(len(rs), show)+1)
	for i, r := range rs {
		if i == show {
			out = append(out, fmt.Sprintf("and %d more", len(rs)-show))
			break
		}
		out = append(out, regionText(r))
	}
	return strings.Join(out, ", ")
}

func errorBlocks(rep *report.Report) []block {
	if len(rep.Errors) == 0 {
		return nil
	}
	lines := []string{fmt.Sprintf(":warning: *Scan errors (%d)*: findings may be missing for these", len(rep.Errors))}
	for i, e := range rep.Errors {
		if i == maxErrorLines {
			lines = append(lines, fmt.Sprintf("…and %d more errors: see the function's result or logs", len(rep.Errors)-maxErrorLines))
			break
		}
		var where []string
		if e.Region != "" {
			where = append(where, regionText(e.Region))
		}
		if e.ConnectionID != "" {
			where = append(where, code(e.ConnectionID, 80))
		}
		line := "• "
		if len(where) > 0 {
			line += strings.Join(where, " ") + ": "
		}
		line += code(e.Code, 80) + " " + text(e.Message, 300)
		if e.RequestID != "" {
			line += " (request " + code(e.RequestID, 64) + ")"
		}
		lines = append(lines, line)
	}
	return sectionBlocks(strings.Join(lines, "\n"))
}

// overviewBlocks name every connection with a high or critical finding, and
// the first few with lower ones; the rest are counted.
func overviewBlocks(conns []*report.Group) []block {
	if len(conns) == 0 {
		return nil
	}
	lines := []string{"*Connections with findings*"}
	lower, restConns := 0, 0
	var rest []report.Finding
	for _, g := range conns {
		if g.Worst() < report.High {
			lower++
			if lower > maxLowerOverview {
				restConns++
				rest = append(rest, g.Findings...)
				continue
			}
		}
		f := g.Findings[0]
		line := severityEmoji[g.Worst()] + " " + nameText(g, 120)
		if f.ConnectionID != "" && f.ConnectionID != g.Name() {
			line += " " + code(f.ConnectionID, 80)
		}
		if f.Region != "" {
			line += " " + regionText(f.Region)
		}
		line += ": " + severityCounts(g.Findings, ", ")
		lines = append(lines, line)
	}
	if restConns > 0 {
		lines = append(lines, fmt.Sprintf("…and %s with only medium or lower findings (%s)", report.Plural(restConns, "more connection"), severityCounts(rest, ", ")))
	}
	return sectionBlocks(strings.Join(lines, "\n"))
}

// connHeader is the first block of a connection's details.
func connHeader(g *report.Group, continued bool) string {
	f := g.Findings[0]
	s := severityEmoji[g.Worst()] + " " + nameText(g, 200)
	if f.ConnectionID != "" {
		s += "  " + code(f.ConnectionID, 80)
	}
	if continued {
		return s + " (continued)"
	}
	var place []string
	if f.Region != "" {
		place = append(place, "region "+regionText(f.Region))
	}
	if f.VPNGatewayID != "" {
		place = append(place, "gateway "+code(f.VPNGatewayID, 80))
	}
	if f.AccountID != "" {
		place = append(place, "account "+code(f.AccountID, 64))
	}
	if linkable(f.Region) {
		place = append(place, "<"+ConsoleURL(f.Region)+"|open in the VPC console>")
	}
	if len(place) > 0 {
		s += "\n" + strings.Join(place, " · ")
	}
	return s
}

// findingText is one finding: severity and title, what is wrong, the fix.
func findingText(f report.Finding) string {
	title := f.Title
	if title == "" {
		title = f.Rule
	}
	s := "*" + capitalize(f.Severity.String()) + " · " + text(title, 150) + "*"
	if f.TunnelID != "" {
		s += " on tunnel " + code(f.TunnelID, 80)
	}
	if f.Rule != "" {
		s += "  " + code(f.Rule, 64)
	}
	if f.Message != "" {
		s += "\n" + text(f.Message, 800)
	}
	if f.ExceptionExpired != "" {
		s += "\n:hourglass: The exception for this rule expired on " + text(f.ExceptionExpired, 32) + "."
	}
	if f.Remediation != "" {
		s += "\n_Fix:_ " + text(f.Remediation, 1000)
	}
	return s
}

type omission struct {
	findings []report.Finding
	conns    map[*report.Group]bool
}

func (o omission) text() string {
	return fmt.Sprintf("*Not shown in detail:* %d more %s (%s) on %s. Every connection with a high or critical finding is named above; run `vpncheck check` for the full report.",
		len(o.findings), report.PluralWord(len(o.findings), "finding"), severityCounts(o.findings, ", "), report.Plural(len(o.conns), "connection"))
}

// fallbackText is the notification text. Slack treats it as mrkdwn
// without the verbatim switch, so it holds only our words, counts, and
// cloud values that cannot link or mention (safeToken, region ids).
func fallbackText(rep *report.Report, account string) string {
	s := rep.Summary
	var b strings.Builder
	switch {
	case len(s.RegionsScan) == 0 && len(s.RegionsFailed) > 0:
		b.WriteString("VPN check failed: no region could be scanned")
	case len(rep.Findings) == 0:
		b.WriteString("VPN check: no findings")
	default:
		fmt.Fprintf(&b, "VPN check: %s on %s", severityCounts(rep.Findings, ", "), report.Plural(len(report.ByConnection(rep.Findings)), "connection"))
	}
	if safeToken(account) {
		b.WriteString(", account " + account)
	}
	if r := plainRegions(s.RegionsScan); r != "" {
		b.WriteString(", " + r)
	}
	if n := len(s.RegionsFailed); n > 0 {
		fmt.Fprintf(&b, "; not scanned: %s", plainRegions(s.RegionsFailed))
	}
	return truncRunes(b.String(), fallbackBudget)
}

// plainRegions lists region ids for the fallback text; anything that does
// not look like a region id is only counted.
func plainRegions(rs []string) string {
	const show = 20
	var out []string
	other := 0
	for _, r := range rs {
		switch {
		case !linkable(r):
			other++
		case len(out) < show:
			out = append(out, r)
		default:
			other++
		}
	}
	if other > 0 {
		out = append(out, fmt.Sprintf("%d more", other))
	}
	return strings.Join(out, ", ")
}

// nameText shows a connection's name (else its id) as code: a name is
// free text that must not format, link or forge anything.
func nameText(g *report.Group, max int) string {
	if g.ConnectionName == "" && g.ConnectionID == "" {
		return "_(unnamed connection)_"
	}
	if c := code(g.Name(), max); c != "" {
		return c
	}
	return "_(blank name)_"
}

func accountOf(rep *report.Report, meta Meta) string {
	if meta.AccountID != "" {
		return meta.AccountID
	}
	return rep.AccountID
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
