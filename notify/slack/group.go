package slack

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/report"
)

// A problem is one rule firing with one value (ike-weak-encryption, des).
// When a problem fires on many connections (a template spread over a
// fleet), the messages lead with the problem, give its fix once and name
// the connections in a compact list; per-connection detail stays for the
// findings that are a connection's own.

// minFleet is how many connections a problem must reach to be told as one
// problem rather than per connection.
const minFleet = 3

// maxCLI bounds a command shown in a message; a longer one is left to
// vpncheck fix, since a cut command must never be pasted.
const maxCLI = 1800

// idsPerLine is how many connections one line of a compact list holds.
const idsPerLine = 6

// problem is one rule and value, and its findings.
type problem struct {
	rule, value, title string
	worst              report.Severity
	findings           []report.Finding
}

// problemGroup is the problems that fire on exactly the same connections.
type problemGroup struct {
	problems []*problem
	conns    []connRef // sorted by account, region, id
	worst    report.Severity
	findings int
}

// connRef is one connection of a group.
type connRef struct {
	account, region, id, name string
	fixer                     report.Fixer // makes its combined fix, when known
	example                   bool         // its combined fix is exactly the group's
}

func connKey(f *report.Finding) string {
	return f.AccountID + "\x00" + f.Region + "\x00" + f.ConnectionID
}

// groupProblems splits findings into groups of problems shared by at
// least minFleet connections, worst first, and the findings that are
// their connections' own.
func groupProblems(fs []report.Finding) (groups []*problemGroup, own []report.Finding) {
	order, conns := problemsOf(fs)
	bySet := map[string]*problemGroup{}
	var setOrder []string
	for _, p := range order {
		if len(conns[p]) < minFleet {
			own = append(own, p.findings...)
			continue
		}
		keys := make([]string, 0, len(conns[p]))
		for k := range conns[p] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		set := strings.Join(keys, "\x01")
		g := bySet[set]
		if g == nil {
			g = &problemGroup{}
			bySet[set] = g
			setOrder = append(setOrder, set)
		}
		g.problems = append(g.problems, p)
		g.worst = max(g.worst, p.worst)
		g.findings += len(p.findings)
	}
	for _, set := range setOrder {
		g := bySet[set]
		g.gatherConns()
		slices.SortFunc(g.problems, func(a, b *problem) int {
			return cmp.Or(cmp.Compare(b.worst, a.worst), cmp.Compare(a.rule, b.rule), cmp.Compare(a.value, b.value))
		})
		groups = append(groups, g)
	}
	markExamples(groups, order, conns)
	slices.SortStableFunc(groups, func(a, b *problemGroup) int {
		return cmp.Or(cmp.Compare(b.worst, a.worst), cmp.Compare(len(b.conns), len(a.conns)))
	})
	// own keeps the report's order (worst first, then by place).
	report.SortFindings(own)
	return groups, own
}

// problemsOf gathers the findings into problems, in the order they first
// fire, with the connections each fires on (by connKey).
func problemsOf(fs []report.Finding) (order []*problem, conns map[*problem]map[string]bool) {
	byKey := map[string]*problem{}
	conns = map[*problem]map[string]bool{}
	for _, f := range fs {
		k := f.Rule + "\x00" + f.Value
		p := byKey[k]
		if p == nil {
			p = &problem{rule: f.Rule, value: f.Value, title: f.Title}
			byKey[k] = p
			order = append(order, p)
			conns[p] = map[string]bool{}
		}
		p.findings = append(p.findings, f)
		p.worst = max(p.worst, f.Severity)
		conns[p][connKey(&f)] = true
	}
	return order, conns
}

// gatherConns lists the group's connections once each, sorted by account,
// region and id.
func (g *problemGroup) gatherConns() {
	seen := map[string]bool{}
	for _, p := range g.problems {
		for _, f := range p.findings {
			k := connKey(&f)
			if seen[k] {
				continue
			}
			seen[k] = true
			c := connRef{account: f.AccountID, region: f.Region, id: f.ConnectionID, name: f.ConnectionName, fixer: f.Fixer}
			g.conns = append(g.conns, c)
		}
	}
	slices.SortFunc(g.conns, func(a, b connRef) int {
		return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.region, b.region), cmp.Compare(a.id, b.id))
	})
}

// markExamples marks the connections whose combined fix is exactly their
// group's: only when every fixable finding of it belongs to the group.
func markExamples(groups []*problemGroup, order []*problem, conns map[*problem]map[string]bool) {
	// outside counts, per connection, its fixable findings of problems
	// that are not fleet-wide: its combined fix does more than a group's.
	outside := map[string]int{}
	for _, p := range order {
		if len(conns[p]) < minFleet {
			for _, f := range p.findings {
				if f.Fixer != nil {
					outside[connKey(&f)]++
				}
			}
		}
	}
	fixableIn := map[string]int{}                // groups in which a connection has fixable findings
	here := make([]map[string]bool, len(groups)) // per group, its connections with fixable findings in it
	for gi, g := range groups {
		here[gi] = map[string]bool{}
		for _, p := range g.problems {
			for _, f := range p.findings {
				if k := connKey(&f); f.Fixer != nil && !here[gi][k] {
					here[gi][k] = true
					fixableIn[k]++
				}
			}
		}
	}
	for gi, g := range groups {
		for i := range g.conns {
			c := &g.conns[i]
			k := c.account + "\x00" + c.region + "\x00" + c.id
			c.example = c.fixer != nil && here[gi][k] && outside[k] == 0 && fixableIn[k] == 1
		}
	}
}

// name is a problem as one short phrase: `rule` (value).
func (p *problem) name() string {
	s := code(p.rule, 64)
	if p.value != "" {
		s += " (" + text(p.value, 40) + ")"
	}
	return s
}

// regions spells the group's reach: "130 connections in 2 regions".
func (g *problemGroup) reach() string {
	regions := map[string]bool{}
	for _, c := range g.conns {
		regions[c.region] = true
	}
	return report.Plural(len(g.conns), "connection") + " in " + report.Plural(len(regions), "region")
}

// headline leads with the problem: "`ike-weak-encryption` (des) on 130
// connections in 2 regions", or for several problems on the same
// connections, "13 problems on 130 connections in 2 regions: `a` (x), …".
func (g *problemGroup) headline() string {
	emoji := severityEmoji[g.worst]
	if len(g.problems) == 1 {
		return emoji + " " + g.problems[0].name() + " on " + g.reach()
	}
	return g.title() + ": " + g.names()
}

// title is a group of several problems in a few words.
func (g *problemGroup) title() string {
	return fmt.Sprintf("%s *%d problems on %s*", severityEmoji[g.worst], len(g.problems), g.reach())
}

// names lists the group's problems inline.
func (g *problemGroup) names() string {
	names := make([]string, len(g.problems))
	for i, p := range g.problems {
		names[i] = p.name()
	}
	return strings.Join(names, ", ")
}

// problemSummary adds the summary's list of problems shared by many
// connections, one line a group.
func problemSummary(p *packer, left *leftOut, groups []*problemGroup) {
	if len(groups) == 0 {
		return
	}
	p.addHere(dividerBlock())
	lines := make([]string, len(groups))
	for i, g := range groups {
		lines[i] = truncMrkdwn(g.headline(), sectionBudget-200)
	}
	shown := p.list("*Problems on many connections*", lines, func(n int) string {
		return fmt.Sprintf("…and %s: see the complete report", report.Plural(n, "more problem"))
	}, false)
	if n := len(groups) - shown; n > 0 {
		left.lists = append(left.lists, report.Plural(n, "problem")+" on many connections")
	}
}

// groupDetails adds each group: the problems, the fix once, and the
// connections as a compact list. It returns the findings of the groups
// that did not fit, and how many connections the lists left out.
func (p *packer) groupDetails(groups []*problemGroup) (omitted []report.Finding, unlisted int) {
	for gi, g := range groups {
		head := []block{sectionBlock(groupHead(g))}
		if len(p.cur) > 0 {
			head = append([]block{dividerBlock()}, head...)
		}
		fixB := sectionBlock(groupFix(g))
		if len(p.cur) > 0 && !p.fits(append(head, fixB)...) && p.canBreak() {
			p.breakMessage()
			head = head[len(head)-1:]
		}
		if !p.open() || !p.fits(append(head, fixB)...) {
			for _, rest := range groups[gi:] {
				for _, pr := range rest.problems {
					omitted = append(omitted, pr.findings...)
				}
			}
			return omitted, unlisted
		}
		for _, b := range head {
			p.put(b)
		}
		p.put(fixB)
		lines, counts := connLines(g.conns)
		more := func(n int) int {
			c := 0
			for _, k := range counts[len(counts)-n:] {
				c += k
			}
			return c
		}
		shown := p.list(fmt.Sprintf("*The %s*", g.reach()), lines, func(n int) string {
			return fmt.Sprintf("…and %s: see the complete report", report.Plural(more(n), "more connection"))
		}, true)
		if shown < len(lines) {
			unlisted += more(len(lines) - shown)
		}
	}
	return omitted, unlisted
}

// groupHead names the group's problems, one line each, worst first.
func groupHead(g *problemGroup) string {
	var b strings.Builder
	if len(g.problems) == 1 {
		b.WriteString(g.headline())
		pr := g.problems[0]
		fmt.Fprintf(&b, "\n*%s · %s*", capitalize(pr.worst.String()), text(pr.title, 150))
		if n := len(pr.findings); n != len(g.conns) {
			fmt.Fprintf(&b, " (%s)", report.Plural(n, "tunnel"))
		}
		if r := pr.findings[0].Remediation; r != "" {
			b.WriteString("\n_Fix:_ " + text(r, 600))
		}
		return truncMrkdwn(b.String(), sectionBudget)
	}
	b.WriteString(g.title())
	for _, pr := range g.problems {
		line := fmt.Sprintf("\n• %s %s · %s %s", severityEmoji[pr.worst], capitalize(pr.worst.String()), text(pr.title, 120), pr.name())
		if n := len(pr.findings); n != len(g.conns) {
			line += fmt.Sprintf(" (%s)", report.Plural(n, "tunnel"))
		}
		if utf8.RuneCountInString(b.String())+utf8.RuneCountInString(line) > sectionBudget-60 {
			b.WriteString("\n• …")
			break
		}
		b.WriteString(line)
	}
	return b.String()
}

// groupFix is the fix, once: the combined call of the group's first
// connection with a fix, as the example every connection follows, and
// where each connection's own call is.
func groupFix(g *problemGroup) string {
	var ex *connRef
	for i := range g.conns {
		if g.conns[i].example {
			ex = &g.conns[i]
			break
		}
	}
	fixable := false
	for _, pr := range g.problems {
		fixable = fixable || pr.findings[0].Fixer != nil || pr.findings[0].Fix != nil
	}
	switch {
	case !fixable && len(g.problems) > 1:
		return "_Fix:_ " + text(g.problems[0].findings[0].Remediation, 600) + " (and each problem's own remediation, in the complete report)"
	case !fixable:
		return "_These need a person: there is no mechanical fix._"
	}
	s := "_Fix, one change per connection_ (it sets everything above at once; a gateway takes one change at a time, so never one call per finding)."
	if ex != nil {
		if cmd := fixCommand(ex.fixer.Combined().CLI); cmd != "" {
			s += "\nFor " + code(ex.id, 80) + ", the others alike:\n" + cmd
		}
	}
	s += "\n`vpncheck fix --connection ID` prints each connection's own call and Terraform. Change each customer gateway in the same window."
	return truncMrkdwn(s, sectionBudget)
}

// label names a connection in a compact list: its name, when it has one
// other than its id, and its id (what vpncheck fix --connection takes).
func (c connRef) label() string {
	if c.name == "" || c.name == c.id {
		return code(c.id, 80)
	}
	return code(c.name, 60) + " " + code(c.id, 80)
}

// connLines lists connection ids, idsPerLine a line, each region's first
// line naming it; counts[i] is how many line i holds.
func connLines(conns []connRef) (lines []string, counts []int) {
	for i := 0; i < len(conns); {
		region := conns[i].region
		j := i
		for j < len(conns) && conns[j].region == region && j-i < idsPerLine {
			j++
		}
		ids := make([]string, 0, j-i)
		for _, c := range conns[i:j] {
			ids = append(ids, c.label())
		}
		prefix := ""
		if i == 0 || conns[i-1].region != region {
			n := 0
			for k := i; k < len(conns) && conns[k].region == region; k++ {
				n++
			}
			prefix = fmt.Sprintf("*%s* (%d): ", regionText(region), n)
		}
		lines = append(lines, prefix+strings.Join(ids, " · "))
		counts = append(counts, j-i)
		i = j
	}
	return lines, counts
}
