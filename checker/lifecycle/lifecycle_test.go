package lifecycle

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func finding(conn, rule string, sev report.Severity) report.Finding {
	return report.Finding{AccountID: "1", Region: "cn-hangzhou", ConnectionID: conn, Rule: rule, Severity: sev, Title: rule, Message: rule}
}

func rep(fs ...report.Finding) *report.Report {
	r := report.New()
	r.Findings = append(r.Findings, fs...)
	r.Summary.RegionsScan = []string{"cn-hangzhou"}
	r.Finish()
	return r
}

// all judges every place (a complete scan).
func all(*report.Finding) bool { return true }

// roundTrip stores and loads the state as a store would.
func roundTrip(t *testing.T, s *State) *State {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out State
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func statuses(r *report.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.ConnectionID+"/"+f.Rule+":"+string(f.Status))
	}
	for _, f := range r.Resolved {
		out = append(out, f.ConnectionID+"/"+f.Rule+":"+string(f.Status))
	}
	slices.Sort(out)
	return out
}

// A finding appears, stays, is fixed, comes back; a region fails in
// between; an exception is added; a severity changes; the digest comes due.
func TestSequence(t *testing.T) {
	a := finding("vco-a", "dpd-disabled", report.Medium)
	b := finding("vco-b", "psk-weak", report.Critical)
	bHigh := b
	bHigh.Severity = report.High

	type step struct {
		name       string
		rep        *report.Report
		at         time.Duration
		judged     func(*report.Finding) bool
		suppressed []report.Finding
		want       []string
		news       bool
		check      func(t *testing.T, r *report.Report, s *State)
	}
	steps := []step{
		{name: "first run", rep: rep(a), want: []string{"vco-a/dpd-disabled:new"}, news: true},
		{name: "unchanged", rep: rep(a), at: time.Hour, want: []string{"vco-a/dpd-disabled:open"}, news: false,
			check: func(t *testing.T, r *report.Report, s *State) {
				if r.Lifecycle.Unchanged != 1 || !r.Lifecycle.OldestOpen.Equal(t0) || !r.Findings[0].FirstSeen.Equal(t0) {
					t.Errorf("lifecycle %+v, first seen %v", r.Lifecycle, r.Findings[0].FirstSeen)
				}
			}},
		{name: "b appears", rep: rep(a, b), at: 2 * time.Hour, want: []string{"vco-a/dpd-disabled:open", "vco-b/psk-weak:new"}, news: true},
		{name: "region fails: nothing resolved", rep: rep(), at: 3 * time.Hour, judged: func(*report.Finding) bool { return false },
			want: nil, news: false, check: func(t *testing.T, r *report.Report, s *State) {
				if len(s.Open) != 2 || !slices.Equal(r.Lifecycle.Held, []string{"cn-hangzhou"}) {
					t.Errorf("open %d, held %v", len(s.Open), r.Lifecycle.Held)
				}
			}},
		{name: "a fixed", rep: rep(b), at: 4 * time.Hour, want: []string{"vco-a/dpd-disabled:resolved", "vco-b/psk-weak:open"}, news: true,
			check: func(t *testing.T, r *report.Report, s *State) {
				if r.Summary.Resolved != 1 || r.Resolved[0].ResolvedAt == nil || len(s.Resolved) != 1 {
					t.Errorf("resolved %+v", r.Resolved)
				}
			}},
		{name: "a comes back", rep: rep(a, b), at: 5 * time.Hour, want: []string{"vco-a/dpd-disabled:new", "vco-b/psk-weak:open"}, news: true,
			check: func(t *testing.T, r *report.Report, s *State) {
				for _, f := range r.Findings {
					if f.ConnectionID == "vco-a" && (!f.Reopened || !f.FirstSeen.Equal(t0)) {
						t.Errorf("reopened %v first seen %v", f.Reopened, f.FirstSeen)
					}
				}
			}},
		{name: "severity of b changes", rep: rep(a, bHigh), at: 6 * time.Hour, want: []string{"vco-a/dpd-disabled:open", "vco-b/psk-weak:open"}, news: true,
			check: func(t *testing.T, r *report.Report, s *State) {
				if len(r.Lifecycle.SeverityChanged) != 1 || *r.Lifecycle.SeverityChanged[0].PreviousSeverity != report.Critical {
					t.Errorf("changed %+v", r.Lifecycle.SeverityChanged)
				}
			}},
		{name: "severity said once", rep: rep(a, bHigh), at: 7 * time.Hour, want: []string{"vco-a/dpd-disabled:open", "vco-b/psk-weak:open"}, news: false},
		{name: "exception added for a", rep: rep(bHigh), at: 8 * time.Hour, suppressed: []report.Finding{a},
			want: []string{"vco-b/psk-weak:open"}, news: true, check: func(t *testing.T, r *report.Report, s *State) {
				if len(r.Lifecycle.NewlySuppressed) != 1 || len(r.Resolved) != 0 || len(s.Open) != 1 {
					t.Errorf("suppressed %+v resolved %+v", r.Lifecycle.NewlySuppressed, r.Resolved)
				}
			}},
		{name: "still suppressed: said once", rep: rep(bHigh), at: 9 * time.Hour, suppressed: []report.Finding{a},
			want: []string{"vco-b/psk-weak:open"}, news: false},
		{name: "digest due", rep: rep(bHigh), at: 24 * time.Hour, want: []string{"vco-b/psk-weak:open"}, news: true,
			check: func(t *testing.T, r *report.Report, s *State) {
				if !r.Lifecycle.Digest || !s.LastDigest.Equal(t0.Add(24*time.Hour)) {
					t.Errorf("digest %v last %v", r.Lifecycle.Digest, s.LastDigest)
				}
			}},
	}
	var st *State
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			judged := s.judged
			if judged == nil {
				judged = all
			}
			next := Advance(st, s.rep, Options{Now: t0.Add(s.at), DigestEvery: 24 * time.Hour, Judged: judged, Suppressed: s.suppressed})
			if got := statuses(s.rep); !slices.Equal(got, s.want) {
				t.Errorf("statuses %v, want %v", got, s.want)
			}
			if got := s.rep.News(); got != s.news {
				t.Errorf("news %v, want %v (lifecycle %+v)", got, s.news, s.rep.Lifecycle)
			}
			if s.check != nil {
				s.check(t, s.rep, next)
			}
			st = roundTrip(t, next)
		})
	}
}

func TestHiddenFindingsStayOpen(t *testing.T) {
	low := finding("vco-a", "ike-v1", report.Low)
	st := Advance(nil, rep(low), Options{Now: t0, Judged: all})
	r := rep()
	next := Advance(st, r, Options{Now: t0.Add(time.Hour), Judged: all, Hidden: []report.Finding{low}})
	if len(r.Resolved) != 0 || len(next.Open) != 1 || len(r.Lifecycle.Held) != 0 {
		t.Errorf("a finding below the minimum severity was resolved: %+v", r.Resolved)
	}
}

func TestResolvedForgottenAfterKeep(t *testing.T) {
	a := finding("vco-a", "dpd-disabled", report.Medium)
	st := Advance(nil, rep(a), Options{Now: t0, Judged: all})
	st = Advance(st, rep(), Options{Now: t0.Add(time.Hour), Judged: all})
	st = Advance(st, rep(), Options{Now: t0.Add(31 * 24 * time.Hour), Judged: all})
	if len(st.Resolved) != 0 {
		t.Errorf("resolved kept past 30 days: %d", len(st.Resolved))
	}
}
