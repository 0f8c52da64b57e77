// Package lifecycle decides what a run changed: which findings are new,
// still open, resolved, newly suppressed or re-rated, against the state the
// previous run left. It is pure (no I/O, the clock handed in), so every rule
// of the lifecycle is one table test away.
package lifecycle

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
)

// Version is the version of the state document's shape: 2 keeps per
// finding only what the lifecycle needs (Record); 1 kept whole findings and
// is still read (see UnmarshalJSON).
const Version = 2

// State is what one account's runs remember: the open findings and the
// recently resolved ones, by finding id.
type State struct {
	Version    int                `json:"version"`
	Open       map[string]*Record `json:"open"`
	Resolved   map[string]*Record `json:"resolved"`
	LastDigest time.Time          `json:"last_digest,omitzero"`
	// Failing are the scan errors met by recent runs and not yet ended, by
	// place (see Failure): each is said when it begins and when it ends.
	Failing map[string]*Failure `json:"failing,omitempty"`
	// Keys are the fingerprints of the account's pre-shared keys, by
	// tunnel, for psk-reused in a change event's run; nil until a run made
	// them.
	Keys *KeyPrints `json:"keys,omitempty"`
}

// Record is one finding as the state keeps it: what its lifecycle needs
// (rule, severity, place, when first seen, reopened, resolved and last
// posted), and what saying it is fixed needs (the connection's name and
// gateway, the tunnel, the side). Its texts are not kept: an open finding's come from
// the run that sees it again, and a fixed one is named by its rule and
// place. Keys are short, since a generation holds one per open finding.
type Record struct {
	Rule           string          `json:"r"`
	Severity       report.Severity `json:"s"`
	AccountID      string          `json:"a,omitempty"`
	Region         string          `json:"g,omitempty"`
	ConnectionID   string          `json:"c,omitempty"`
	ConnectionName string          `json:"n,omitempty"`
	VPNGatewayID   string          `json:"w,omitempty"`
	TunnelID       string          `json:"t,omitempty"`
	Side           string          `json:"d,omitempty"`
	FirstSeen      time.Time       `json:"f"`
	ReopenedAt     time.Time       `json:"o,omitzero"`
	ResolvedAt     time.Time       `json:"x,omitzero"`
	LastPosted     time.Time       `json:"p,omitzero"`
}

// recordOf is what the state keeps of f.
func recordOf(f *report.Finding) *Record {
	r := &Record{Rule: f.Rule, Severity: f.Severity, AccountID: f.AccountID, Region: f.Region, ConnectionID: f.ConnectionID,
		ConnectionName: f.ConnectionName, VPNGatewayID: f.VPNGatewayID, TunnelID: f.TunnelID, Side: f.Side, FirstSeen: f.FirstSeen}
	if f.ReopenedAt != nil {
		r.ReopenedAt = *f.ReopenedAt
	}
	if f.ResolvedAt != nil {
		r.ResolvedAt = *f.ResolvedAt
	}
	return r
}

// Finding is the record as a finding with id: rule, severity, place and
// lifecycle times; no title, message or remediation.
func (r *Record) Finding(id string) report.Finding {
	f := report.Finding{ID: id, Rule: r.Rule, Severity: r.Severity, AccountID: r.AccountID, Region: r.Region,
		ConnectionID: r.ConnectionID, ConnectionName: r.ConnectionName, VPNGatewayID: r.VPNGatewayID, TunnelID: r.TunnelID, Side: r.Side,
		FirstSeen: r.FirstSeen}
	if !r.ReopenedAt.IsZero() {
		at := r.ReopenedAt
		f.ReopenedAt = &at
	}
	if !r.ResolvedAt.IsZero() {
		at := r.ResolvedAt
		f.ResolvedAt = &at
	}
	return f
}

// place is the record's place, for Options.Judged and Partial.
func (r *Record) place() *report.Finding {
	return &report.Finding{Rule: r.Rule, AccountID: r.AccountID, Region: r.Region, ConnectionID: r.ConnectionID, TunnelID: r.TunnelID, Side: r.Side}
}

// openSince is when the record's current spell began (Finding.OpenSince).
func (r *Record) openSince() time.Time {
	if !r.ReopenedAt.IsZero() {
		return r.ReopenedAt
	}
	return r.FirstSeen
}

// Empty is the state before any run.
func Empty() *State {
	return &State{Version: Version, Open: map[string]*Record{}, Resolved: map[string]*Record{}}
}

// current is how a state of this version begins (Version is State's
// first field).
var current = []byte(`{"version":` + strconv.Itoa(Version) + `,`)

// UnmarshalJSON reads a state of this version, or of version 1 (whole
// findings), which it turns into records.
func (s *State) UnmarshalJSON(b []byte) error {
	type plain State
	if bytes.HasPrefix(b, current) {
		return json.Unmarshal(b, (*plain)(s)) // as this version writes it: no second look
	}
	var v struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Version != 1 {
		return json.Unmarshal(b, (*plain)(s))
	}
	type wholeRecord struct {
		Finding    report.Finding `json:"finding"`
		LastPosted time.Time      `json:"last_posted,omitzero"`
	}
	var old struct {
		Open       map[string]*wholeRecord `json:"open"`
		Resolved   map[string]*wholeRecord `json:"resolved"`
		LastDigest time.Time               `json:"last_digest,omitzero"`
		Failing    map[string]*Failure     `json:"failing,omitempty"`
		Keys       *KeyPrints              `json:"keys,omitempty"`
	}
	if err := json.Unmarshal(b, &old); err != nil {
		return err
	}
	records := func(m map[string]*wholeRecord) map[string]*Record {
		out := make(map[string]*Record, len(m))
		for id, w := range m {
			if w == nil {
				continue
			}
			r := recordOf(&w.Finding)
			r.LastPosted = w.LastPosted
			out[id] = r
		}
		return out
	}
	*s = State{Version: Version, Open: records(old.Open), Resolved: records(old.Resolved), LastDigest: old.LastDigest,
		Failing: old.Failing, Keys: old.Keys}
	return nil
}

// Options are what Advance needs besides the state and the report.
type Options struct {
	Now time.Time
	// DigestEvery is the digest period; 0 sends no digest.
	DigestEvery time.Duration
	// Judged reports whether this run judged the place of an open finding
	// completely, so that its absence means it is fixed: its region (or,
	// for a change event, its connection) was scanned whole. A finding
	// whose place was not judged stays open.
	Judged func(f *report.Finding) bool
	// Suppressed and Hidden are findings this run saw but did not report:
	// covered by an exception, or below the minimum severity. They are not
	// resolved; a suppressed one leaves the open set, said once.
	Suppressed, Hidden []report.Finding
	// KeepResolved is how long resolved findings are remembered, so one
	// that comes back is known as reopened (default 30 days).
	KeepResolved time.Duration
	// Partial, when set, is a run that judged only part of the account (a
	// change event judges one connection) and says which findings lie in
	// that part. Open findings outside it are left as they are: not
	// resolved, not counted as held, and no digest comes due, since the
	// run's report does not hold them.
	Partial func(f *report.Finding) bool
	// Keys are the fingerprints of the run's own keys; nil when it made
	// none (see advanceKeys).
	Keys *KeyPrints
}

// outside reports whether f lies outside a partial run's part.
func (o Options) outside(f *report.Finding) bool { return o.Partial != nil && !o.Partial(f) }

// Advance compares the report with prev, sets every finding's status and
// the report's Resolved list, Lifecycle and counts, and returns the state
// to keep if the run's news is delivered. prev is not modified.
func Advance(prev *State, rep *report.Report, o Options) *State {
	if prev == nil {
		prev = Empty()
	}
	now := o.Now.UTC().Truncate(time.Second)
	keep := o.KeepResolved
	if keep <= 0 {
		keep = 30 * 24 * time.Hour
	}
	next := &State{
		Version:    Version,
		Open:       make(map[string]*Record, len(rep.Findings)),
		Resolved:   map[string]*Record{},
		LastDigest: prev.LastDigest,
		Keys:       advanceKeys(prev.Keys, o),
	}
	for id, r := range prev.Resolved {
		if !r.ResolvedAt.IsZero() && now.Sub(r.ResolvedAt) < keep {
			next.Resolved[id] = r
		}
	}
	l := &rep.Lifecycle
	*l = report.Lifecycle{Stateful: true}
	for _, f := range o.Suppressed {
		f.ID = report.FindingID(&f)
		l.Suppressed = append(l.Suppressed, f)
	}
	advanceReported(prev, next, rep, now)
	advanceGone(prev, next, rep, o, now)

	for _, r := range next.Open {
		if since := r.openSince(); l.OldestOpen.IsZero() || since.Before(l.OldestOpen) {
			l.OldestOpen = since
		}
	}
	next.Failing = advanceFailures(prev.Failing, rep, o, now, keep)
	switch {
	case o.DigestEvery <= 0, o.Partial != nil:
	case prev.LastDigest.IsZero():
		next.LastDigest = now // the first run says everything anyway; the period starts here
	case now.Sub(prev.LastDigest) >= o.DigestEvery && len(next.Open)+len(next.Failing) > 0:
		l.Digest = true
		next.LastDigest = now
	}
	return next
}

// advanceReported sets the status of each finding the run reported (open,
// new, reopened, or with a changed severity), counts the new ones, and
// keeps each in next's open set.
func advanceReported(prev, next *State, rep *report.Report, now time.Time) {
	l := &rep.Lifecycle
	rep.Summary.New = 0
	for i := range rep.Findings {
		f := &rep.Findings[i]
		f.ID = report.FindingID(f)
		f.LastSeen = now
		var posted time.Time
		if old, ok := prev.Open[f.ID]; ok {
			f.Status, f.FirstSeen, posted = report.StatusOpen, old.FirstSeen, old.LastPosted
			f.ReopenedAt = nil
			if !old.ReopenedAt.IsZero() {
				at := old.ReopenedAt
				f.ReopenedAt = &at
			}
			if old.Severity != f.Severity {
				was := old.Severity
				f.PreviousSeverity = &was
				l.SeverityChanged = append(l.SeverityChanged, *f)
				posted = now
			} else {
				l.Unchanged++
			}
		} else {
			f.Status, f.FirstSeen, posted = report.StatusNew, now, now
			if old, ok := prev.Resolved[f.ID]; ok {
				// Its history is kept; its age counts from now.
				at := now
				f.Reopened, f.FirstSeen, f.ReopenedAt = true, old.FirstSeen, &at
				delete(next.Resolved, f.ID)
			}
			rep.Summary.New++
		}
		rec := recordOf(f)
		rec.LastPosted = posted
		next.Open[f.ID] = rec
	}
}

// advanceGone decides each open finding of prev that the run did not
// report: kept as it is outside a partial run's part, newly suppressed,
// held open (hidden, or its place not judged), or resolved. It fills the
// report's Resolved list and count and the lifecycle's held regions.
func advanceGone(prev, next *State, rep *report.Report, o Options, now time.Time) {
	l := &rep.Lifecycle
	seen := func(fs []report.Finding) map[string]report.Finding {
		m := make(map[string]report.Finding, len(fs))
		for _, f := range fs {
			m[report.FindingID(&f)] = f
		}
		return m
	}
	suppressed, hidden := seen(o.Suppressed), seen(o.Hidden)
	held := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(prev.Open)) {
		old := prev.Open[id]
		if _, ok := next.Open[id]; ok {
			continue
		}
		place := old.place()
		if o.outside(place) {
			next.Open[id] = old
			continue
		}
		if f, ok := suppressed[id]; ok {
			f.ID, f.Status, f.FirstSeen = id, report.StatusOpen, old.FirstSeen
			l.NewlySuppressed = append(l.NewlySuppressed, f)
			continue
		}
		if _, ok := hidden[id]; ok || o.Judged == nil || !o.Judged(place) {
			next.Open[id] = old // not seen, not known to be fixed: stays open
			if !ok {
				held[old.Region] = true
			}
			continue
		}
		// Said fixed with what the state kept: rule, severity, place,
		// ages (the caller may name the rule's title).
		gone := *old
		gone.ResolvedAt, gone.LastPosted = now, now
		f := gone.Finding(id)
		f.Status = report.StatusResolved
		rep.Resolved = append(rep.Resolved, f)
		next.Resolved[id] = &gone
	}
	report.SortFindings(rep.Resolved)
	rep.Summary.Resolved = len(rep.Resolved)
	l.Held = slices.Sorted(maps.Keys(held))
}
