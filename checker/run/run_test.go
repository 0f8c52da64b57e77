package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/saved"
	"github.com/vpncheck/vpncheck/checker/state"
	"github.com/vpncheck/vpncheck/notify"
	"github.com/vpncheck/vpncheck/policies"
)

// fakeNotifier posts each report as two messages (a summary and details)
// and records what it was asked, like a channel with parts.
type fakeNotifier struct {
	mu       sync.Mutex
	reports  []*report.Report
	runs     []notify.Run
	posted   []string // "runkey/part"
	failPart int      // fail when posting this part (-1: never)
}

func (f *fakeNotifier) NotifyReport(ctx context.Context, run notify.Run, rep *report.Report) (notify.Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports, f.runs = append(f.reports, rep), append(f.runs, run)
	d := notify.Delivery{Messages: 2}
	for part := range 2 {
		if _, done := run.Delivered[part]; done {
			d.Skipped++
			continue
		}
		if part == f.failPart {
			return d, errors.New("slack is down")
		}
		f.posted = append(f.posted, fmt.Sprintf("%s/%d", run.Key, part))
		d.Posted++
		if run.OnPosted != nil {
			if err := run.OnPosted(part, fmt.Sprint("ts", part)); err != nil {
				return d, err
			}
		}
	}
	return d, nil
}

func (f *fakeNotifier) NotifyFailure(ctx context.Context, run notify.Run, reason string) (notify.Delivery, error) {
	return notify.Delivery{}, nil
}

func engine(t *testing.T) *checker.Engine {
	t.Helper()
	e, err := checker.NewEngine(context.Background(), checker.Policies{Builtin: policies.FS})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sample returns an inventory file holding the sample's connections, or
// only the first n of them.
func sample(t *testing.T) string {
	t.Helper()
	return "../../testdata/sample.json"
}

func emptyInventory(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "empty.json")
	if err := os.WriteFile(p, []byte(`{"RegionId":"cn-hangzhou","TotalCount":0,"VpnConnections":{"VpnConnection":[]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func plan(t *testing.T, eng *checker.Engine, store state.Store, n *fakeNotifier, key string, at time.Duration, files ...string) Plan {
	return Plan{Source: saved.Files{Paths: files, Region: "cn-hangzhou"}, Engine: eng, Notifier: n, State: store,
		RunKey: key, Now: t0.Add(at), DigestEvery: 24 * time.Hour, AccountID: "1234"}
}

func dirStore(t *testing.T) state.Store {
	t.Helper()
	s, err := state.Open(context.Background(), t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStatelessRunReportsEverythingNew(t *testing.T) {
	n := &fakeNotifier{failPart: -1}
	out := Execute(context.Background(), plan(t, engine(t), nil, n, "", 0, sample(t)))
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if out.Report.Summary.New != out.Report.Summary.Findings || out.Report.Summary.Findings != 15 || len(n.posted) != 2 {
		t.Errorf("summary %+v, posted %v", out.Report.Summary, n.posted)
	}
}

func TestLifecycleThroughThePipeline(t *testing.T) {
	eng, store, n := engine(t), dirStore(t), &fakeNotifier{failPart: -1}
	ctx := context.Background()

	first := Execute(ctx, plan(t, eng, store, n, "hourly@10", 0, sample(t)))
	if first.Err != nil || first.Report.Summary.New != 15 || len(n.posted) != 2 {
		t.Fatalf("first run: err %v, summary %+v, posted %v", first.Err, first.Report.Summary, n.posted)
	}
	second := Execute(ctx, plan(t, eng, store, n, "hourly@11", time.Hour, sample(t)))
	if second.Err != nil || second.Report.Summary.New != 0 || len(n.posted) != 2 {
		t.Fatalf("an unchanged run posted: err %v, summary %+v, posted %v", second.Err, second.Report.Summary, n.posted)
	}
	for _, f := range second.Report.Findings {
		if f.Status != report.StatusOpen || !f.FirstSeen.Equal(t0) {
			t.Fatalf("finding %s: status %s first seen %v", f.ID, f.Status, f.FirstSeen)
		}
	}
	fixed := Execute(ctx, plan(t, eng, store, n, "hourly@12", 2*time.Hour, emptyInventory(t)))
	if fixed.Err != nil || fixed.Report.Summary.Resolved != 15 || len(n.posted) != 4 {
		t.Fatalf("fix: err %v, summary %+v, posted %v", fixed.Err, fixed.Report.Summary, n.posted)
	}
	again := Execute(ctx, plan(t, eng, store, n, "hourly@13", 3*time.Hour, sample(t)))
	reopened := 0
	for _, f := range again.Report.Findings {
		if f.Reopened && f.Status == report.StatusNew {
			reopened++
		}
	}
	if again.Err != nil || again.Report.Summary.New != 15 || reopened != 15 {
		t.Fatalf("come back: err %v, summary %+v, reopened %d", again.Err, again.Report.Summary, reopened)
	}

	// The timer event of 13:00 delivered again (an async retry on another
	// instance): nothing is posted.
	before := len(n.posted)
	retry := Execute(ctx, plan(t, eng, store, n, "hourly@13", 3*time.Hour+time.Minute, sample(t)))
	if retry.Err != nil || len(n.posted) != before {
		t.Fatalf("a retried, delivered run posted: err %v, posted %v", retry.Err, n.posted[before:])
	}
}

func TestCrashMidDeliveryIsResumed(t *testing.T) {
	eng, store := engine(t), dirStore(t)
	ctx := context.Background()
	n := &fakeNotifier{failPart: 1}
	out := Execute(ctx, plan(t, eng, store, n, "hourly@10", 0, sample(t)))
	if out.Err == nil || len(n.posted) != 1 {
		t.Fatalf("err %v, posted %v", out.Err, n.posted)
	}
	// The retry (Slack is back) posts what was not acknowledged, once.
	n.failPart = -1
	out = Execute(ctx, plan(t, eng, store, n, "hourly@10", time.Minute, sample(t)))
	if out.Err != nil || strings.Join(n.posted, " ") != "hourly@10/0 hourly@10/1" {
		t.Fatalf("err %v, posted %v", out.Err, n.posted)
	}
	if last := n.runs[len(n.runs)-1]; last.Delivered[0] != "ts0" {
		t.Errorf("the retry did not know part 0 was delivered: %v", last.Delivered)
	}
	// And the next hour is quiet.
	out = Execute(ctx, plan(t, eng, store, n, "hourly@11", time.Hour, sample(t)))
	if out.Err != nil || len(n.posted) != 2 {
		t.Fatalf("err %v, posted %v", out.Err, n.posted)
	}
}

// A later run delivers the news of a run that died mid-delivery and was
// never retried.
func TestLaterRunDeliversAbandonedNews(t *testing.T) {
	eng, store := engine(t), dirStore(t)
	ctx := context.Background()
	n := &fakeNotifier{failPart: 1}
	Execute(ctx, plan(t, eng, store, n, "hourly@10", 0, sample(t)))
	// The 10:00 attempt died; FC never retried it. The 11:00 run, past
	// the lease, delivers 10:00's lost part before its own (quiet) news.
	n.failPart = -1
	out := Execute(ctx, plan(t, eng, store, n, "hourly@11", time.Hour, sample(t)))
	if out.Err != nil || strings.Join(n.posted, " ") != "hourly@10/0 hourly@10/1" {
		t.Fatalf("err %v, posted %v", out.Err, n.posted)
	}
}

func TestRacingRunsPostEachFindingOnce(t *testing.T) {
	eng, store := engine(t), dirStore(t)
	n := &fakeNotifier{failPart: -1}
	var wg sync.WaitGroup
	outs := make([]Outcome, 4)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = Execute(context.Background(), plan(t, eng, store, n, fmt.Sprint("run-", i), 0, sample(t)))
		}()
	}
	wg.Wait()
	newTotal := 0
	for i, o := range outs {
		if o.Err != nil {
			t.Fatalf("run %d: %v", i, o.Err)
		}
		newTotal += o.Report.Summary.New
	}
	if newTotal != 15 {
		t.Errorf("new findings over racing runs = %d, want 15 (each posted once)", newTotal)
	}
	_, g, err := newLedger(store, "1234", time.Now).latest(context.Background())
	if err != nil || len(g.State.Open) != 15 {
		t.Errorf("state after the race: %v, %d open", err, len(g.State.Open))
	}
}

func TestCorruptStateCountsEverythingNew(t *testing.T) {
	eng, store := engine(t), dirStore(t)
	ctx := context.Background()
	n := &fakeNotifier{failPart: -1}
	Execute(ctx, plan(t, eng, store, n, "a", 0, sample(t)))
	led := newLedger(store, "1234", time.Now)
	if err := led.log.Append(ctx, 2, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	out := Execute(ctx, plan(t, eng, store, n, "b", time.Hour, sample(t)))
	if out.Err != nil || out.Report.Summary.New != 15 {
		t.Fatalf("err %v summary %+v", out.Err, out.Report.Summary)
	}
	found := false
	for _, e := range out.Report.Errors {
		found = found || e.Code == report.CodeStateUnreadable
	}
	if !found {
		t.Errorf("a corrupt state is not reported: %+v", out.Report.Errors)
	}
}

// --fail-on says what reached it, one phrase a reason.
func TestFailOnNamesWhatReachedIt(t *testing.T) {
	rep := func(mod func(*report.Report)) *report.Report {
		r := report.New()
		mod(r)
		r.Finish()
		return r
	}
	for _, tc := range []struct {
		name string
		rep  *report.Report
		want string // "" is not reached
	}{
		{"nothing", rep(func(*report.Report) {}), ""},
		{"below the level", rep(func(r *report.Report) { r.Findings = append(r.Findings, report.Finding{Severity: report.Low}) }), ""},
		{"a finding", rep(func(r *report.Report) {
			r.Findings = append(r.Findings, report.Finding{Severity: report.High}, report.Finding{Severity: report.Critical})
		}), "2 findings at or above high (1 critical, 1 high)"},
		{"a failed region", rep(func(r *report.Report) { r.Summary.RegionsFailed = []string{"cn-x"} }), "regions not scanned completely: cn-x"},
		{"an account", rep(func(r *report.Report) {
			r.Errors = append(r.Errors, report.ErrorEntry{Code: report.CodeAccountUnavailable, AccountID: "1234"})
		}), "accounts that could not be entered (1234)"},
		{"partial listing", rep(func(r *report.Report) {
			r.Errors = append(r.Errors, report.ErrorEntry{Code: report.CodeIncompleteResponse, Region: "cn-y"})
		}), "partial API listings (cn-y)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reached, why := FailOn(tc.rep, report.High)
			if reached != (tc.want != "") || why != tc.want {
				t.Errorf("FailOn = %v %q, want %q", reached, why, tc.want)
			}
		})
	}
}

// A scan error is news once through the pipeline, whose outbox keeps the
// errors' statuses: the first run whose listing is partial posts, the
// next partial one does not, the run that reads the region whole again
// posts its end.
func TestFailureNewsOnceThroughThePipeline(t *testing.T) {
	eng, store, n := engine(t), dirStore(t), &fakeNotifier{failPart: -1}
	ctx := context.Background()
	raw, err := os.ReadFile(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(t.TempDir(), "partial.json")
	if err := os.WriteFile(partial, []byte(strings.Replace(string(raw), `"TotalCount": 2`, `"TotalCount": 3`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		file      string
		posts     int
		status    report.Status
		recovered int
	}{
		{sample(t), 2, "", 0},
		{partial, 2, report.StatusNew, 0},
		{partial, 0, report.StatusOpen, 0},
		{sample(t), 2, "", 1},
		{sample(t), 0, "", 0},
	}
	for i, s := range steps {
		before := len(n.posted)
		out := Execute(ctx, plan(t, eng, store, n, fmt.Sprint("hourly@", i), time.Duration(i)*time.Hour, s.file))
		if out.Err != nil {
			t.Fatalf("run %d: %v", i, out.Err)
		}
		got := report.Status("")
		for _, e := range out.Report.Errors {
			if e.Code == report.CodeIncompleteInventory {
				got = e.Status
			}
		}
		if posts := len(n.posted) - before; posts != s.posts || got != s.status || len(out.Report.Lifecycle.Recovered) != s.recovered {
			t.Errorf("run %d: %d posts (want %d), error status %q (want %q), recovered %+v", i, posts, s.posts, got, s.status, out.Report.Lifecycle.Recovered)
		}
	}
}
