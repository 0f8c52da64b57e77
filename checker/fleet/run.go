package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/alibaba"
	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/run"
	"github.com/vpncheck/vpncheck/checker/saved"
	"github.com/vpncheck/vpncheck/notify"
)

// Run runs plan's check in every account s names, plan serving as every
// account's template: the same policies, options, notifier and state
// store (kept per account), with the account's credentials in the live
// source (alibaba.Live; its credential, the caller's own, enters the
// accounts). Per-account run keys are runKey + "/" + account id; an empty
// runKey (the command line) names the role sessions after the time.
//
// plan is a built one (run.Builder): a plan that cannot start is ended by
// run.Start, said once, not once per account.
//
// The outcome is one merged report. Its Err says why the
// organisation-wide run did not complete: the plan has no policies, the accounts cannot be listed, no
// account could be checked, a delivery failed, or pages could not be
// saved. An account that could not be entered, or that scanned no region,
// is an errors entry of the report, and the others go on; the notifier is
// told about the accounts not entered in one message.
func Run(ctx context.Context, plan run.Plan, s Settings, runKey string) run.Outcome {
	if plan.Engine == nil {
		return run.Execute(ctx, plan)
	}
	live, ok := plan.Source.(alibaba.Live)
	if !ok {
		return run.Outcome{Err: badinput.Errorf("member accounts are checked through the live API: --accounts cannot be used with --inventory")}
	}
	base := alibaba.LockCredential(live.Config.Credential) // shared by the accounts' goroutines
	accounts, err := Targets(ctx, s, base)
	if err != nil {
		return run.Start(ctx, plan, err) // said to the notifier like any run that cannot start
	}
	session := runKey
	if session == "" {
		session = "cli-" + time.Now().UTC().Format("20060102T150405Z")
	}
	r := runner{settings: s, base: base, session: session, notifier: plan.Notifier, runKey: runKey,
		plan: func(a org.Account, cred credentials.Credential) run.Plan {
			p := plan
			src := live
			src.Config.Credential = cred
			p.Source = src
			if runKey != "" {
				p.RunKey = runKey + "/" + a.ID
			}
			return p
		}}
	return r.execute(ctx, accounts)
}

// runner checks accounts through the run pipeline, a few at once, and
// merges their reports into one.
type runner struct {
	settings Settings
	base     credentials.Credential // enters the accounts (the caller's own)
	session  string                 // the run key the role sessions are named after
	// plan is an account's plan, given its credential: the plan the
	// caller's own account would have had, with that account's source.
	plan func(a org.Account, cred credentials.Credential) run.Plan
	// notifier is told about the accounts that could not be entered (each
	// account's own run tells it the rest); nil: nobody.
	notifier run.Notifier
	runKey   string
}

// result is one account's share of the run.
type result struct {
	part    report.AccountPart
	out     *run.Outcome // nil: not run
	trouble string       // why it was not entered, in words other accounts may share
}

func (r runner) one(ctx context.Context, a org.Account) result {
	res := result{part: report.AccountPart{AccountID: a.ID, DisplayName: a.DisplayName}}
	if why := notReady(a.Status); why != "" {
		res.part.Errors = []report.ErrorEntry{notReadyEntry(a.ID, why)}
		res.trouble = "not ready: " + why
		return res
	}
	if err := ctx.Err(); err != nil {
		res.part.Errors = []report.ErrorEntry{{Code: report.CodeAccountFailed,
			Message: fmt.Sprintf("account %s not checked: the run ended first (%v)", a.ID, err)}}
		return res
	}
	cred, err := Enter(ctx, r.settings, r.base, a.ID, r.session)
	if err != nil {
		res.part.Errors = []report.ErrorEntry{unavailable(a.ID, err)}
		res.trouble = "role " + r.settings.roleName() + " not assumed: " + shortWhy(err)
		return res
	}
	p := r.plan(a, cred)
	p.AccountID = a.ID
	out := run.Execute(ctx, p)
	res.out = &out
	res.part.Report = out.Report
	if out.Err != nil {
		res.part.Errors = []report.ErrorEntry{{Code: report.CodeAccountFailed,
			Message: fmt.Sprintf("check of account %s did not complete: %s", a.ID, scrubbed(out))}}
	}
	return res
}

// scrubbed is a run's error without the run's secrets.
func scrubbed(out run.Outcome) string {
	msg := oneLine(out.Err.Error())
	if out.Secrets != nil {
		msg = out.Secrets.Scrub(msg)
	}
	return msg
}

// execute checks every account and returns the merged outcome (see Run).
func (r runner) execute(ctx context.Context, accounts []org.Account) run.Outcome {
	results := make([]result, len(accounts))
	n := r.settings.Concurrency
	if n < 1 {
		n = DefaultConcurrency
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, a := range accounts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = r.one(ctx, a)
		}()
	}
	wg.Wait()

	var (
		parts    []report.AccountPart
		errs     []error
		inputErr error
		d        notify.Delivery
		notified bool
		checked  int
		lost     []trouble
	)
	for _, res := range results {
		parts = append(parts, res.part)
		if res.trouble != "" {
			lost = append(lost, trouble{res.part.AccountID, res.part.DisplayName, res.trouble})
		}
		out := res.out
		if out == nil {
			continue
		}
		if out.Delivery != nil {
			d.Messages, d.Posted, d.Skipped = d.Messages+out.Delivery.Messages, d.Posted+out.Delivery.Posted, d.Skipped+out.Delivery.Skipped
			notified = true
		}
		switch err := out.Err; {
		case err == nil:
			checked++
		case errors.Is(err, badinput.Err):
			inputErr = badinput.Errorf("%s", scrubbed(*out)) // the same for every account: said once
		case errors.Is(err, report.ErrNoRegionScanned) && !errors.Is(err, saved.ErrSaveInventory):
			// An errors entry of the report; the others go on.
		default: // a delivery (or a save) failed: the run did not do its job
			errs = append(errs, fmt.Errorf("account %s: %s", res.part.AccountID, scrubbed(*out)))
		}
	}
	merged := report.Merge(parts)

	if len(lost) > 0 && r.notifier != nil {
		nd, err := r.notifier.NotifyFailure(ctx, notify.Run{Key: r.runKey}, accountTrouble(lost, len(accounts)))
		d.Messages, d.Posted, d.Skipped = d.Messages+nd.Messages, d.Posted+nd.Posted, d.Skipped+nd.Skipped
		notified = true
		if err != nil {
			errs = append(errs, fmt.Errorf("notify: %w", err))
		}
	}
	if checked == 0 {
		if inputErr != nil {
			return run.Outcome{Report: merged, Err: inputErr}
		}
		errs = append([]error{fmt.Errorf("no account could be checked (%s): see errors", report.Plural(len(accounts), "account"))}, errs...)
	}
	out := run.Outcome{Report: merged, Err: errors.Join(errs...)}
	if notified || r.notifier != nil {
		out.Delivery = &d
	}
	return out
}
