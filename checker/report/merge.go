package report

import (
	"slices"
	"strings"
	"time"
)

// Error codes of an organisation-wide run (an account's own scan errors
// keep their codes, with the account's id).
const (
	// CodeAccountUnavailable: the account could not be entered (its role
	// could not be assumed, or the resource directory lists it in a state
	// that cannot be checked); nothing of it was judged.
	CodeAccountUnavailable = "AccountUnavailable"
	// CodeAccountFailed: the account was entered, but its check could not
	// complete (no region scanned, policies, delivery).
	CodeAccountFailed = "AccountFailed"
)

// What became of one account of an organisation-wide run
// (AccountSummary.Status).
const (
	AccountChecked     = "checked"     // its check completed (its report may still hold region errors)
	AccountFailed      = "failed"      // entered, but its check did not complete
	AccountUnavailable = "unavailable" // not entered
	AccountStarted     = "started"     // handed to its own invocation (Function Compute fan-out)
)

// AccountSummary counts one account of an organisation-wide run, in
// Summary.Accounts.
type AccountSummary struct {
	DisplayName   string         `json:"display_name,omitempty"`
	Status        string         `json:"status"`
	Connections   int            `json:"connections"`
	Tunnels       int            `json:"tunnels"`
	Findings      int            `json:"findings"`
	New           int            `json:"new"`
	Resolved      int            `json:"resolved"`
	BySeverity    map[string]int `json:"by_severity"`
	RegionsScan   []string       `json:"regions_scanned"`
	RegionsFailed []string       `json:"regions_failed"`
	Errors        int            `json:"errors"`
}

// AccountPart is one account's share of an organisation-wide run.
type AccountPart struct {
	AccountID   string
	DisplayName string // "" when not known
	// Report is the account's own report; nil when nothing of it was judged.
	Report *Report
	// Errors say why the account was not checked, or why its check did not
	// complete; they are added to the merged errors with AccountID set.
	Errors []ErrorEntry
	// Status overrides the status Merge derives: unavailable when Errors
	// hold CodeAccountUnavailable, failed for other Errors or no Report,
	// checked otherwise.
	Status string
}

// Merge builds one report of several accounts' parts: every finding
// (carrying its account's id and display name), the summaries added up,
// the scanned and failed regions as sets of region ids, per-account counts
// in Summary.Accounts, and the errors concatenated in account order, each
// naming its account. The parts' reports are not modified.
func Merge(parts []AccountPart) *Report {
	parts = slices.Clone(parts)
	slices.SortStableFunc(parts, func(a, b AccountPart) int { return strings.Compare(a.AccountID, b.AccountID) })
	m := merger{out: New(), scanned: map[string]bool{}, failed: map[string]bool{}}
	out := m.out
	out.Summary.Accounts = map[string]AccountSummary{}
	for _, p := range parts {
		as := AccountSummary{DisplayName: p.DisplayName, Status: p.Status, BySeverity: map[string]int{},
			RegionsScan: []string{}, RegionsFailed: []string{}}
		if p.Report != nil {
			m.addReport(p, &as)
		}
		m.addErrors(p, &as)
		out.Summary.Accounts[p.AccountID] = as
	}
	out.Lifecycle.OldestOpen = m.oldest
	out.Summary.RegionsScan = sortedKeys(m.scanned)
	out.Summary.RegionsFailed = sortedKeys(m.failed)
	out.Finish()
	SortFindings(out.Resolved)
	return out
}

// merger is a merged report being built, with the region sets and the
// oldest open finding gathered across accounts.
type merger struct {
	out             *Report
	scanned, failed map[string]bool
	oldest          time.Time
}

// addReport adds one account's report: its findings stamped with the
// account, its errors, its summary (to the merged one and to as), and its
// lifecycle.
func (m *merger) addReport(p AccountPart, as *AccountSummary) {
	out, r := m.out, p.Report
	stamp := func(f Finding) Finding {
		if f.AccountID == "" {
			f.AccountID = p.AccountID
		}
		if f.AccountName == "" {
			f.AccountName = p.DisplayName
		}
		return f
	}
	if out.PolicyRevision == "" { // one engine judges every account
		out.PolicyRevision = r.PolicyRevision
	}
	for _, f := range r.Findings {
		out.Findings = append(out.Findings, stamp(f))
	}
	for _, f := range r.Resolved {
		out.Resolved = append(out.Resolved, stamp(f))
	}
	for _, e := range r.Errors {
		if e.AccountID == "" {
			e.AccountID = p.AccountID
		}
		out.Errors = append(out.Errors, e)
	}
	s := &out.Summary
	s.Connections += r.Summary.Connections
	s.Tunnels += r.Summary.Tunnels
	s.Suppressed += r.Summary.Suppressed
	s.New += r.Summary.New
	s.Resolved += r.Summary.Resolved
	s.BelowMinSeverity += r.Summary.BelowMinSeverity
	s.Incomplete += r.Summary.Incomplete
	if r.Summary.JudgedAfresh != nil {
		n := *r.Summary.JudgedAfresh
		if s.JudgedAfresh != nil {
			n += *s.JudgedAfresh
		}
		s.JudgedAfresh = &n
	}
	for _, reg := range r.Summary.RegionsScan {
		m.scanned[reg] = true
	}
	for _, reg := range r.Summary.RegionsFailed {
		m.failed[reg] = true
	}
	as.Connections, as.Tunnels = r.Summary.Connections, r.Summary.Tunnels
	as.Findings, as.New, as.Resolved = len(r.Findings), r.Summary.New, r.Summary.Resolved
	for sev, n := range CountOf(r.Findings) {
		if n > 0 {
			as.BySeverity[Severity(sev).String()] = n
		}
	}
	as.RegionsScan = append(as.RegionsScan, r.Summary.RegionsScan...)
	as.RegionsFailed = append(as.RegionsFailed, r.Summary.RegionsFailed...)
	as.Errors = len(r.Errors)
	mergeLifecycle(&out.Lifecycle, &r.Lifecycle, p.AccountID)
	if o := r.Lifecycle.OldestOpen; !o.IsZero() && (m.oldest.IsZero() || o.Before(m.oldest)) {
		m.oldest = o
	}
}

// addErrors adds the errors of the account's part itself (not of its
// report), and derives its status unless the part set one.
func (m *merger) addErrors(p AccountPart, as *AccountSummary) {
	unavailable := false
	for _, e := range p.Errors {
		e.AccountID = p.AccountID
		unavailable = unavailable || e.Code == CodeAccountUnavailable
		m.out.Errors = append(m.out.Errors, e)
	}
	as.Errors += len(p.Errors)
	if as.Status == "" {
		switch {
		case unavailable:
			as.Status = AccountUnavailable
		case len(p.Errors) > 0 || p.Report == nil:
			as.Status = AccountFailed
		default:
			as.Status = AccountChecked
		}
	}
}

// mergeLifecycle adds one account's lifecycle to the merged one; held
// regions are named with their account, since a region held in one
// account may be judged in another.
func mergeLifecycle(dst, src *Lifecycle, account string) {
	dst.Stateful = dst.Stateful || src.Stateful
	dst.Digest = dst.Digest || src.Digest
	dst.NewlySuppressed = append(dst.NewlySuppressed, src.NewlySuppressed...)
	dst.SeverityChanged = append(dst.SeverityChanged, src.SeverityChanged...)
	dst.Unchanged += src.Unchanged
	for _, r := range src.Held {
		dst.Held = append(dst.Held, account+"/"+r)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
