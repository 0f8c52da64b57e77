// Package notify turns a vpncheck report into Slack messages (Render, a pure
// function) and delivers them (Notifier, a thin adapter over slack-go).
package notify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/vpncheck/vpncheck/checker"
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
	// sectionBudget leaves room under MaxSectionText for the packing slack.
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
	// AccountID is the account checked, when known; else it is taken from
	// the findings when they all name the same one.
	AccountID string
}

// Message is one Slack message: the plain-text fallback shown in
// notifications, and its blocks.
type Message struct {
	Text   string
	Blocks []slack.Block
}

// Kind names what a run posted, for duplicate protection.
type Kind string

// The kinds of message sets.
const (
	KindReport   Kind = "report"
	KindFailure  Kind = "failure"
	KindAllClear Kind = "all-clear"
)

var severityEmoji = map[checker.Severity]string{
	checker.Critical: ":rotating_light:",
	checker.High:     ":red_circle:",
	checker.Medium:   ":large_orange_circle:",
	checker.Low:      ":large_yellow_circle:",
	checker.Info:     ":white_circle:",
}

// Render builds the messages for a report, in posting order. It returns
// nothing for a report without findings and without errors (see
// RenderAllClear). The first message is the summary; with Thread the others
// belong in its thread.
func Render(rep *checker.Report, meta Meta, style Style) []Message {
	if len(rep.Findings) == 0 && len(rep.Errors) == 0 && len(rep.Summary.RegionsFailed) == 0 {
		return nil
	}
	conns := groupByConnection(rep.Findings)
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
func RenderAllClear(rep *checker.Report, meta Meta) []Message {
	account := accountOf(rep, meta)
	p := newPacker()
	p.add(headerBlock(":white_check_mark: VPN check: all clear"))
	for _, b := range sectionBlocks(scopeText(rep, account)) {
		p.add(b)
	}
	text := fmt.Sprintf("VPN check: all clear, %s checked", plural(rep.Summary.Connections, "connection"))
	if r := regionList(rep.Summary.RegionsScan); r != "" {
		text += " in " + r
	}
	return p.finish(meta.RunKey, text)
}

// RenderFailure builds the message for a check that could not run (policies
// did not load, no region scanned, anything else): a one-line reason.
func RenderFailure(reason string, meta Meta) []Message {
	reason = oneLine(reason)
	if reason == "" {
		reason = "no reason given"
	}
	p := newPacker()
	p.add(headerBlock(":x: VPN check failed"))
	text := "*The check could not complete:* " + escapeTrunc(reason, 1000) +
		"\nNo connection was judged in this run; the next scheduled run will try again. Check the function's logs."
	if meta.AccountID != "" {
		text = "*Account* " + escapeTrunc(meta.AccountID, 64) + "\n" + text
	}
	p.add(sectionBlock(text))
	return p.finish(meta.RunKey, "VPN check failed: "+truncRunes(reason, 300))
}

func reportTitle(rep *checker.Report) string {
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
		title += fmt.Sprintf(", %s not scanned", plural(n, "region"))
	}
	return title
}

// severityCounts lists the counts by severity, worst first.
func severityCounts(fs []checker.Finding, sep string) string {
	var counts [checker.Critical + 1]int
	for _, f := range fs {
		if f.Severity >= checker.Info && f.Severity <= checker.Critical {
			counts[f.Severity]++
		}
	}
	var parts []string
	for s := checker.Critical; s >= checker.Info; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	return strings.Join(parts, sep)
}

func scopeText(rep *checker.Report, account string) string {
	s := rep.Summary
	var lines []string
	if account != "" {
		lines = append(lines, "*Account* "+escapeTrunc(account, 64))
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
		lines = append(lines, ":warning: *Not scanned* "+escapeTrunc(regionList(s.RegionsFailed), 1000))
	}
	covered := fmt.Sprintf("*Covered* %s, %s", plural(s.Connections, "connection"), plural(s.Tunnels, "tunnel"))
	if s.Suppressed > 0 {
		covered += fmt.Sprintf(" · %d suppressed by exceptions", s.Suppressed)
	}
	if s.Incomplete > 0 {
		covered += fmt.Sprintf(" · %d with configuration the API did not return", s.Incomplete)
	}
	lines = append(lines, covered)
	return strings.Join(lines, "\n")
}

func regionLink(region string) string {
	if region == "" || region == checker.UnknownRegion || strings.ContainsAny(region, "<>|&/ ") {
		return escapeTrunc(region, 64)
	}
	return "<" + ConsoleURL(region) + "|" + region + ">"
}

func regionList(rs []string) string {
	const show = 20
	if len(rs) > show {
		return strings.Join(rs[:show], ", ") + fmt.Sprintf(" and %d more", len(rs)-show)
	}
	return strings.Join(rs, ", ")
}

func errorBlocks(rep *checker.Report) []block {
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
			where = append(where, escapeTrunc(e.Region, 64))
		}
		if e.ConnectionID != "" {
			where = append(where, code(e.ConnectionID, 80))
		}
		line := "• "
		if len(where) > 0 {
			line += strings.Join(where, " ") + ": "
		}
		line += code(e.Code, 80) + " " + escapeTrunc(oneLine(e.Message), 300)
		if e.RequestID != "" {
			line += " (request " + escapeTrunc(e.RequestID, 64) + ")"
		}
		lines = append(lines, line)
	}
	return sectionBlocks(strings.Join(lines, "\n"))
}

// connGroup is one connection's findings, worst first.
type connGroup struct {
	key      string
	findings []checker.Finding
	worst    checker.Severity
}

func groupByConnection(fs []checker.Finding) []*connGroup {
	byKey := map[string]*connGroup{}
	var out []*connGroup
	for _, f := range fs {
		k := f.Region + "\x00" + f.ConnectionID
		if f.ConnectionID == "" {
			k += "\x00" + f.ConnectionName
		}
		g := byKey[k]
		if g == nil {
			g = &connGroup{key: k, worst: f.Severity}
			byKey[k] = g
			out = append(out, g)
		}
		g.findings = append(g.findings, f)
		g.worst = max(g.worst, f.Severity)
	}
	for _, g := range out {
		slices.SortStableFunc(g.findings, func(a, b checker.Finding) int { return int(b.Severity) - int(a.Severity) })
	}
	// Worst first; among equals, more findings first; then by place.
	slices.SortStableFunc(out, func(a, b *connGroup) int {
		if a.worst != b.worst {
			return int(b.worst) - int(a.worst)
		}
		if len(a.findings) != len(b.findings) {
			return len(b.findings) - len(a.findings)
		}
		return strings.Compare(a.key, b.key)
	})
	return out
}

func (g *connGroup) name() string {
	f := g.findings[0]
	switch {
	case f.ConnectionName != "":
		return f.ConnectionName
	case f.ConnectionID != "":
		return f.ConnectionID
	}
	return "(unnamed connection)"
}

// overviewBlocks name every connection with a high or critical finding, and
// the first few with lower ones; the rest are counted.
func overviewBlocks(conns []*connGroup) []block {
	if len(conns) == 0 {
		return nil
	}
	lines := []string{"*Connections with findings*"}
	lower, restConns := 0, 0
	var rest []checker.Finding
	for _, g := range conns {
		if g.worst < checker.High {
			lower++
			if lower > maxLowerOverview {
				restConns++
				rest = append(rest, g.findings...)
				continue
			}
		}
		f := g.findings[0]
		line := severityEmoji[g.worst] + " *" + escapeTrunc(g.name(), 120) + "*"
		if f.ConnectionID != "" && f.ConnectionID != g.name() {
			line += " " + code(f.ConnectionID, 80)
		}
		if f.Region != "" {
			line += " " + escapeTrunc(f.Region, 40)
		}
		line += ": " + severityCounts(g.findings, ", ")
		lines = append(lines, line)
	}
	if restConns > 0 {
		lines = append(lines, fmt.Sprintf("…and %s with only medium or lower findings (%s)", plural(restConns, "more connection"), severityCounts(rest, ", ")))
	}
	return sectionBlocks(strings.Join(lines, "\n"))
}

// connHeader is the first block of a connection's details.
func connHeader(g *connGroup, continued bool) string {
	f := g.findings[0]
	s := severityEmoji[g.worst] + " *" + escapeTrunc(g.name(), 200) + "*"
	if f.ConnectionID != "" {
		s += "  " + code(f.ConnectionID, 80)
	}
	if continued {
		return s + " (continued)"
	}
	var place []string
	if f.Region != "" {
		place = append(place, "region "+escapeTrunc(f.Region, 64))
	}
	if f.VPNGatewayID != "" {
		place = append(place, "gateway "+code(f.VPNGatewayID, 80))
	}
	if f.AccountID != "" {
		place = append(place, "account "+escapeTrunc(f.AccountID, 64))
	}
	if f.Region != "" && f.Region != checker.UnknownRegion && !strings.ContainsAny(f.Region, "<>|&/ ") {
		place = append(place, "<"+ConsoleURL(f.Region)+"|open in the VPC console>")
	}
	if len(place) > 0 {
		s += "\n" + strings.Join(place, " · ")
	}
	return s
}

// findingText is one finding: severity and title, what is wrong, the fix.
func findingText(f checker.Finding) string {
	title := f.Title
	if title == "" {
		title = f.Rule
	}
	s := "*" + capitalize(f.Severity.String()) + " · " + escapeTrunc(oneLine(title), 150) + "*"
	if f.TunnelID != "" {
		s += " on tunnel " + code(f.TunnelID, 80)
	}
	if f.Rule != "" {
		s += "  " + code(f.Rule, 64)
	}
	if f.Message != "" {
		s += "\n" + escapeTrunc(oneLine(f.Message), 800)
	}
	if f.ExceptionExpired != "" {
		s += "\n:hourglass: The exception for this rule expired on " + escapeTrunc(f.ExceptionExpired, 32) + "."
	}
	if f.Remediation != "" {
		s += "\n_Fix:_ " + escapeTrunc(oneLine(f.Remediation), 1000)
	}
	return s
}

type omission struct {
	findings []checker.Finding
	conns    map[string]bool
}

func (o omission) text() string {
	return fmt.Sprintf("*Not shown in detail:* %d more %s (%s) on %s. Every connection with a high or critical finding is named above; run `vpncheck check` for the full report.",
		len(o.findings), pluralWord(len(o.findings), "finding"), severityCounts(o.findings, ", "), plural(len(o.conns), "connection"))
}

func fallbackText(rep *checker.Report, account string) string {
	s := rep.Summary
	var b strings.Builder
	switch {
	case len(s.RegionsScan) == 0 && len(s.RegionsFailed) > 0:
		b.WriteString("VPN check failed: no region could be scanned")
	case len(rep.Findings) == 0:
		b.WriteString("VPN check: no findings")
	default:
		fmt.Fprintf(&b, "VPN check: %s on %s", severityCounts(rep.Findings, ", "), plural(len(groupByConnection(rep.Findings)), "connection"))
	}
	if account != "" {
		b.WriteString(", account " + account)
	}
	if r := regionList(s.RegionsScan); r != "" {
		b.WriteString(", " + r)
	}
	if n := len(s.RegionsFailed); n > 0 {
		fmt.Fprintf(&b, "; not scanned: %s", regionList(s.RegionsFailed))
	}
	return truncRunes(b.String(), fallbackBudget)
}

func accountOf(rep *checker.Report, meta Meta) string {
	if meta.AccountID != "" {
		return meta.AccountID
	}
	acct := ""
	for i, f := range rep.Findings {
		if i == 0 {
			acct = f.AccountID
		} else if f.AccountID != acct {
			return ""
		}
	}
	return acct
}

func plural(n int, noun string) string { return fmt.Sprintf("%d %s", n, pluralWord(n, noun)) }

func pluralWord(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
