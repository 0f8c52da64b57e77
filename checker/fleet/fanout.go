package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/run"
	"github.com/vpncheck/vpncheck/notify"
)

// Coordinator is a fan-out: the function that checks one account per
// asynchronous invocation, and what the coordinator knows of itself.
type Coordinator struct {
	Settings Settings
	// Credential is the coordinator's own: it lists the accounts and
	// starts the invocations.
	Credential credentials.Credential
	// Function is the function to invoke (the coordinator's own), in
	// AccountID and Region (its FC endpoint unless Settings.FCEndpoint).
	Function  org.Function
	AccountID string
	Region    string
	RunKey    string
	// Event is the event that starts account's invocation.
	Event func(account string) ([]byte, error)
	// Notifier is told about the accounts not checked or not started, in
	// one message; nil: nobody, which NoNotifier (when set) makes an error
	// of the fan-out, as such news would reach no one.
	Notifier   run.Notifier
	NoNotifier error
}

// Started is what became of a fan-out that listed its accounts.
type Started struct {
	// Report has summary.accounts (status "started" for each account whose
	// invocation was started) and an errors entry for each account not
	// ready or not started.
	Report *report.Report
	// Delivery is what the notifier did; nil when it was not called.
	Delivery *notify.Delivery
	// Err is why the fan-out did not complete: invocations that could not
	// be started (the coordinator should fail, so that it is retried), or
	// news that could not be told.
	Err error

	Accounts       int // listed (less the excluded)
	Started        int // invocations started now
	AlreadyStarted int // started by an earlier attempt of the same run key
	NotStarted     int
	Unavailable    int // not ready
}

// FanOut lists the accounts and starts one asynchronous invocation of
// c.Function per account, under a task id made of the run key and the
// account (org.TaskID), so that a retried coordinator never starts an
// account twice. It tells c.Notifier only what went wrong: accounts not
// ready, or whose invocation could not be started. It returns an error,
// having started nothing, when the FC endpoint is unusable or the
// accounts cannot be listed: the caller fails the run as any run that
// cannot start.
func FanOut(ctx context.Context, c Coordinator) (Started, error) {
	endpoint := c.Settings.FCEndpoint
	if endpoint == "" {
		endpoint = org.FCEndpoint(c.AccountID, c.Region)
	}
	client, err := org.NewClient(c.Credential, endpoint, org.ClientOptions{})
	if err != nil {
		// Named by the variable that sets it, as users know it.
		return Started{}, fmt.Errorf("VPNCHECK_FC_ENDPOINT: %w", err)
	}
	accounts, err := Targets(ctx, c.Settings, c.Credential)
	if err != nil {
		return Started{}, err
	}
	starts := startAccounts(ctx, c, client, accounts)

	res, lost := tallyStarts(starts)
	var errs []error
	if res.NotStarted > 0 {
		// Failing makes Function Compute retry the coordinator: the task ids
		// keep the accounts already started from starting again.
		errs = append(errs, fmt.Errorf("fan-out: %d of %d account invocations could not be started", res.NotStarted, len(accounts)))
	}
	if len(res.Report.Errors) > 0 {
		switch {
		case c.Notifier != nil:
			d, err := c.Notifier.NotifyFailure(ctx, notify.Run{Key: c.RunKey, AccountID: c.AccountID}, accountTrouble(lost, len(accounts)))
			res.Delivery = &d
			if err != nil {
				errs = append(errs, fmt.Errorf("notify: %w", err))
			}
		case c.NoNotifier != nil:
			errs = append(errs, c.NoNotifier)
		}
	}
	res.Err = errors.Join(errs...)
	return res, nil
}

// accountStart is how the start of one account's check went: its part of
// the report, what went wrong ("" when nothing), and whether an earlier
// attempt of this run had started it already.
type accountStart struct {
	part    report.AccountPart
	trouble string
	again   bool
}

// startAccounts starts the check of each ready account, invokeConcurrency
// at once, and says how each went, in the accounts' order.
func startAccounts(ctx context.Context, c Coordinator, client *org.Client, accounts []org.Account) []accountStart {
	starts := make([]accountStart, len(accounts))
	sem := make(chan struct{}, invokeConcurrency)
	var wg sync.WaitGroup
	for i, a := range accounts {
		s := &starts[i]
		s.part = report.AccountPart{AccountID: a.ID, DisplayName: a.DisplayName, Status: report.AccountStarted}
		if why := notReady(a.Status); why != "" {
			s.part.Status = ""
			s.part.Errors = []report.ErrorEntry{notReadyEntry(a.ID, why)}
			s.trouble = "not ready: " + why
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ev, err := c.Event(a.ID)
			if err == nil {
				err = org.InvokeAsync(ctx, client, c.Function, ev, org.TaskID(c.RunKey, a.ID))
			}
			switch {
			case errors.Is(err, org.ErrAlreadyStarted):
				s.again = true // an earlier attempt of this run started it
			case err != nil:
				e := report.ErrorEntry{Code: report.CodeAccountFailed, Message: "could not start the check of account " + a.ID + ": " + oneLine(err.Error())}
				var ae *org.APIError
				if errors.As(err, &ae) {
					e.RequestID = ae.RequestID
				}
				s.part.Status, s.part.Errors = "", []report.ErrorEntry{e}
				s.trouble = "invocation not started: " + shortWhy(err)
			}
		}()
	}
	wg.Wait()
	return starts
}

// tallyStarts merges the accounts' parts into the fan-out's report and
// counts how their starts went; lost are the accounts to tell of.
func tallyStarts(starts []accountStart) (Started, []trouble) {
	parts := make([]report.AccountPart, len(starts))
	for i, s := range starts {
		parts[i] = s.part
	}
	res := Started{Report: report.Merge(parts), Accounts: len(starts)}
	var lost []trouble
	for _, s := range starts {
		p := s.part
		if s.trouble != "" {
			lost = append(lost, trouble{p.AccountID, p.DisplayName, s.trouble})
		}
		switch {
		case s.again:
			res.AlreadyStarted++
		case p.Status == report.AccountStarted:
			res.Started++
		case len(p.Errors) > 0 && p.Errors[0].Code == report.CodeAccountFailed:
			res.NotStarted++
		}
	}
	res.Unavailable = len(res.Report.Errors) - res.NotStarted
	return res, lost
}
