// Package lifecycle decides what a run changed: which findings are new,
// still open, resolved, newly suppressed or re-rated, against the state the
// previous run left. It is pure (no I/O, the clock handed in), so every rule
// of the lifecycle is one table test away.
package lifecycle

import (
	"maps"
	"slices"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
)

// Version is the version of the state document's shape.
const Version = 1

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

// Record is one finding as the state keeps it.
type Record struct {
	Finding    report.Finding `json:"finding"`
	LastPosted time.Time      `json:"last_posted,omitzero"`
}

// Empty is the state before any run.
func Empty() *State {
	return &State{Version: Version, Open: map[string]*Record{}, Resolved: map[string]*Record{}}
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
		if r.Finding.ResolvedAt != nil && now.Sub(*r.Finding.ResolvedAt) < keep {
			next.Resolved[id] = r
		}
	}
	l := &rep.Lifecycle
	*l = report.Lifecycle{Stateful: true}
	for _, f := range o.Suppressed {
		f.ID = report.FindingID(&f)
		l.Suppressed = append(l.Suppressed, f)
	}
	rep.Summary.New = 0

	for i := range rep.Findings {
		f := &rep.Findings[i]
		f.ID = report.FindingID(f)
		f.LastSeen = now
		rec := &Record{}
		if old, ok := prev.Open[f.ID]; ok {
			f.Status, f.FirstSeen, rec.LastPosted = report.StatusOpen, old.Finding.FirstSeen, old.LastPosted
			f.ReopenedAt = old.Finding.ReopenedAt
			if old.Finding.Severity != f.Severity {
				was := old.Finding.Severity
				f.PreviousSeverity = &was
				l.SeverityChanged = append(l.SeverityChanged, *f)
				rec.LastPosted = now
			} else {
				l.Unchanged++
			}
		} else {
			f.Status, f.FirstSeen, rec.LastPosted = report.StatusNew, now, now
			if old, ok := prev.Resolved[f.ID]; ok {
				// Its history is kept; its age counts from now.
				at := now
				f.Reopened, f.FirstSeen, f.ReopenedAt = true, old.Finding.FirstSeen, &at
				delete(next.Resolved, f.ID)
			}
			rep.Summary.New++
		}
		rec.Finding = *f
		rec.Finding.PreviousSeverity = nil
		next.Open[f.ID] = rec
	}

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
		if o.outside(&old.Finding) {
			next.Open[id] = old
			continue
		}
		if f, ok := suppressed[id]; ok {
			f.ID, f.Status, f.FirstSeen = id, report.StatusOpen, old.Finding.FirstSeen
			l.NewlySuppressed = append(l.NewlySuppressed, f)
			continue
		}
		if _, ok := hidden[id]; ok || o.Judged == nil || !o.Judged(&old.Finding) {
			next.Open[id] = old // not seen, not known to be fixed: stays open
			if !ok {
				held[old.Finding.Region] = true
			}
			continue
		}
		f := old.Finding
		at := now
		f.Status, f.ResolvedAt = report.StatusResolved, &at
		rep.Resolved = append(rep.Resolved, f)
		next.Resolved[id] = &Record{Finding: f, LastPosted: now}
	}
	report.SortFindings(rep.Resolved)
	rep.Summary.Resolved = len(rep.Resolved)
	l.Held = slices.Sorted(maps.Keys(held))

	for _, r := range next.Open {
		if since := r.Finding.OpenSince(); l.OldestOpen.IsZero() || since.Before(l.OldestOpen) {
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
