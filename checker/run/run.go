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
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/notify"
)

// Source fills an inventory with the connections of one run: saved files
// (checker.Files) or the live API (alibaba.Live). Failures of a region are
// recorded in the inventory; an error stops the run (wrapping
// checker.ErrInput where the user's input is at fault).
type Source interface {
	Collect(ctx context.Context, inv *checker.Inventory) error
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
	// Engine is the compiled policies; EngineErr, when set, is why they
	// did not load: the run fails with it (and says so to the notifier).
	Engine    *checker.Engine
	EngineErr error

	MinSeverity report.Severity
	AccountID   string    // stamped on the report and findings when known
	Now         time.Time // exception expiry; zero: time.Now()
	// Inputs, when set, receives the policy inputs as a JSON array.
	Inputs io.Writer

	// Notifier, when set, receives the report, or the failure.
	Notifier Notifier
	// RunKey names the run across retries (see notify.Run).
	RunKey string

	// Unattended is a run no one watches at a terminal (Function Compute):
	// bad input is told to the notifier like any other failure.
	Unattended bool

	// FitMemory raises the soft heap limit for a run whose collected
	// connections fill much of it (set when vpncheck owns GOMEMLIMIT).
	FitMemory bool
}

// Outcome is what became of a run.
type Outcome struct {
	// Report is the run's report; nil only when nothing could be judged
	// (policies, source or evaluation failed).
	Report *report.Report
	// Secrets are the run's secret values, for any last guard of a caller.
	Secrets *checker.Secrets
	// Delivery is what the notifier did; nil when none was asked.
	Delivery *notify.Delivery
	// Err is why the run could not complete: policies did not load, the
	// source failed, no region was scanned, pages could not be saved, or
	// the notifier could not deliver. The report, when set, is still the
	// run's and should still be shown.
	Err error
}

// Grace is how long evaluation, reporting and delivery may still take
// after the run's deadline passed during collection: what was read is
// judged and reported, never dropped.
const Grace = 30 * time.Second

// collectReserve is the part of the time left that collection leaves for
// evaluation and delivery: a tenth, at most 5 s.
func collectReserve(left time.Duration) time.Duration { return min(left/10, 5*time.Second) }

// Execute runs a plan.
func Execute(ctx context.Context, p Plan) Outcome {
	var out Outcome
	if p.EngineErr != nil || p.Engine == nil {
		err := p.EngineErr
		if err == nil {
			err = errors.New("no policies")
		}
		return p.failed(ctx, out, err)
	}

	inv := checker.NewInventory()
	cctx, cancel := ctx, context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		cctx, cancel = context.WithDeadline(ctx, dl.Add(-collectReserve(time.Until(dl))))
	}
	srcErr := p.Source.Collect(cctx, inv)
	cancel()
	if srcErr != nil && !errors.Is(srcErr, checker.ErrSaveInventory) {
		if errors.Is(srcErr, checker.ErrInput) && !p.Unattended {
			out.Err = srcErr // the user at the terminal fixes it; nothing to tell the channel
			return out
		}
		return p.failed(ctx, out, fmt.Errorf("collect: %w", srcErr))
	}

	if p.FitMemory {
		fitMemoryLimit()
	}
	ectx, cancel := afterDeadline(ctx)
	defer cancel()
	res, err := p.Engine.Check(ectx, inv, checker.Options{
		MinSeverity: p.MinSeverity, Now: p.Now, AccountID: p.AccountID, Inputs: p.Inputs,
	})
	if err != nil {
		return p.failed(ectx, out, err)
	}
	out.Report, out.Secrets = res.Report, res.Secrets

	if p.Notifier != nil {
		d, err := p.Notifier.NotifyReport(ectx, p.notifyRun(out.Secrets), out.Report)
		out.Delivery = &d
		if err != nil {
			out.Err = fmt.Errorf("notify: %w", err)
			return out
		}
	}
	out.Err = errors.Join(out.Report.NoRegionScanned(), srcErr)
	return out
}

// afterDeadline is ctx, or, once its deadline has passed, a context with
// Grace more: a run whose collection took all its time still reports.
func afterDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), Grace)
}

func (p Plan) notifyRun(secrets *checker.Secrets) notify.Run {
	r := notify.Run{Key: p.RunKey, AccountID: p.AccountID}
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
	ctx, cancel := afterDeadline(ctx)
	defer cancel()
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
	if rep.Failed() {
		switch {
		case len(rep.Summary.RegionsFailed) > 0:
			why = append(why, "regions not scanned completely: "+strings.Join(rep.Summary.RegionsFailed, ", "))
		default:
			why = append(why, "the inventory is incomplete")
		}
	}
	return len(why) > 0, strings.Join(why, "; ")
}

// DefaultMemoryLimit is the soft heap limit vpncheck sets when GOMEMLIMIT
// is not set (function/main.go).
const DefaultMemoryLimit = 96 << 20

// fitMemoryLimit raises the soft heap limit for a run whose collected
// connections already fill much of it: findings come on top, and a heap held
// near the limit makes the garbage collector run without pause. Three times
// what is live leaves room for both.
func fitMemoryLimit() {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := int64(s[0].Value.Uint64())
	debug.SetMemoryLimit(max(DefaultMemoryLimit, 3*live))
}
