// Package run is vpncheck's one run pipeline: a Plan in (where connections
// come from, which policies, options, where results go), an Outcome out.
// The command line and the Function Compute handler are thin adapters over
// Execute; every rule of a run (deadlines, reserves, delivery of failures)
// lives here once.
package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"time"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/keys"
	"github.com/vpncheck/vpncheck/checker/lifecycle"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/saved"
	"github.com/vpncheck/vpncheck/checker/state"
	"github.com/vpncheck/vpncheck/notify"
)

// Source fills an inventory with the connections of one run: saved files
// (saved.Files) or the live API (alibaba.Live). Failures of a region are
// recorded in the inventory; an error stops the run (wrapping
// badinput.Err where the user's input is at fault).
type Source interface {
	Collect(ctx context.Context, inv *inventory.Inventory) error
}

// Notifier delivers a run's report, or the reason it could not complete.
// notify/slack.Notifier is one.
type Notifier interface {
	NotifyReport(ctx context.Context, run notify.Run, rep *report.Report) (notify.Delivery, error)
	NotifyFailure(ctx context.Context, run notify.Run, reason string) (notify.Delivery, error)
}

// Plan is one run.
type Plan struct {
	Source Source
	// Engine is the compiled policies. A plan that cannot be built (its
	// policies did not load, a setting is wrong) is not run: see Builder
	// and Start.
	Engine *checker.Engine

	MinSeverity report.Severity
	AccountID   string    // stamped on the report and findings when known
	Now         time.Time // exception expiry; zero: time.Now()
	// Inputs, when set, receives the policy inputs as a JSON array.
	Inputs io.Writer

	// Notifier, when set, receives the report, or the failure.
	Notifier Notifier
	// RunKey names the run across retries (see notify.Run).
	RunKey string
	// EventDigest is what the run's event says (change.Event.Digest): a
	// run key first claimed with another digest is another event reusing
	// the id, judged on its own and named in errors (EventIdReused).
	EventDigest string
	// reusedID is the run key another event claimed first, when this is
	// such a run.
	reusedID string

	// Unattended is a run no one watches at a terminal (Function Compute):
	// bad input is told to the notifier like any other failure.
	Unattended bool

	// State, when set, keeps the lifecycle between runs: each finding is
	// new or open, fixed ones are resolved, and only news is delivered,
	// exactly once per run key (see state.go).
	State state.Store
	// StateErr is why the configured state store could not be opened: the
	// run goes on without it (every finding new) and says so in errors.
	StateErr error
	// ReadOnlyState compares with the state and writes nothing (a dry run).
	ReadOnlyState bool
	// DigestEvery is how often the open findings are sent whole (0: never).
	DigestEvery time.Duration
	// KeyPepper is the HMAC key of the key fingerprints the state keeps
	// (checker.Options.KeyPepper); nil: unpeppered. Where it comes from is
	// the caller's business (an environment variable, a secret store).
	KeyPepper []byte

	// FitMemory raises the soft heap limit for a run whose collected
	// connections fill much of it (set when vpncheck owns GOMEMLIMIT).
	FitMemory bool

	// Scope, when set, is the one connection a change event's run judges
	// (see Scope); Change is that event's API call, put on the report.
	Scope  *Scope
	Change *report.Change

	// FixFor, when set, asks for the combined fix of the connection with
	// this id: Outcome.Plans (vpncheck fix).
	FixFor string
}

// Outcome is what became of a run.
type Outcome struct {
	// Report is the run's report; nil only when nothing could be judged
	// (policies, source or evaluation failed).
	Report *report.Report
	// Secrets are the run's secret values, for any last guard of a caller.
	Secrets *keys.Secrets
	// Plans are the combined fixes Plan.FixFor asked for.
	Plans []checker.Plan
	// Delivery is what the notifier did; nil when none was asked.
	Delivery *notify.Delivery
	// Err is why the run could not complete: policies did not load, the
	// source failed, no region was scanned, pages could not be saved, or
	// the notifier could not deliver. The report, when set, is still the
	// run's and should still be shown.
	Err error
}

// The time a run keeps back from collection for what comes after it, so
// that whatever was collected is judged and reported within the deadline:
// a fixed part, a part per connection collected (evaluation, key
// estimates, the report; measured at well under 1 ms of CPU each, counted
// at 2 ms for a small Function Compute instance), and the delivery.
const (
	reserveBase     = time.Second
	reservePerConn  = 2 * time.Millisecond
	reserveDelivery = 5 * time.Second
)

// reserve is the time kept back for evaluating n connections and
// delivering the result, at most half the run's whole time.
func reserve(n int, deliver bool, whole time.Duration) time.Duration {
	r := reserveBase + time.Duration(n)*reservePerConn
	if deliver {
		r += reserveDelivery
	}
	return min(r, whole/2)
}

// collectWithin collects until the deadline less what judging and
// reporting what was collected will need, re-estimated as connections
// arrive.
func (p Plan) collectWithin(ctx context.Context, inv *inventory.Inventory) error {
	dl, ok := ctx.Deadline()
	if !ok {
		return p.Source.Collect(ctx, inv)
	}
	whole := time.Until(dl)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if time.Until(dl) <= reserve(inv.Len(), p.Notifier != nil, whole) {
				cancel()
				return
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return p.Source.Collect(cctx, inv)
}

// Validator is a Source that can tell, before anything is collected,
// that it cannot start (a malformed endpoint): the run then fails before
// it takes its run key.
type Validator interface {
	Validate() error
}

// Execute runs a plan.
//
// With a state and a run key, the run key is claimed first, after
// everything that can be checked without collecting has been: a retry of a
// run that completed its collection replays that run (posting only what
// was not acknowledged); a retry of one that did not collects and judges
// again. An attempt that ends without completing releases its claim.
func Execute(ctx context.Context, p Plan) Outcome {
	var out Outcome
	if p.Engine == nil {
		return p.failed(ctx, out, errNoPolicies)
	}
	if v, ok := p.Source.(Validator); ok {
		if err := v.Validate(); err != nil {
			return p.collectFailed(ctx, out, err)
		}
	}

	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	if p.State == nil {
		out, _ = p.execute(ctx, nil, now)
		return out
	}
	clock := time.Now
	if !p.Now.IsZero() {
		clock = func() time.Time { return p.Now }
	}
	led := newLedger(p.State, p.AccountID, clock)
	if p.ReadOnlyState || p.RunKey == "" {
		out, _ = p.execute(ctx, led, now)
		return out
	}
	c, err := led.claim(ctx, p.RunKey, p.EventDigest, leaseUntil(ctx, now))
	if err == nil && c.reused {
		// The same id over another event: a run of its own, under a key
		// of its own (so that its own retries are recognised), and said.
		p.reusedID, p.RunKey = p.RunKey, reusedKey(p.RunKey, p.EventDigest)
		c, err = led.claim(ctx, p.RunKey, p.EventDigest, leaseUntil(ctx, now))
	}
	switch {
	case err != nil:
		return p.failed(ctx, out, err)
	case c.gen > 0:
		return p.resume(ctx, led, c.gen)
	case c.live || c.held == 0:
		out.Err = fmt.Errorf("run %s is being run by another attempt whose lease has not ended: try again later", p.RunKey)
		return out
	}
	out, completed := p.execute(ctx, led, now)
	if !completed {
		// Not being able to say so only makes a retry wait out the lease.
		if err := led.release(ctx, p.RunKey, c.held); err != nil {
			err = fmt.Errorf("%w: a retry waits until this attempt's lease has passed", err)
			if out.Report != nil {
				out.Report.Errors = append(out.Report.Errors, report.ErrorEntry{Code: report.CodeStateUnwritable, Message: err.Error()})
			} else {
				out.Err = errors.Join(out.Err, err) // the run failed already: said with its reason
			}
		}
	}
	return out
}

// reusedKey is the run key of an event that reuses another event's id.
func reusedKey(key, digest string) string {
	return key + "#" + digest[:min(len(digest), 16)]
}

// execute collects, judges and reports. completed says the run collected
// everything it was asked to and recorded its generation under its run
// key: a retry replays it instead of checking again.
func (p Plan) execute(ctx context.Context, led *ledger, now time.Time) (out Outcome, completed bool) {
	inv := inventory.New()
	srcErr := p.collectWithin(ctx, inv)
	if srcErr != nil && !errors.Is(srcErr, saved.ErrSaveInventory) {
		return p.collectFailed(ctx, out, srcErr), false
	}

	if p.FitMemory {
		fitMemoryLimit(false)
	}
	// The state is read once, before the check: its key prints are what a
	// change event's run compares its keys with, and the same read is the
	// lifecycle's first comparison.
	var read *stateRead
	var known *lifecycle.KeyPrints
	var previous *checker.Memory
	if led != nil {
		read = &stateRead{}
		read.gen, read.g, read.err = led.latest(ctx)
		known = p.knownKeys(read.g.State.Keys)
		previous = read.g.Judged
	}
	ectx := ctx
	res, err := p.Engine.Check(ectx, inv, checker.Options{
		MinSeverity: p.MinSeverity, Now: p.Now, AccountID: p.AccountID, Inputs: p.Inputs, KnownKeys: known,
		KeyPepper: p.KeyPepper,
		PlanFor:   p.FixFor,
		Remember:  led != nil, Previous: previous,
	})
	if p.FitMemory {
		fitMemoryLimit(true) // the findings (and their fixes, made as they are written) come on top
	}
	if err != nil {
		return p.failed(ectx, out, err), false
	}
	out.Report, out.Secrets, out.Plans = res.Report, res.Secrets, res.Plans
	out.Report.Change = p.Change
	whole := srcErr == nil && collectedWhole(out.Report)
	if previous != nil && previous.Unreadable != nil {
		out.Report.Errors = append(out.Report.Errors, report.ErrorEntry{Code: report.CodeStateUnreadable,
			Message: fmt.Sprintf("state generation %d: what its run judged does not read (%v): every connection is judged afresh", read.gen, previous.Unreadable)})
	}
	if p.StateErr != nil {
		out.Report.Errors = append(out.Report.Errors, report.ErrorEntry{Code: report.CodeStateUnreadable,
			Message: p.StateErr.Error() + ": every finding counts as new, and nothing is remembered"})
	}
	if p.reusedID != "" {
		e := report.ErrorEntry{Code: report.CodeEventIDReused,
			Message: fmt.Sprintf("event %s was delivered before with other content (another call or connection): this one is judged as an event of its own", p.reusedID)}
		if p.Scope != nil {
			e.ConnectionID = p.Scope.ConnectionID
		}
		out.Report.Errors = append(out.Report.Errors, e)
	}

	if led != nil {
		d, handled, recorded, err := p.advance(ectx, led, res, now, read, whole)
		if err != nil {
			out.Delivery, out.Err = d, fmt.Errorf("notify: %w", err)
			return out, recorded
		}
		if handled {
			if p.Notifier != nil {
				out.Delivery = d
			}
			out.Err = errors.Join(out.Report.NoRegionScanned(), srcErr)
			return out, recorded
		}
	}
	if p.Notifier != nil {
		d, err := p.Notifier.NotifyReport(ectx, p.notifyRun(out.Secrets), out.Report)
		out.Delivery = &d
		if err != nil {
			out.Err = fmt.Errorf("notify: %w", err)
			return out, false
		}
	}
	out.Err = errors.Join(out.Report.NoRegionScanned(), srcErr)
	return out, false
}

// collectFailed ends a run whose source could not start or stopped: bad
// input at a terminal is the user's to fix (nothing to tell the channel);
// anything else is told like any failure.
func (p Plan) collectFailed(ctx context.Context, out Outcome, err error) Outcome {
	if errors.Is(err, badinput.Err) && !p.Unattended {
		out.Err = err
		return out
	}
	return p.failed(ctx, out, fmt.Errorf("collect: %w", err))
}

// collectedWhole says whether a run read everything it was asked to: every
// region scanned, no listing partial, every connection judged, no deadline
// cut. Only such a run is replayed on a retry of its run key.
func collectedWhole(rep *report.Report) bool {
	if rep.NoRegionScanned() != nil || rep.Failed() {
		return false
	}
	for _, e := range rep.Errors {
		if e.Code == report.CodeDeadlineExceeded {
			return false
		}
	}
	return true
}

func (p Plan) notifyRun(secrets *keys.Secrets) notify.Run {
	r := notify.Run{Key: p.RunKey, AccountID: p.AccountID, At: p.Now}
	if secrets != nil {
		r.Scrubber = secrets
	}
	return r
}

// failed ends a run that could not judge anything, telling the notifier
// (a broken checker must not look like a quiet one).
func (p Plan) failed(ctx context.Context, out Outcome, err error) Outcome {
	out.Err = err
	if p.Notifier == nil {
		return out
	}
	if ctx.Err() != nil {
		// The deadline passed: still say the run failed, briefly.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), reserveDelivery)
		defer cancel()
	}
	d, nerr := p.Notifier.NotifyFailure(ctx, p.notifyRun(out.Secrets), err.Error())
	out.Delivery = &d
	if nerr != nil {
		out.Err = errors.Join(err, fmt.Errorf("notify failure: %w", nerr))
	}
	return out
}

// FailOn says whether a report reaches level: a finding at or above it, or
// a scan that failed or read partial data. The reason names what reached it.
func FailOn(rep *report.Report, level report.Severity) (bool, string) {
	var why []string
	var at []report.Finding
	for _, f := range rep.Findings {
		if f.Severity >= level {
			at = append(at, f)
		}
	}
	if len(at) > 0 {
		why = append(why, fmt.Sprintf("%s at or above %s (%s)", report.Plural(len(at), "finding"), level, report.CountOf(at).Join(", ")))
	}
	why = append(why, rep.FailureReasons()...)
	return len(why) > 0, strings.Join(why, "; ")
}

// DefaultMemoryLimit is the soft heap limit vpncheck sets when GOMEMLIMIT
// is not set (function/main.go).
const DefaultMemoryLimit = 96 << 20

// fitMemoryLimit raises the soft heap limit for a run whose collected
// connections already fill much of it: a heap held near the limit makes
// the garbage collector run without pause. Before the check (judged
// false) it leaves room of three times what is live: the key estimates
// make garbage fast, and less room (tried: half as much again) doubled a
// 100,000-connection run's CPU. Once the check is done only the report's
// writing comes on top, and half as much again as is live (at least
// 32 MiB) is room enough: three times let a weak fleet's JSON report
// grow the heap to twice its live size.
func fitMemoryLimit(judged bool) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := int64(s[0].Value.Uint64())
	limit := 3 * live
	if judged {
		limit = live + max(live/2, 32<<20)
	}
	debug.SetMemoryLimit(max(DefaultMemoryLimit, limit))
}
