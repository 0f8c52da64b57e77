package main

// Organisation-wide checks: the function's adapters over checker/fleet.
// The command line checks the member accounts in one process (fleet.Run);
// in Function Compute the timer invocation either hands each account to an
// asynchronous invocation of the function itself (VPNCHECK_FANOUT=async,
// fleet.FanOut), or checks them all itself as the command line does (off).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/vpncheck/vpncheck/checker/alibaba"
	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/fleet"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/run"
)

const (
	fanoutAsync = "async" // one asynchronous invocation per account
	fanoutOff   = "off"   // every account in the timer's own invocation
)

// execute is a check of o's accounts when it names any, else of the
// caller's own account; a plan that cannot start (err) fails once,
// whatever the accounts. runKey names the run ("": the command line).
func (o orgSettings) execute(ctx context.Context, plan run.Plan, err error, runKey string) run.Outcome {
	s := o.settings()
	if err != nil || !s.Enabled() {
		return run.Start(ctx, plan, err)
	}
	return fleet.Run(ctx, plan, s, runKey)
}

// Function Compute.

// handleOrg serves a timer (or manual) invocation that concerns member
// accounts: one fanned out to a single account (the payload's account), or
// the coordinator of VPNCHECK_ACCOUNTS. handled is false for a check of
// the function's own account.
func (h *fcHandler) handleOrg(ctx context.Context, fctx *fccontext.FcContext, log *slog.Logger, iv invocation) (res *fcResult, handled bool, err error) {
	o, err := orgSettingsFrom(setting{h.getenv(envAccounts), envAccounts}, setting{h.getenv(envExcludeAccounts), envExcludeAccounts}, h.getenv)
	if err == nil && !o.settings().Enabled() && iv.Account == "" {
		return nil, false, nil
	}
	runKey := iv.runKey(fctx.RequestID)
	log = log.With("run_key", runKey)
	if iv.Account != "" {
		log = log.With("account_id", iv.Account)
	}
	plan := func() *run.Builder {
		b := h.basePlan(ctx, fctx, runKey, iv.DryRun)
		b.Fail(err) // a misspelt setting fails loudly, like any run that cannot start
		return b
	}
	switch {
	case err != nil:
		p, perr := plan().Build()
		res, err = h.finish(log, run.Start(ctx, p, perr), runKey, iv.DryRun)
	case iv.Account != "":
		res, err = h.checkAccount(ctx, fctx, log, iv, o, runKey, plan())
	case o.fanout == fanoutOff:
		b := plan()
		src, sev, serr := h.source(fctx, iv)
		b.Plan.Source, b.Plan.MinSeverity = src, sev
		b.Fail(serr)
		p, perr := b.Build()
		res, err = h.finish(log, o.execute(ctx, p, perr, runKey), runKey, iv.DryRun)
	default:
		res, err = h.fanOut(ctx, fctx, log, iv, o, runKey)
	}
	return res, true, err
}

// checkAccount serves one fanned-out invocation: the role is assumed in
// the payload's account, whose every region (VPNCHECK_REGIONS) is checked,
// with that account's state and news.
func (h *fcHandler) checkAccount(ctx context.Context, fctx *fccontext.FcContext, log *slog.Logger, iv invocation, o orgSettings, runKey string, b *run.Builder) (*fcResult, error) {
	s := o.settings()
	if !s.Enabled() || !s.Allows(iv.Account) {
		// Only accounts the deployment names are entered, whoever invokes.
		err := fmt.Errorf("event payload: account %s is not one that %s names, or %s excludes it", iv.Account, envAccounts, envExcludeAccounts)
		log.Error("invocation rejected", "error", err.Error())
		return nil, err
	}
	b.Plan.AccountID = iv.Account
	src, sev, err := h.source(fctx, iv)
	b.Plan.MinSeverity = sev
	if err == nil {
		live := src.(alibaba.Live)
		var cred credentials.Credential
		if cred, err = fleet.Enter(ctx, s, live.Config.Credential, iv.Account, runKey); err == nil {
			live.Config.Credential = cred
			b.Plan.Source = live
		}
	}
	b.Fail(err)
	plan, err := b.Build()
	return h.finish(log, run.Start(ctx, plan, err), runKey, iv.DryRun)
}

// accountPayload is a fanned-out invocation's payload: the account and the
// coordinator's run key, and the coordinator's own overrides.
type accountPayload struct {
	Account     string   `json:"account"`
	RunKey      string   `json:"run_key"`
	Regions     []string `json:"regions,omitempty"`
	MinSeverity string   `json:"min_severity,omitempty"`
	DryRun      bool     `json:"dry_run,omitempty"`
}

// accountEvent is the event that starts account's invocation: shaped as
// the timer event the handler parses, {"payload": "<JSON object>"}.
func accountEvent(iv invocation, runKey, account string) ([]byte, error) {
	p := accountPayload{Account: account, RunKey: runKey + "/" + account, Regions: iv.Regions, DryRun: iv.DryRun}
	if iv.MinSeverity != nil {
		p.MinSeverity = iv.MinSeverity.String()
	}
	inner, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{"payload": string(inner)})
}

// fanOut is the coordinator (fleet.FanOut) with what only the invocation
// knows: its credentials, the function's own name, qualifier, account and
// region; the Slack notifier unless a dry run.
func (h *fcHandler) fanOut(ctx context.Context, fctx *fccontext.FcContext, log *slog.Logger, iv invocation, o orgSettings, runKey string) (*fcResult, error) {
	failed := func(err error) (*fcResult, error) {
		b := h.basePlan(ctx, fctx, runKey, iv.DryRun)
		b.Fail(err)
		plan, err := b.Build()
		return h.finish(log, run.Start(ctx, plan, err), runKey, iv.DryRun)
	}
	c := fctx.Credentials
	if c.AccessKeyId == "" || c.AccessKeySecret == "" {
		return failed(errNoCredentials)
	}
	base, err := alibaba.StaticCredential(c.AccessKeyId, c.AccessKeySecret, c.SecurityToken)
	if err != nil {
		return failed(err)
	}
	fn := org.Function{Name: fctx.Function.Name, Qualifier: fctx.Service.Qualifier}
	if fn.Name == "" {
		fn.Name = h.getenv(envFCFunctionName)
	}
	if fn.Qualifier == "" {
		fn.Qualifier = h.getenv(envFCQualifier)
	}
	if fn.Name == "" {
		return failed(errors.New("fan-out: the function's own name is unknown (no x-fc-function-name, no FC_FUNCTION_NAME)"))
	}
	coord := fleet.Coordinator{Settings: o.settings(), Credential: base, Function: fn, AccountID: fctx.AccountId, Region: fctx.Region,
		RunKey: runKey, Event: func(account string) ([]byte, error) { return accountEvent(iv, runKey, account) }}
	if !iv.DryRun {
		coord.NoNotifier = errors.New("slack is not configured: the accounts that could not be checked were told to no one")
		if h.notifier != nil { // a nil *slack.Notifier is not a nil run.Notifier
			coord.Notifier = h.notifier
		}
	}
	st, err := fleet.FanOut(ctx, coord)
	if err != nil {
		return failed(err)
	}

	log.Info("fan-out done", "accounts", st.Accounts, "started", st.Started, "already_started", st.AlreadyStarted,
		"not_started", st.NotStarted, "unavailable", st.Unavailable, "function", fn.Name, "qualifier", fn.Qualifier)
	for _, e := range st.Report.Errors {
		log.Warn("account not checked", "account_id", e.AccountID, "code", e.Code, "message", e.Message, "request_id_api", e.RequestID)
	}
	if st.Err != nil {
		log.Error("fan-out did not complete", "error", st.Err.Error())
		return nil, st.Err
	}
	res := &fcResult{SchemaVersion: report.SchemaVersion, RunKey: runKey, DryRun: iv.DryRun, Summary: st.Report.Summary, Errors: st.Report.Errors}
	if d := st.Delivery; d != nil {
		res.Slack = &slackResult{Messages: d.Messages, Posted: d.Posted, Skipped: d.Skipped}
	}
	return res, nil
}

// orgFlags are the check command's account flags.
type orgFlags struct{ accounts, exclude *string }

func (f *orgFlags) register(fs *flag.FlagSet) {
	f.accounts = fs.String("accounts", "", "check member accounts of the resource directory: \"all\", or account IDs, comma-separated (env "+envAccounts+")")
	f.exclude = fs.String("exclude-accounts", "", "member accounts to skip (env "+envExcludeAccounts+")")
}

// resolve sets cfg.org from the flags or their variables. Saved files
// belong to no account: --accounts with --inventory is refused, and
// VPNCHECK_ACCOUNTS left aside.
func (f *orgFlags) resolve(given map[string]bool, cfg *checkConfig, getenv func(string) string) error {
	o, err := orgSettingsFrom(pick(*f.accounts, given["accounts"], "accounts", envAccounts, getenv),
		pick(*f.exclude, given["exclude-accounts"], "exclude-accounts", envExcludeAccounts, getenv), getenv)
	if err != nil {
		return err
	}
	if len(cfg.inventories) > 0 {
		if given["accounts"] {
			return badinput.Errorf("--accounts cannot be used with --inventory: member accounts are checked through the live API")
		}
		return nil
	}
	if o.settings().Enabled() && (cfg.saveInventory != "" || cfg.dumpInput != "") {
		return badinput.Errorf("--save-inventory and --dump-input write one account's data: use them without --accounts (or %s)", envAccounts)
	}
	cfg.org = o
	return nil
}
