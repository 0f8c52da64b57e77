package report

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Counts is a number of findings per severity, indexed by Severity.
type Counts [Critical + 1]int

// CountOf counts findings by severity.
func CountOf(fs []Finding) Counts {
	var c Counts
	for _, f := range fs {
		if f.Severity >= Info && f.Severity <= Critical {
			c[f.Severity]++
		}
	}
	return c
}

// Total is the number of findings counted.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Worst is the highest severity counted, and whether any was.
func (c Counts) Worst() (Severity, bool) {
	for s := Critical; s >= Info; s-- {
		if c[s] > 0 {
			return s, true
		}
	}
	return Info, false
}

// Join spells the counts worst first, "2 critical" + sep + "3 high"; zero
// counts are left out.
func (c Counts) Join(sep string) string {
	var parts []string
	for s := Critical; s >= Info; s-- {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
		}
	}
	return strings.Join(parts, sep)
}

// Compare orders counts worst first: the higher worst severity first, then
// the larger count at that severity, then the next severity down.
func (c Counts) Compare(o Counts) int {
	for s := Critical; s >= Info; s-- {
		if c[s] != o[s] {
			return o[s] - c[s]
		}
	}
	return 0
}

// Group is one connection's findings, worst first.
type Group struct {
	AccountID      string
	Region         string
	ConnectionID   string
	ConnectionName string
	VPNGatewayID   string
	Findings       []Finding
	Counts         Counts
}

// Worst is the group's highest severity.
func (g *Group) Worst() Severity {
	s, _ := g.Counts.Worst()
	return s
}

// Name is what people call the connection: its name, else its id.
func (g *Group) Name() string {
	switch {
	case g.ConnectionName != "":
		return g.ConnectionName
	case g.ConnectionID != "":
		return g.ConnectionID
	}
	return "(unnamed connection)"
}

// ByConnection groups findings by connection, the worst connection first:
// highest severity, then most findings at that severity (then at the next
// ones down), then by name and place. Each group's findings keep their
// order after a stable sort worst first. Findings of connections without an
// id are grouped by name, never merged with other connections' findings.
// Every writer and notifier orders connections with this one function.
func ByConnection(fs []Finding) []*Group {
	groups, idx := ByConnectionIndexes(fs)
	for gi, g := range groups {
		g.Findings = make([]Finding, len(idx[gi]))
		for i, fi := range idx[gi] {
			g.Findings[i] = fs[fi]
		}
	}
	return groups
}

// ByConnectionIndexes is ByConnection without copying the findings, for a
// writer that walks a large report once: the groups' Findings are left
// nil, and idx[g] are the indexes in fs of group g's findings, in
// ByConnection's order.
func ByConnectionIndexes(fs []Finding) (groups []*Group, idx [][]int) {
	type key struct{ account, region, id, name string }
	byKey := map[key]int{}
	for i := range fs {
		f := &fs[i]
		k := key{f.AccountID, f.Region, f.ConnectionID, ""}
		if f.ConnectionID == "" {
			k.name = f.ConnectionName
		}
		gi, ok := byKey[k]
		if !ok {
			gi = len(groups)
			byKey[k] = gi
			groups = append(groups, &Group{AccountID: f.AccountID, Region: f.Region, ConnectionID: f.ConnectionID,
				ConnectionName: f.ConnectionName, VPNGatewayID: f.VPNGatewayID})
			idx = append(idx, nil)
		}
		idx[gi] = append(idx[gi], i)
		groups[gi].Counts[f.Severity]++
	}
	for _, ix := range idx {
		slices.SortStableFunc(ix, func(a, b int) int { return int(fs[b].Severity) - int(fs[a].Severity) })
	}
	order := make([]int, len(groups))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		a, b := groups[i], groups[j]
		if c := a.Counts.Compare(b.Counts); c != 0 {
			return c
		}
		for _, p := range [...][2]string{
			{a.Name(), b.Name()}, {a.AccountID, b.AccountID}, {a.Region, b.Region}, {a.ConnectionID, b.ConnectionID},
		} {
			if c := strings.Compare(p[0], p[1]); c != 0 {
				return c
			}
		}
		return 0
	})
	sortedGroups, sortedIdx := make([]*Group, len(order)), make([][]int, len(order))
	for i, gi := range order {
		sortedGroups[i], sortedIdx[i] = groups[gi], idx[gi]
	}
	return sortedGroups, sortedIdx
}

// Plural spells a count with its noun: "1 connection", "2 connections".
func Plural(n int, noun string) string { return fmt.Sprintf("%d %s", n, pluralWord(n, noun)) }

// pluralWord is noun, with an s unless n is 1.
func pluralWord(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// FindingID is a finding's stable identity: a fingerprint of its account,
// region, connection, tunnel and rule, and its side when it has one (the
// ids of findings without a side are as they were before sides). The
// message is left out on purpose: its wording may change while the
// problem stays the same.
func FindingID(f *Finding) string {
	h := sha256.New()
	for _, p := range []string{f.AccountID, f.Region, f.ConnectionID, f.TunnelID, f.Rule} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	if f.Side != "" {
		h.Write([]byte("side\x00" + f.Side + "\x00"))
	}
	return "vf-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// MarkAllNew is the lifecycle of a run without a state store: every
// finding is new, first seen now.
func (r *Report) MarkAllNew(now time.Time) {
	now = now.UTC().Truncate(time.Second)
	for i := range r.Findings {
		f := &r.Findings[i]
		f.ID, f.Status, f.FirstSeen, f.LastSeen = FindingID(f), StatusNew, now, now
	}
	r.Summary.New = len(r.Findings)
}
