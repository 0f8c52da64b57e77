package keys

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/report"
)

// keyNotes gathers, per region, the connections whose keys were not judged
// in full, and why.
type keyNotes struct {
	byReason map[string]map[string][]*input.Connection // reason -> region -> connections
	seen     map[*input.Connection]map[string]bool
}

func newKeyNotes() *keyNotes {
	return &keyNotes{byReason: map[string]map[string][]*input.Connection{}, seen: map[*input.Connection]map[string]bool{}}
}

func (n *keyNotes) add(c *input.Connection, reason string) {
	if n.seen[c][reason] {
		return
	}
	if n.seen[c] == nil {
		n.seen[c] = map[string]bool{}
	}
	n.seen[c][reason] = true
	if n.byReason[reason] == nil {
		n.byReason[reason] = map[string][]*input.Connection{}
	}
	r := c.Connection.Region
	n.byReason[reason][r] = append(n.byReason[reason][r], c)
}

var keyNoteText = map[string]string{
	"unestimated": "had no guess estimate (the run's deadline came first, or the save that wrote them had none): psk-weak judged them on length and the banned list only",
	"redacted":    "are redacted without the facts vpncheck saves in their place (an inventory written by another tool): psk-weak, psk-reused and psk-exposed could not judge them",
	"unsalted":    "carry saved facts without a usable fingerprint or VpncheckSalt: the banned list and psk-reused could not judge them",
	"peppered":    "carry fingerprints made with another key pepper (VPNCHECK_KEY_PEPPER), or without one where this run has one or the reverse: the banned list and psk-reused could not judge them",
	"uncompared":  "carry the fingerprints of a save that cannot be compared with those the state keeps of the account's other connections: psk-reused compared them within this run only",
}

// entries are the notes as errors entries, one per reason and region,
// naming the connections (already masked).
func (n *keyNotes) entries() []report.ErrorEntry {
	var out []report.ErrorEntry
	for _, reason := range []string{"unestimated", "redacted", "unsalted", "peppered", "uncompared"} {
		regions := n.byReason[reason]
		names := make([]string, 0, len(regions))
		for r := range regions {
			names = append(names, r)
		}
		sort.Strings(names)
		for _, r := range names {
			conns := regions[r]
			out = append(out, report.ErrorEntry{Region: r, Code: CodeKeysNotJudged,
				Message: fmt.Sprintf("the keys of %s in %s %s", namedConnections(conns, nil), regionLabel(r), keyNoteText[reason])})
		}
	}
	return out
}

// oddFieldEntries report, per region, the connections that held fields of
// an unexpected type, read as absent.
func oddFieldEntries(conns []*input.Connection) []report.ErrorEntry {
	byRegion := map[string][]*input.Connection{}
	var regions []string
	for _, c := range conns {
		if len(c.OddFields) == 0 {
			continue
		}
		r := c.Connection.Region
		if byRegion[r] == nil {
			regions = append(regions, r)
		}
		byRegion[r] = append(byRegion[r], c)
	}
	sort.Strings(regions)
	out := make([]report.ErrorEntry, 0, len(regions))
	for _, r := range regions {
		out = append(out, report.ErrorEntry{Region: r, Code: report.CodeInvalidResponse,
			Message: fmt.Sprintf("fields of an unexpected type were read as absent, so no rule fires on them, in %s in %s",
				namedConnections(byRegion[r], func(c *input.Connection) string { return strings.Join(c.OddFields, ", ") }), regionLabel(r))})
	}
	for _, c := range conns {
		c.OddFields = nil
	}
	return out
}

func regionLabel(r string) string {
	if r == "" {
		return "an unknown region"
	}
	return r
}

// namedConnections names up to ten connections, with detail in brackets.
func namedConnections(conns []*input.Connection, detail func(*input.Connection) string) string {
	const most = 10
	var b strings.Builder
	b.WriteString(report.Plural(len(conns), "connection"))
	for i, c := range conns {
		if i == most {
			fmt.Fprintf(&b, " and %d more", len(conns)-most)
			break
		}
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(c.Connection.ID)
		if detail != nil {
			b.WriteString(": " + detail(c))
		}
	}
	if len(conns) > 0 {
		b.WriteString(")")
	}
	return b.String()
}
