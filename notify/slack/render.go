// Package slack turns a vpncheck report into Slack messages (Render, a pure
// function) and delivers them (Notifier, a thin adapter over slack-go).
package slack

import (
	"fmt"
	"slices"
	"strings"
	"time"

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

	// maxTitle is the characters of a finding's title in its line: as
	// long as a header holds, so a title reads the same in either.
	maxTitle = MaxHeaderText

	// DefaultMaxMessages is the message budget of one run when none is set
	// (VPNCHECK_SLACK_MAX_MESSAGES): every message counts, the summary, its
	// details, the digest and the complete report's file.
	DefaultMaxMessages = 5

	// messageBudget is the block text one rendered message may hold: well
	// under MaxMessageText, so a message never meets msg_too_long.
	messageBudget = 8000
	// sectionBudget leaves room under MaxSectionText for the packing slackgo.
	sectionBudget = 2900
	// maxLowerOverview is how many connections with only medium or lower
	// findings the overview names before it counts the rest.
	maxLowerOverview = 15
	// maxErrorLines, maxChangeLines: how many scan errors, and fixed,
	// re-rated or newly excepted findings, the summary lists at most.
	maxErrorLines  = 20
	maxChangeLines = 15
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
	// PolicyRevision names the policies that judged the run (a team
	// bundle's revision, or the built-in set's), shown in the footer (set
	// from the report).
	PolicyRevision string
	// AccountID is the account checked, when known; else the report's.
	AccountID string
	// Now is when the run happened, for the ages of open findings; zero
	// leaves ages out.
	Now time.Time
	// MaxMessages is the run's message budget; 0 means DefaultMaxMessages.
	MaxMessages int
	// Upload says the complete report can go into the summary's thread as a
	// file (a bot token). When the budget cannot hold everything, the file
	// takes the budget's last place.
	Upload bool
}

// Message is one Slack message: the plain-text fallback shown in
// notifications, and its blocks.
type Message struct {
	Text   string
	Blocks []slackgo.Block
}

// File is the complete report, for the summary's thread.
type File struct {
	Name, Title string
	Content     []byte
}

// Rendering is what one report becomes: messages in posting order and,
// when they could not hold everything and an upload is possible, the
// complete report as a file to upload after them.
type Rendering struct {
	Messages []Message
	File     *File
}

// msgKind names what a run posted, for duplicate protection.
type msgKind string

// The kinds of message sets.
const (
	kindReport   msgKind = "report"
	kindFailure  msgKind = "failure"
	kindAllClear msgKind = "all-clear"
)

var severityEmoji = map[report.Severity]string{
	report.Critical: ":rotating_light:",
	report.High:     ":red_circle:",
	report.Medium:   ":large_orange_circle:",
	report.Low:      ":large_yellow_circle:",
	report.Info:     ":white_circle:",
}

// isNew reports whether f is news: new or reopened, or any finding of a
// run without a state store.
func isNew(rep *report.Report, f *report.Finding) bool {
	return !rep.Lifecycle.Stateful || f.Status != report.StatusOpen
}

func newFindings(rep *report.Report) []report.Finding {
	if !rep.Lifecycle.Stateful {
		return rep.Findings
	}
	var out []report.Finding
	for i := range rep.Findings {
		if isNew(rep, &rep.Findings[i]) {
			out = append(out, rep.Findings[i])
		}
	}
	return out
}

// HasNews reports whether a report has anything to tell: new findings,
// fixed, newly excepted or re-rated ones, scan errors, or a digest due.
// Without a state store every finding is news.
func HasNews(rep *report.Report) bool {
	return rep.News() || len(newFindings(rep)) > 0 || changeWorthSaying(rep)
}

// Render builds the messages for a report, in posting order, within the
// message budget. It returns nothing when the report has no news (see
// HasNews and renderQuiet). The first message is the summary; with Thread
// the others belong in its thread. What the budget left out is said in the
// summary, which points to the complete report: the file (Meta.Upload)
// or `vpncheck check --format json`.
func Render(rep *report.Report, meta Meta, style Style) Rendering {
	if !HasNews(rep) {
		return Rendering{}
	}
	meta.PolicyRevision = rep.PolicyRevision
	budget := meta.MaxMessages
	if budget <= 0 {
		budget = DefaultMaxMessages
	}
	msgs, left := render(rep, meta, style, budget, false)
	if left.any() && meta.Upload && budget >= 2 {
		if f, err := fullReport(rep, meta); err == nil {
			msgs, _ = render(rep, meta, style, budget-1, true)
			return Rendering{Messages: msgs, File: f}
		}
	}
	return Rendering{Messages: msgs}
}

func render(rep *report.Report, meta Meta, style Style, budget int, file bool) ([]Message, leftOut) {
	account := accountOf(rep, meta)
	fresh := newFindings(rep)
	groups, own := groupProblems(fresh) // problems on many connections, told once (group.go)
	conns := report.ByConnection(own)
	var left leftOut
	p := newPacker(budget)

	p.put(headerBlock(reportTitle(rep, fresh)))
	for _, b := range sectionBlocks(scopeText(rep, account)) {
		p.addHere(b)
	}
	for _, b := range changeBlocks(rep) {
		p.addHere(b)
	}
	summaryList(p, &left, "scan errors", errorTitle(rep), errorLines(rep.NewErrors()), maxErrorLines)
	failureBlocks(p, &left, rep, meta.Now)
	lifecycleBlocks(p, &left, rep, meta.Now)
	problemSummary(p, &left, groups)
	if len(conns) > 0 {
		p.addHere(dividerBlock())
		title := "*Connections with findings*"
		if rep.Lifecycle.Stateful {
			title = "*Connections with new findings*"
		}
		lines, counts := overviewLines(conns)
		shown := p.list(title, lines, func(n int) string {
			c := 0
			for _, k := range counts[len(counts)-n:] {
				c += k
			}
			return fmt.Sprintf("…and %s: see the complete report", report.Plural(c, "more connection"))
		}, false)
		for _, k := range counts[shown:] {
			left.conns += k
		}
	}
	digest := rep.Lifecycle.Digest && len(rep.Findings) > 0
	switch {
	case style == Thread && (len(conns) > 0 || len(groups) > 0):
		hint := "Details for each connection are in the thread :thread:"
		if rep.Lifecycle.Stateful {
			hint = "Details of each new finding are in the thread :thread:"
		}
		p.addHere(contextBlock(hint))
	case style == Thread && digest:
		p.addHere(contextBlock("The digest of everything open is in the thread :thread:"))
	}
	p.markNote()
	if style == Thread {
		p.breakMessage()
	}

	if digest {
		// New findings in full take at most half of what is left; the
		// digest lists everything open, the new ones too.
		room := budget - len(p.msgs)
		p.max = budget - room/2
	}
	var unlisted int
	left.details, unlisted = p.groupDetails(groups)
	left.conns += unlisted
	left.details = append(left.details, p.details(conns, meta.Now)...)
	p.max = budget
	if digest {
		left.digest = digestBlocks(p, rep, meta.Now)
	}

	var note *block
	if left.any() {
		b := sectionBlock(left.note(budget, file))
		note = &b
	}
	return p.finish(meta, fallbackText(rep, fresh, account), note), left
}

// summaryList adds one list of the summary, counting what did not fit.
func summaryList(p *packer, left *leftOut, what, title string, lines []string, max int) {
	if len(lines) == 0 {
		return
	}
	extra := 0
	if len(lines) > max {
		extra, lines = len(lines)-max, lines[:max]
	}
	shown := p.list(title, lines, func(n int) string {
		return fmt.Sprintf("…and %d more %s: see the complete report", n+extra, what)
	}, false)
	if n := len(lines) - shown + extra; n > 0 {
		left.lists = append(left.lists, fmt.Sprintf("%d %s", n, what))
	}
}

// leftOut is what the message budget (or Slack's limits) kept out of the
// messages.
type leftOut struct {
	details []report.Finding // new findings not shown in detail
	conns   int              // connections with new findings the overview does not name
	lists   []string         // items of the summary's lists not listed ("3 fixed findings")
	digest  int              // open findings the digest does not list
}

func (l leftOut) any() bool {
	return len(l.details) > 0 || l.conns > 0 || len(l.lists) > 0 || l.digest > 0
}

// note is the summary's word on what was left out, and where the rest is.
func (l leftOut) note(budget int, file bool) string {
	var parts []string
	if n := len(l.details); n > 0 {
		parts = append(parts, fmt.Sprintf("details of %s (%s) on %s", report.Plural(n, "new finding"),
			report.CountOf(l.details).Join(", "), report.Plural(len(report.ByConnection(l.details)), "connection")))
	}
	if l.conns > 0 {
		parts = append(parts, report.Plural(l.conns, "connection")+" in the list of connections")
	}
	parts = append(parts, l.lists...)
	if l.digest > 0 {
		parts = append(parts, fmt.Sprintf("%s of the digest", report.Plural(l.digest, "open finding")))
	}
	s := fmt.Sprintf(":page_facing_up: *Not everything fits in %s.* Left out: %s.", report.Plural(budget, "message"), strings.Join(parts, "; "))
	if file {
		return s + " The complete report is attached in this thread as a file."
	}
	return s + " For the complete report run `vpncheck check --format json`, or read this run's result in the function's logs."
}

// renderQuiet builds the one message of a run with no news, for a channel
// that asked for one every run (AllClear): "all clear" when nothing is
// open, else what stays open.
func renderQuiet(rep *report.Report, meta Meta) []Message {
	if len(rep.Findings) == 0 {
		return renderAllClear(rep, meta)
	}
	account := accountOf(rep, meta)
	p := newPacker(1)
	p.put(headerBlock(":white_circle: VPN check: nothing new"))
	for _, b := range sectionBlocks(scopeText(rep, account)) {
		p.addHere(b)
	}
	left := leftOut{}
	lifecycleBlocks(p, &left, rep, meta.Now)
	fallback := fmt.Sprintf("VPN check: nothing new, %s open", report.Plural(len(rep.Findings), "finding"))
	return p.finish(meta, fallback, nil)
}

// renderAllClear builds the short message for a report without findings or
// errors: what was covered.
func renderAllClear(rep *report.Report, meta Meta) []Message {
	account := accountOf(rep, meta)
	p := newPacker(1)
	p.put(headerBlock(":white_check_mark: VPN check: all clear"))
	for _, b := range sectionBlocks(scopeText(rep, account)) {
		p.addHere(b)
	}
	fallback := fmt.Sprintf("VPN check: all clear, %s checked", report.Plural(rep.Summary.Connections, "connection"))
	if r := plainRegions(rep.Summary.RegionsScan); r == report.UnknownRegionText {
		fallback += ", " + r
	} else if r != "" {
		fallback += " in " + r
	}
	return p.finish(meta, fallback, nil)
}

// renderFailure builds the message for a check that could not run (policies
// did not load, no region scanned, anything else): a one-line reason.
func renderFailure(reason string, meta Meta) []Message {
	why := text(reason, 1000)
	if why == "" {
		why = "no reason given"
	}
	p := newPacker(1)
	p.put(headerBlock(":x: VPN check failed"))
	body := "*The check could not complete:* " + why +
		"\nNo connection was judged in this run; the next scheduled run will try again. Check the function's logs."
	if meta.AccountID != "" {
		body = "*Account* " + code(meta.AccountID, 64) + "\n" + body
	}
	p.addHere(sectionBlock(body))
	return p.finish(meta, "VPN check failed: "+truncRunes(why, 300), nil)
}

func reportTitle(rep *report.Report, fresh []report.Finding) string {
	s := rep.Summary
	if len(s.RegionsScan) == 0 && len(s.RegionsFailed) > 0 {
		return ":x: VPN check failed: no region could be scanned"
	}
	l := &rep.Lifecycle
	var parts []string
	emoji := ":white_circle:"
	if len(fresh) > 0 {
		worst, _ := report.CountOf(fresh).Worst()
		emoji = severityEmoji[worst]
		counts := severityCounts(fresh, " · ")
		if l.Stateful {
			counts = fmt.Sprintf("%d new: %s", len(fresh), severityCounts(fresh, ", "))
		}
		parts = append(parts, counts)
	}
	if n := len(rep.Resolved); n > 0 {
		if len(parts) == 0 {
			emoji = ":white_check_mark:"
		}
		parts = append(parts, fmt.Sprintf("%d fixed", n))
	}
	if n := len(l.SeverityChanged); n > 0 {
		parts = append(parts, fmt.Sprintf("%d re-rated", n))
	}
	if n := len(l.NewlySuppressed); n > 0 {
		parts = append(parts, fmt.Sprintf("%d now excepted", n))
	}
	if n := len(l.Recovered); n > 0 {
		if len(parts) == 0 {
			emoji = ":white_check_mark:"
		}
		parts = append(parts, recoveredWords(l.Recovered))
	}
	trouble := troubleWords(rep)
	title := "VPN check: "
	switch {
	case l.Digest && len(rep.Findings) > 0:
		if len(parts) == 0 {
			emoji = ":clipboard:"
		}
		title = "VPN check digest: " + report.Plural(len(rep.Findings), "open finding")
		if len(parts) > 0 {
			title += " · "
		}
	case len(parts) == 0 && len(trouble) > 0:
		emoji = ":warning:" // the trouble is the news: said below
	case len(parts) == 0 && len(rep.NewErrors()) > 0:
		emoji = ":warning:"
		parts = append(parts, report.Plural(len(rep.NewErrors()), "scan error"))
	case len(parts) == 0 && len(rep.Findings) == 0:
		parts = append(parts, "no findings")
	case len(parts) == 0:
		parts = append(parts, "nothing new")
	}
	title = emoji + " " + title + strings.Join(parts, " · ")
	if len(trouble) > 0 {
		if !strings.HasSuffix(title, ": ") {
			title += ", "
		}
		title += strings.Join(trouble, ", ")
	}
	return title
}

// troubleWords says how the scan fell short, for a title: regions not
// scanned and regions read only partially.
func troubleWords(rep *report.Report) []string {
	var out []string
	if n := len(rep.Summary.RegionsFailed); n > 0 {
		out = append(out, fmt.Sprintf("%s not scanned", report.Plural(n, "region")))
	}
	if n := len(rep.PartialRegions()); n > 0 {
		out = append(out, fmt.Sprintf("partial data from %s", report.Plural(n, "region")))
	}
	return out
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
		partial := rep.PartialRegions()
		for i, r := range s.RegionsScan {
			if i == 20 {
				links = append(links, fmt.Sprintf("and %d more", len(s.RegionsScan)-20))
				break
			}
			link := regionLink(r)
			if slices.Contains(partial, r) {
				link += " _(partial)_"
			}
			links = append(links, link)
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
	if n := len(s.DisabledRules); n > 0 {
		ids := make([]string, 0, min(n, 10))
		for _, id := range s.DisabledRules[:min(n, 10)] {
			ids = append(ids, code(id, 64))
		}
		covered += fmt.Sprintf(" · %s switched off by the policy data: %s", report.Plural(n, "rule"), strings.Join(ids, ", "))
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
	if region == report.UnknownRegion {
		return "_" + report.UnknownRegionText + "_"
	}
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

func errorTitle(rep *report.Report) string {
	return fmt.Sprintf(":warning: *Scan errors (%d)*: findings may be missing for these", len(rep.NewErrors()))
}

func errorLines(errs []report.ErrorEntry) []string {
	lines := make([]string, 0, len(errs))
	for _, e := range errs {
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
	return lines
}

// overviewLines name each connection with new findings: every one with a
// high or critical finding, the first few with lower ones, and a count of
// the rest. counts[i] is how many connections line i stands for.
func overviewLines(conns []*report.Group) (lines []string, counts []int) {
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
		lines = append(lines, severityEmoji[g.Worst()]+" "+place(g, 120)+": "+severityCounts(g.Findings, ", "))
		counts = append(counts, 1)
	}
	if restConns > 0 {
		lines = append(lines, fmt.Sprintf("…and %s with only medium or lower findings (%s)",
			report.Plural(restConns, "more connection"), severityCounts(rest, ", ")))
		counts = append(counts, restConns)
	}
	return lines, counts
}

// place names a connection on one line: name, id (when the name is not
// the id) and region.
func place(g *report.Group, max int) string {
	s := nameText(g, max)
	if g.ConnectionID != "" && g.ConnectionID != g.Name() {
		s += " " + code(g.ConnectionID, 80)
	}
	if g.Region != "" {
		s += " " + regionText(g.Region)
	}
	return s
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
	var where []string
	if f.Region == report.UnknownRegion {
		where = append(where, report.UnknownRegionText)
	} else if f.Region != "" {
		where = append(where, "region "+regionText(f.Region))
	}
	if f.VPNGatewayID != "" {
		where = append(where, "gateway "+code(f.VPNGatewayID, 80))
	}
	if f.AccountID != "" {
		where = append(where, "account "+code(f.AccountID, 64))
	}
	if linkable(f.Region) {
		where = append(where, "<"+ConsoleURL(f.Region)+"|open in the VPC console>")
	}
	if len(where) > 0 {
		s += "\n" + strings.Join(where, " · ")
	}
	return s
}

// findingText is one finding: severity and title, what is wrong, the fix.
func findingText(f report.Finding, now time.Time) string {
	title := f.Title
	if title == "" {
		title = f.Rule
	}
	s := "*" + capitalize(f.Severity.String()) + " · " + text(title, maxTitle) + "*"
	if f.TunnelID != "" {
		s += " on tunnel " + code(f.TunnelID, 80)
	}
	if f.Rule != "" {
		s += "  " + code(f.Rule, 64)
	}
	if f.Reopened && !f.FirstSeen.IsZero() {
		s += "  :repeat: reopened, first seen " + f.FirstSeen.UTC().Format(time.DateOnly)
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
	s += findingFix(&f) // the command (group.go)
	return s
}

// fallbackText is the notification text. Slack treats it as mrkdwn
// without the verbatim switch, so it holds only our words, counts, and
// cloud values that cannot link or mention (safeToken, region ids).
func fallbackText(rep *report.Report, fresh []report.Finding, account string) string {
	s := rep.Summary
	l := &rep.Lifecycle
	var b strings.Builder
	switch {
	case len(s.RegionsScan) == 0 && len(s.RegionsFailed) > 0:
		b.WriteString("VPN check failed: no region could be scanned")
	case len(fresh) > 0 && l.Stateful:
		fmt.Fprintf(&b, "VPN check: %d new (%s) on %s", len(fresh), severityCounts(fresh, ", "), report.Plural(len(report.ByConnection(fresh)), "connection"))
	case len(fresh) > 0:
		fmt.Fprintf(&b, "VPN check: %s on %s", severityCounts(fresh, ", "), report.Plural(len(report.ByConnection(fresh)), "connection"))
	case l.Digest && len(rep.Findings) > 0:
		fmt.Fprintf(&b, "VPN check digest: %s open", report.Plural(len(rep.Findings), "finding"))
	case len(rep.Findings) == 0 && len(rep.Resolved) == 0 && len(l.Recovered) == 0:
		b.WriteString("VPN check: no findings")
	case len(rep.Resolved) == 0 && len(l.Recovered) == 0 && len(troubleWords(rep)) > 0:
		b.WriteString("VPN check: " + strings.Join(troubleWords(rep), ", "))
	case len(rep.Resolved) == 0 && len(l.Recovered) == 0 && len(rep.NewErrors()) > 0:
		b.WriteString("VPN check: " + report.Plural(len(rep.NewErrors()), "scan error"))
	default:
		b.WriteString("VPN check: nothing new")
	}
	if n := len(rep.Resolved); n > 0 {
		fmt.Fprintf(&b, ", %d fixed", n)
	}
	if n := len(l.SeverityChanged); n > 0 {
		fmt.Fprintf(&b, ", %d re-rated", n)
	}
	if n := len(l.NewlySuppressed); n > 0 {
		fmt.Fprintf(&b, ", %d now excepted", n)
	}
	if len(l.Recovered) > 0 {
		b.WriteString(", " + recoveredWords(l.Recovered))
	}
	if safeToken(account) {
		b.WriteString(", account " + account)
	}
	if rep.Change != nil {
		return truncRunes(changeFallback(rep.Change)+"; "+b.String(), fallbackBudget)
	}
	if r := plainRegions(s.RegionsScan); r != "" {
		b.WriteString(", " + r)
	}
	if n := len(s.RegionsFailed); n > 0 {
		fmt.Fprintf(&b, "; not scanned: %s", plainRegions(s.RegionsFailed))
	}
	if p := rep.PartialRegions(); len(p) > 0 {
		fmt.Fprintf(&b, "; partial data: %s", plainRegions(p))
	}
	if r := recoveredRegions(l.Recovered); len(r) > 0 {
		fmt.Fprintf(&b, "; scanned again: %s", plainRegions(r))
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
		case r == report.UnknownRegion:
			out = append(out, report.UnknownRegionText)
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
