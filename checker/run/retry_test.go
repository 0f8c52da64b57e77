package run

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/saved"
	"github.com/vpncheck/vpncheck/checker/state"
)

// flakySource fails its region while down is set (as a region answering
// 500 after the collector's retries), else reads the files; it counts its
// collections.
type flakySource struct {
	files   saved.Files
	down    atomic.Bool
	collect atomic.Int32
}

func (s *flakySource) Collect(ctx context.Context, inv *inventory.Inventory) error {
	s.collect.Add(1)
	if s.down.Load() {
		inv.Fail(report.ErrorEntry{Region: "cn-hangzhou", Code: "InternalError", Message: "describe vpn connections in cn-hangzhou page 1: InternalError"})
		return nil
	}
	return s.files.Collect(ctx, inv)
}

func flaky(files ...string) *flakySource {
	return &flakySource{files: saved.Files{Paths: files, Region: "cn-hangzhou"}}
}

func hasCode(rep *report.Report, code string) bool {
	for _, e := range rep.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

// A retry of a run whose region failed collects and judges again; a retry
// of the run that then completed replays it, posting nothing more. Timer
// runs, change events' runs and an organisation's per-account runs all go
// this way: they differ only in their run key and scope.
func TestRetryOfIncompleteRunChecksAgain(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		scope     *Scope
		files     func(t *testing.T) string
		want      int // findings once the region answers
	}{
		{"timer", "hourly@2026-11-25T10:05:00Z", nil, sample, 15},
		{"member account", "hourly@2026-11-25T10:05:00Z/1234", nil, sample, 15},
		{"change event", "acs.actiontrail/ev-1", &Scope{Region: "cn-hangzhou", ConnectionID: connA},
			func(t *testing.T) string { return oneConnection(t, connA, func(map[string]any) {}) }, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, store, n := engine(t), dirStore(t), &fakeNotifier{failPart: -1}
			ctx := context.Background()
			src := flaky(tc.files(t))
			attempt := func(at time.Duration) Outcome {
				p := plan(t, eng, store, n, tc.key, at)
				p.Source, p.Scope = src, tc.scope
				return Execute(ctx, p)
			}

			src.down.Store(true)
			first := attempt(0)
			if !errors.Is(first.Err, report.ErrNoRegionScanned) {
				t.Fatalf("first attempt, region down: err %v", first.Err)
			}

			// The API recovers; FC (or the user) retries the same run key
			// at once, within the first attempt's lease.
			src.down.Store(false)
			retry := attempt(time.Minute)
			if retry.Err != nil || src.collect.Load() != 2 {
				t.Fatalf("retry: err %v, %d collections, want 2", retry.Err, src.collect.Load())
			}
			if s := retry.Report.Summary; s.Findings != tc.want || s.New != tc.want || len(s.RegionsFailed) != 0 || len(s.RegionsScan) != 1 {
				t.Errorf("retry judged %+v, want %d new findings and the region scanned", s, tc.want)
			}
			posted := len(n.posted)

			// Another retry of the run that completed: replayed, nothing
			// collected, nothing posted again.
			again := attempt(2 * time.Minute)
			if again.Err != nil || src.collect.Load() != 2 || len(n.posted) != posted {
				t.Errorf("retry of a completed run: err %v, %d collections, posted %v", again.Err, src.collect.Load(), n.posted[posted:])
			}
			if again.Report == nil || again.Report.Summary.Findings != tc.want {
				t.Errorf("the replay's report is not the completed run's: %+v", again.Report)
			}
		})
	}
}

// The news of an incomplete attempt whose delivery failed goes out with its
// retry, at once (not after its lease), before the retry's own; nothing
// already acknowledged is posted again.
func TestRetryDeliversTheIncompleteAttemptsNews(t *testing.T) {
	eng, store := engine(t), dirStore(t)
	ctx := context.Background()
	n := &fakeNotifier{failPart: 1}
	src := flaky(sample(t))
	src.down.Store(true)
	p := plan(t, eng, store, n, "hourly@10", 0)
	p.Source = src
	if out := Execute(ctx, p); out.Err == nil || strings.Join(n.posted, " ") != "hourly@10/0" {
		t.Fatalf("first attempt: err %v, posted %v", out.Err, n.posted)
	}
	src.down.Store(false)
	n.failPart = -1
	p.Now = t0.Add(time.Minute)
	out := Execute(ctx, p)
	if out.Err != nil || out.Report.Summary.New != 15 {
		t.Fatalf("retry: err %v, summary %+v", out.Err, out.Report.Summary)
	}
	if got := strings.Join(n.posted, " "); got != "hourly@10/0 hourly@10/1 hourly@10/0 hourly@10/1" {
		t.Errorf("posted %s: want the first attempt's part 1, then the retry's two", got)
	}
}

// inputSource fails as a source whose input is wrong fails.
type inputSource struct{ collect atomic.Int32 }

func (s *inputSource) Collect(context.Context, *inventory.Inventory) error {
	s.collect.Add(1)
	return badinput.Errorf("VPNCHECK_VPC_ENDPOINT: invalid VPC endpoint \"ftp://x\"")
}

// validatedSource refuses its configuration before collecting.
type validatedSource struct{ inputSource }

func (s *validatedSource) Validate() error {
	return badinput.Errorf("VPNCHECK_VPC_ENDPOINT: invalid VPC endpoint \"ftp://x\"")
}

// A run that fails before it collects anything leaves its run key free:
// the same run, fixed, runs at once.
func TestFailureBeforeCollectionReleasesTheRunKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   func() (Source, *atomic.Int32)
		claim bool // the failing attempt took the key (and released it)
	}{
		{"source refuses its input", func() (Source, *atomic.Int32) { s := &inputSource{}; return s, &s.collect }, true},
		{"validated before the claim", func() (Source, *atomic.Int32) { s := &validatedSource{}; return s, &s.collect }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, store, n := engine(t), dirStore(t), &fakeNotifier{failPart: -1}
			ctx := context.Background()
			src, collected := tc.src()
			p := plan(t, eng, store, n, "acs.actiontrail/ev-2", 0)
			p.Source = src
			out := Execute(ctx, p)
			if !errors.Is(out.Err, badinput.Err) || len(n.posted) != 0 {
				t.Fatalf("bad input: err %v, posted %v", out.Err, n.posted)
			}
			if _, ok := src.(Validator); ok && collected.Load() != 0 {
				t.Error("a source that failed validation was asked to collect")
			}
			runs, err := store.List(ctx, newLedger(store, "1234", time.Now).runKey("acs.actiontrail/ev-2", ""))
			if err != nil {
				t.Fatal(err)
			}
			if tc.claim != (len(runs) > 0) {
				t.Errorf("run key records after the failure: %v", runs)
			}

			p = plan(t, eng, store, n, "acs.actiontrail/ev-2", time.Minute, sample(t))
			out = Execute(ctx, p)
			if out.Err != nil || out.Report == nil || out.Report.Summary.New != 15 {
				t.Fatalf("the fixed run: err %v, report %+v", out.Err, out.Report)
			}
		})
	}
}

// An attempt that may still be working holds its run key until it ends or
// its lease passes; then the next attempt checks again.
func TestLiveAttemptHoldsTheRunKey(t *testing.T) {
	eng, store, n := engine(t), dirStore(t), &fakeNotifier{failPart: -1}
	ctx := context.Background()
	led := newLedger(store, "1234", func() time.Time { return t0 })
	if c, err := led.claim(ctx, "hourly@10", "", t0.Add(15*time.Minute)); err != nil || c.held != 1 {
		t.Fatalf("claim: %+v %v", c, err)
	}
	out := Execute(ctx, plan(t, eng, store, n, "hourly@10", time.Minute, sample(t)))
	if out.Err == nil || !strings.Contains(out.Err.Error(), "another attempt") || out.Report != nil {
		t.Fatalf("within the lease: err %v", out.Err)
	}
	out = Execute(ctx, plan(t, eng, store, n, "hourly@10", 16*time.Minute, sample(t)))
	if out.Err != nil || out.Report.Summary.New != 15 {
		t.Fatalf("after the lease: err %v, report %+v", out.Err, out.Report)
	}
	// Attempts 1 (lapsed) and 2; the run is recorded.
	keys, _ := store.List(ctx, led.runKey("hourly@10", ""))
	var names []string
	for _, k := range keys {
		names = append(names, k[strings.LastIndexByte(k, '/')+1:])
	}
	if strings.Join(names, " ") != "claim claim-2 gen" {
		t.Errorf("run key records %v", names)
	}
}

// The same event id over another event is judged as an event of its own
// and said in errors; each of the two is deduplicated on its own after.
func TestEventIDReusedIsJudged(t *testing.T) {
	eng, store, n := engine(t), dirStore(t), &fakeNotifier{failPart: -1}
	ctx := context.Background()
	src := map[string]*flakySource{connA: flaky(oneConnection(t, connA, func(map[string]any) {})), connB: flaky(oneConnection(t, connB, func(map[string]any) {}))}
	event := func(conn, digest string, at time.Duration) Outcome {
		p := plan(t, eng, store, n, "acs.actiontrail/ev-3", at)
		p.Source, p.Scope, p.EventDigest = src[conn], &Scope{Region: "cn-hangzhou", ConnectionID: conn}, digest
		p.Change = &report.Change{EventID: "ev-3", ConnectionID: conn, Region: "cn-hangzhou"}
		return Execute(ctx, p)
	}
	first := event(connA, "digest-of-a", 0)
	if first.Err != nil || first.Report.Summary.New == 0 || hasCode(first.Report, report.CodeEventIDReused) {
		t.Fatalf("first event: err %v, report %+v", first.Err, first.Report)
	}
	posted := len(n.posted)

	other := event(connB, "digest-of-b", time.Minute)
	if other.Err != nil || src[connB].collect.Load() != 1 || other.Report.Summary.New == 0 || len(n.posted) == posted {
		t.Fatalf("another event under the same id was not judged: err %v, %d collections, report %+v", other.Err, src[connB].collect.Load(), other.Report)
	}
	if !hasCode(other.Report, report.CodeEventIDReused) {
		t.Errorf("errors %+v: want %s", other.Report.Errors, report.CodeEventIDReused)
	}
	for _, f := range other.Report.Findings {
		if f.ConnectionID != connB {
			t.Errorf("finding of %s on the second event's report", f.ConnectionID)
		}
	}

	// Redeliveries of either: replayed, nothing collected or posted.
	posted = len(n.posted)
	for _, tc := range []struct{ conn, digest string }{{connA, "digest-of-a"}, {connB, "digest-of-b"}} {
		out := event(tc.conn, tc.digest, 2*time.Minute)
		if out.Err != nil || src[tc.conn].collect.Load() != 1 || len(n.posted) != posted {
			t.Errorf("redelivery of %s: err %v, %d collections, posted %v", tc.conn, out.Err, src[tc.conn].collect.Load(), n.posted[posted:])
		}
		if reused := hasCode(out.Report, report.CodeEventIDReused); reused != (tc.conn == connB) {
			t.Errorf("redelivery of %s: EventIdReused %v", tc.conn, reused)
		}
	}
}

// A claim of a state from before digests and numbered attempts still holds
// its run key.
func TestClaimOfAnOlderVersion(t *testing.T) {
	store := dirStore(t)
	ctx := context.Background()
	led := newLedger(store, "1234", func() time.Time { return t0 })
	if err := store.Create(ctx, led.runKey("k", "claim"), []byte(`{"lease_until":"2026-11-25T10:15:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	if c, err := led.claim(ctx, "k", "some-digest", t0.Add(time.Hour)); err != nil || !c.live {
		t.Errorf("within its lease: %+v %v", c, err)
	}
	if err := store.Create(ctx, led.runKey("k", "gen"), []byte("3")); err != nil {
		t.Fatal(err)
	}
	if c, err := led.claim(ctx, "k", "some-digest", t0.Add(time.Hour)); err != nil || c.gen != 3 {
		t.Errorf("recorded: %+v %v", c, err)
	}
	if _, err := store.Get(ctx, led.runKey("k", "claim-2")); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("a recorded run was claimed again: %v", err)
	}
}

// A run key's generation record that is not a number cannot be replaced:
// the run checks again instead of failing for ever.
func TestCorruptRunRecordChecksAgain(t *testing.T) {
	store := dirStore(t)
	ctx := context.Background()
	led := newLedger(store, "1234", func() time.Time { return t0 })
	if err := store.Create(ctx, led.runKey("k", "gen"), []byte("not a number")); err != nil {
		t.Fatal(err)
	}
	if c, err := led.claim(ctx, "k", "", t0.Add(time.Hour)); err != nil || c.held != 1 {
		t.Errorf("claim: %+v %v, want attempt 1 held", c, err)
	}
}
