package lifecycle

import (
	"slices"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
)

// twoRegions is a report of cn-hangzhou (scanned, with fs) and cn-shanghai,
// failed with code when code is set, else scanned.
func twoRegions(code string, fs ...report.Finding) *report.Report {
	r := rep(fs...)
	r.Summary.RegionsScan = []string{"cn-hangzhou"}
	if code == "" {
		r.Summary.RegionsScan = append(r.Summary.RegionsScan, "cn-shanghai")
	} else {
		r.Summary.RegionsFailed = []string{"cn-shanghai"}
		r.Errors = append(r.Errors, report.ErrorEntry{AccountID: "1", Region: "cn-shanghai", Code: code, Message: "describe vpn connections in cn-shanghai page 1: " + code})
	}
	return r
}

// judgedScanned judges a place completely when its region was scanned
// whole, as checker/run does.
func judgedScanned(r *report.Report) func(*report.Finding) bool {
	return func(f *report.Finding) bool {
		return slices.Contains(r.Summary.RegionsScan, f.Region) && !slices.Contains(r.Summary.RegionsFailed, f.Region)
	}
}

// A region that fails is news when it starts failing, silent while it
// goes on (even with another code), and news once more when it is scanned
// again; the failure's start is kept for the message that says it ended.
func TestFailureSaidOnceAndRecovery(t *testing.T) {
	a := finding("vco-a", "dpd-disabled", report.Medium)
	sh := finding("vco-s", "ike-v1", report.Low)
	sh.Region = "cn-shanghai"
	type step struct {
		name     string
		rep      *report.Report
		at       time.Duration
		partial  bool
		news     bool
		status   report.Status // of the cn-shanghai error, when there is one
		since    time.Duration // its FirstSeen
		recover  bool          // cn-shanghai's failure ends in this run
		failing  int           // failures the state keeps
		newCount int
	}
	steps := []step{
		{name: "first run, all well", rep: twoRegions("", a), news: true, newCount: 1},
		{name: "cn-shanghai starts failing", rep: twoRegions("Forbidden.RAM", a), at: time.Hour, news: true,
			status: report.StatusNew, since: time.Hour, failing: 1},
		{name: "still failing: silence", rep: twoRegions("Forbidden.RAM", a), at: 2 * time.Hour,
			status: report.StatusOpen, since: time.Hour, failing: 1},
		{name: "failing with another code: still one failure", rep: twoRegions("Throttling.User", a), at: 3 * time.Hour,
			status: report.StatusOpen, since: time.Hour, failing: 1},
		{name: "a change event's run ends nothing", rep: rep(a), at: 3*time.Hour + 30*time.Minute, partial: true, failing: 1},
		{name: "scanned again: said once, with what it finds", rep: twoRegions("", a, sh), at: 4 * time.Hour, news: true,
			recover: true, newCount: 1},
		{name: "well again: silence", rep: twoRegions("", a, sh), at: 5 * time.Hour},
		{name: "fails again: news again", rep: twoRegions("Forbidden.RAM", a, sh), at: 6 * time.Hour, news: true,
			status: report.StatusNew, since: 6 * time.Hour, failing: 1},
	}
	var st *State
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			o := Options{Now: t0.Add(s.at), DigestEvery: 24 * time.Hour, Judged: judgedScanned(s.rep)}
			if s.partial {
				o.Partial = func(f *report.Finding) bool { return f.ConnectionID == "vco-a" }
			}
			next := Advance(st, s.rep, o)
			if got := s.rep.News(); got != s.news {
				t.Errorf("news %v, want %v (errors %+v, recovered %+v)", got, s.news, s.rep.Errors, s.rep.Lifecycle.Recovered)
			}
			if s.rep.Summary.New != s.newCount {
				t.Errorf("new %d, want %d", s.rep.Summary.New, s.newCount)
			}
			for _, e := range s.rep.Errors {
				if e.Status != s.status || !e.FirstSeen.Equal(t0.Add(s.since)) {
					t.Errorf("error %s: status %q since %v, want %q since %v", e.Code, e.Status, e.FirstSeen, s.status, t0.Add(s.since))
				}
			}
			rec := s.rep.Lifecycle.Recovered
			switch {
			case s.recover && (len(rec) != 1 || rec[0].Region != "cn-shanghai" || rec[0].Code != "Forbidden.RAM" || !rec[0].FirstSeen.Equal(t0.Add(time.Hour))):
				t.Errorf("recovered %+v, want cn-shanghai failing since +1h with Forbidden.RAM", rec)
			case !s.recover && len(rec) != 0:
				t.Errorf("recovered %+v, want none", rec)
			}
			if len(next.Failing) != s.failing {
				t.Errorf("state keeps %d failures, want %d", len(next.Failing), s.failing)
			}
			st = roundTrip(t, next)
		})
	}
}

// Without a state every run's failures are news, as before.
func TestFailureWithoutStateAlwaysNews(t *testing.T) {
	r := twoRegions("Forbidden.RAM")
	r.MarkAllNew(t0)
	if !r.News() || len(r.NewErrors()) != 1 {
		t.Errorf("a stateless run's failure is not news: %+v", r.Errors)
	}
}

// A failure that is the only thing open brings the digest, which lists it;
// an error of no place (the state store's) is news every time; a region
// no longer checked is forgotten after the keep period, not "recovered".
func TestFailureDigestAndKeep(t *testing.T) {
	st := Advance(nil, twoRegions("Forbidden.RAM"), Options{Now: t0, DigestEvery: 24 * time.Hour, Judged: all})
	r := twoRegions("Forbidden.RAM")
	r.Errors = append(r.Errors, report.ErrorEntry{Code: report.CodeStateUnwritable, Message: "write state"})
	st = Advance(roundTrip(t, st), r, Options{Now: t0.Add(25 * time.Hour), DigestEvery: 24 * time.Hour, Judged: all})
	if !r.Lifecycle.Digest {
		t.Error("no digest came due with a region failing")
	}
	if got := r.NewErrors(); len(got) != 1 || got[0].Code != report.CodeStateUnwritable {
		t.Errorf("new errors %+v, want the state's alone", got)
	}
	if got := r.StillFailing(); len(got) != 1 || got[0].Region != "cn-shanghai" {
		t.Errorf("still failing %+v", got)
	}
	only := rep()
	only.Summary.RegionsScan = []string{"cn-hangzhou"} // cn-shanghai left the run's regions
	st = Advance(roundTrip(t, st), only, Options{Now: t0.Add(26 * time.Hour), Judged: judgedScanned(only)})
	if len(only.Lifecycle.Recovered) != 0 || len(st.Failing) != 1 {
		t.Errorf("a region not scanned recovered: %+v, failing %d", only.Lifecycle.Recovered, len(st.Failing))
	}
	st = Advance(roundTrip(t, st), rep(), Options{Now: t0.Add(60 * 24 * time.Hour), Judged: all})
	if len(st.Failing) != 0 {
		t.Errorf("a failure not met for 60 days is kept: %+v", st.Failing)
	}
}

// A finding fixed and back counts its age from its return: the digest and
// the oldest open must not count the hours it was fixed.
func TestReopenedAgeFromReopening(t *testing.T) {
	a := finding("vco-a", "dpd-disabled", report.Medium)
	st := Advance(nil, rep(a), Options{Now: t0, Judged: all})
	st = Advance(roundTrip(t, st), rep(), Options{Now: t0.Add(time.Hour), Judged: all})
	back := rep(a)
	st = Advance(roundTrip(t, st), back, Options{Now: t0.Add(20 * time.Hour), Judged: all})
	f := back.Findings[0]
	if !f.Reopened || !f.FirstSeen.Equal(t0) || !f.OpenSince().Equal(t0.Add(20*time.Hour)) {
		t.Fatalf("reopened: %v, first seen %v, open since %v", f.Reopened, f.FirstSeen, f.OpenSince())
	}
	later := rep(a)
	Advance(roundTrip(t, st), later, Options{Now: t0.Add(24 * time.Hour), Judged: all})
	f = later.Findings[0]
	if f.Status != report.StatusOpen || !f.OpenSince().Equal(t0.Add(20*time.Hour)) || !later.Lifecycle.OldestOpen.Equal(t0.Add(20*time.Hour)) {
		t.Errorf("still open after its reopening: status %s, open since %v, oldest open %v", f.Status, f.OpenSince(), later.Lifecycle.OldestOpen)
	}
}
