package main

// Organisation-wide checks: the member accounts of a resource directory,
// each entered with a read-only role and checked by the one run pipeline.
// The command line checks them in one process, a few at once; in Function
// Compute the timer invocation either hands each account to an
// asynchronous invocation of the function itself (VPNCHECK_FANOUT=async),
// or checks them all itself as the command line does (off).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/alibaba"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/run"
	"github.com/vpncheck/vpncheck/notify"
)

const (
	// defaultRoleName is the read-only role vpncheck assumes in each member
	// account (README, "Organisation"). Never ResourceDirectoryAccountAccessRole:
	// that one carries administrator rights.
	defaultRoleName = "vpncheck-reader"

	fanoutAsync = "async" // one asynchronous invocation per account
	fanoutOff   = "off"   // every account in the timer's own invocation

	// accountConcurrency is how many accounts one process checks at once;
	// each scans its regions with its own concurrency.
	accountConcurrency = 4
	// invokeConcurrency is how many account invocations the coordinator
	// starts at once (one short API call each).
	invokeConcurrency = 8
)

// orgSettings is what an organisation-wide run needs: which accounts, the
// role to enter them with, and where the APIs are.
type orgSettings struct {
	all      bool     // every member account of the resource directory
	accounts []string // else these
	exclude  []string

	roleName   string
	externalID string
	fanout     string // fanoutAsync or fanoutOff (Function Compute only)

	rmEndpoint  string // Resource Manager; "" is the public endpoint
	stsEndpoint string // STS, host[:port] (HTTPS only); "" is the public endpoint
	fcEndpoint  string // FC 3.0; "" is the function's own account and region
}

// enabled says whether the run covers member accounts rather than the
// caller's own account.
func (o orgSettings) enabled() bool { return o.all || len(o.accounts) > 0 }

// allows says whether a fanned-out invocation may check account: one the
// settings name (or any, with all) and not excluded.
func (o orgSettings) allows(account string) bool {
	if slices.Contains(o.exclude, account) {
		return false
	}
	return o.all || slices.Contains(o.accounts, account)
}

// orgSettingsFrom reads the accounts and the excluded accounts (a flag or
// its variable) and the rest from the environment.
func orgSettingsFrom(accounts, exclude setting, getenv func(string) string) (orgSettings, error) {
	o := orgSettings{
		roleName:    strings.TrimSpace(getenv(envRoleName)),
		externalID:  strings.TrimSpace(getenv(envRoleExternalID)),
		fanout:      strings.ToLower(strings.TrimSpace(getenv(envFanout))),
		rmEndpoint:  strings.TrimSpace(getenv(envRMEndpoint)),
		stsEndpoint: strings.TrimSpace(getenv(envSTSEndpoint)),
		fcEndpoint:  strings.TrimSpace(getenv(envFCEndpoint)),
	}
	for _, id := range accounts.list() {
		switch {
		case strings.EqualFold(id, "all"):
			o.all = true
		case isAccountID(id):
			if !slices.Contains(o.accounts, id) {
				o.accounts = append(o.accounts, id)
			}
		default:
			return o, checker.Inputf("%s: %q is not an account id (digits) or all", accounts.name, id)
		}
	}
	if o.all && len(o.accounts) > 0 {
		return o, checker.Inputf("%s: all and account ids together: give one or the other", accounts.name)
	}
	for _, id := range exclude.list() {
		if !isAccountID(id) {
			return o, checker.Inputf("%s: %q is not an account id (digits)", exclude.name, id)
		}
		o.exclude = append(o.exclude, id)
	}
	if o.roleName == "" {
		o.roleName = defaultRoleName
	}
	switch o.fanout {
	case "":
		o.fanout = fanoutAsync
	case fanoutAsync, fanoutOff:
	default:
		return o, checker.Inputf("%s: %q is not async or off", envFanout, o.fanout)
	}
	return o, nil
}

// targets lists the accounts to check: every member of the resource
// directory for all (ListAccounts, every page), else the ids given; less
// the excluded ones.
func (o orgSettings) targets(ctx context.Context, base credentials.Credential) ([]org.Account, error) {
	var list []org.Account
	if o.all {
		endpoint := o.rmEndpoint
		if endpoint == "" {
			endpoint = org.ResourceManagerEndpoint
		}
		c, err := org.NewClient(base, endpoint, org.ClientOptions{})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", envRMEndpoint, err)
		}
		if list, err = org.ListAccounts(ctx, c); err != nil {
			return nil, fmt.Errorf("resource directory: %w", err)
		}
	} else {
		for _, id := range o.accounts {
			list = append(list, org.Account{ID: id})
		}
	}
	list = slices.DeleteFunc(list, func(a org.Account) bool { return slices.Contains(o.exclude, a.ID) })
	if len(list) == 0 {
		return nil, errors.New("no account to check: the resource directory lists none, or every one is excluded")
	}
	slices.SortFunc(list, func(a, b org.Account) int { return strings.Compare(a.ID, b.ID) })
	return list, nil
}

// notReady says why the resource directory's status keeps an account from
// being checked: a membership that was never completed, or an account
// suspended, closed or being deleted. Unknown statuses are tried: the role
// decides.
func notReady(status string) string {
	s := strings.ToLower(status)
	switch {
	case strings.HasPrefix(s, "create") && s != "createsuccess",
		strings.Contains(s, "suspend"), strings.Contains(s, "clos"), strings.Contains(s, "delet"), strings.Contains(s, "frozen"):
		return "its status in the resource directory is " + status
	}
	return ""
}

// enter assumes the reader role in account for as long as ctx's run can
// last (STS allows 15 minutes to an hour; the credentials are renewed if
// the run outlasts them).
func (o orgSettings) enter(ctx context.Context, base credentials.Credential, account, session string) (credentials.Credential, error) {
	var d time.Duration
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl) + time.Minute
	}
	return org.AssumeRole(base, org.RoleOptions{
		AccountID: account, RoleName: o.roleName, SessionName: session, ExternalID: o.externalID,
		Duration: d, STSEndpoint: o.stsEndpoint,
	})
}

// sessionName names the role session after vpncheck and the run, as
// ActionTrail shows it in each member account.
func sessionName(runKey string) string {
	var b strings.Builder
	b.WriteString("vpncheck-")
	for _, r := range runKey {
		ok := r == '_' || r == '.' || r == '@' || r == '-' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			r = '-'
		}
		if b.Len() >= 64 {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), "-")
}

// unavailable is the errors entry of an account that was not entered.
func unavailable(account string, err error) report.ErrorEntry {
	e := report.ErrorEntry{AccountID: account, Code: report.CodeAccountUnavailable, Message: oneLine(err.Error())}
	var ae *org.APIError
	if errors.As(err, &ae) && ae.RequestID != "" {
		// The request id has its own field: said once.
		e.RequestID = ae.RequestID
		e.Message = strings.Replace(e.Message, ", request id "+ae.RequestID+")", ")", 1)
		e.Message = strings.Replace(e.Message, " (request id "+ae.RequestID+")", "", 1)
	}
	return e
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// accountRunner checks accounts through the run pipeline, a few at once,
// and merges their reports into one.
type accountRunner struct {
	org     orgSettings
	base    credentials.Credential // enters the accounts (the caller's own)
	session string
	// plan is an account's plan, given its credential: the plan the
	// caller's own account would have had, with that account's source.
	plan func(a org.Account, cred credentials.Credential) run.Plan
	// notifier is told about the accounts that could not be entered (each
	// account's own run tells it the rest); nil: nobody.
	notifier run.Notifier
	runKey   string
}

// accountResult is one account's share of the run.
type accountResult struct {
	part    report.AccountPart
	out     *run.Outcome // nil: not run
	trouble string       // why it was not entered, in words other accounts may share
}

func (r accountRunner) one(ctx context.Context, a org.Account) accountResult {
	res := accountResult{part: report.AccountPart{AccountID: a.ID, DisplayName: a.DisplayName}}
	if why := notReady(a.Status); why != "" {
		res.part.Errors = []report.ErrorEntry{{Code: report.CodeAccountUnavailable,
			Message: fmt.Sprintf("account %s not checked: %s", a.ID, why)}}
		res.trouble = "not ready: " + why
		return res
	}
	if err := ctx.Err(); err != nil {
		res.part.Errors = []report.ErrorEntry{{Code: report.CodeAccountFailed,
			Message: fmt.Sprintf("account %s not checked: the run ended first (%v)", a.ID, err)}}
		return res
	}
	cred, err := r.org.enter(ctx, r.base, a.ID, r.session)
	if err != nil {
		res.part.Errors = []report.ErrorEntry{unavailable(a.ID, err)}
		res.trouble = "role " + r.org.roleName + " not assumed: " + shortWhy(err)
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

// execute checks every account and returns the merged outcome. Its Err
// says why the organisation-wide run did not complete: no account could
// be checked, a delivery failed, or pages could not be saved; an account
// that could not be entered, or that scanned no region, is an errors entry
// of the report, and the others go on.
func (r accountRunner) execute(ctx context.Context, accounts []org.Account) run.Outcome {
	results := make([]accountResult, len(accounts))
	sem := make(chan struct{}, accountConcurrency)
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
		case errors.Is(err, checker.ErrInput):
			inputErr = checker.Inputf("%s", scrubbed(*out)) // the same for every account: said once
		case errors.Is(err, report.ErrNoRegionScanned) && !errors.Is(err, checker.ErrSaveInventory):
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

// trouble is why one account was not checked, in words that every account
// with the same trouble shares.
type trouble struct{ account, name, why string }

// shortWhy is an error in words that do not name the account: the API's
// code and message when it answered.
func shortWhy(err error) string {
	var ae *org.APIError
	if errors.As(err, &ae) {
		if ae.Message == "" {
			return ae.Code
		}
		return ae.Code + ": " + strings.TrimSuffix(ae.Message, ".")
	}
	return oneLine(err.Error())
}

// accountTrouble is the one message about the accounts that could not be
// checked, grouped by trouble (at most 10 named in each), so that a
// directory-wide problem reads as one line.
func accountTrouble(lost []trouble, total int) string {
	var order []string
	groups := map[string][]string{}
	for _, t := range lost {
		if _, ok := groups[t.why]; !ok {
			order = append(order, t.why)
		}
		id := t.account
		if t.name != "" {
			id += " (" + t.name + ")"
		}
		groups[t.why] = append(groups[t.why], id)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s of %d not checked.", report.Plural(len(lost), "member account"), total)
	for _, why := range order {
		ids := groups[why]
		more := ""
		if len(ids) > 10 {
			ids, more = ids[:10], fmt.Sprintf(" and %d more (see the errors)", len(ids)-10)
		}
		fmt.Fprintf(&b, " %s: %s%s.", why, strings.Join(ids, ", "), more)
	}
	return b.String()
}

// runAccounts runs plan's check in every account o names, plan serving as
// every account's template: the same policies, options, notifier and state
// store (kept per account), with the account's credentials in the live
// source. Per-account run keys are runKey + "/" + account id. A plan that
// cannot run at all fails once, not once per account.
func runAccounts(ctx context.Context, plan run.Plan, o orgSettings, runKey string) run.Outcome {
	if plan.SetupErr != nil || plan.EngineErr != nil || plan.Engine == nil {
		return run.Execute(ctx, plan)
	}
	live, ok := plan.Source.(alibaba.Live)
	if !ok {
		return run.Outcome{Err: checker.Inputf("member accounts are checked through the live API: --accounts cannot be used with --inventory")}
	}
	base := &syncCredential{c: live.Config.Credential}
	accounts, err := o.targets(ctx, base)
	if err != nil {
		plan.SetupErr = err // said to the notifier like any run that cannot start
		return run.Execute(ctx, plan)
	}
	session := runKey
	if session == "" {
		session = "cli-" + time.Now().UTC().Format("20060102T150405Z")
	}
	r := accountRunner{org: o, base: base, session: sessionName(session), notifier: plan.Notifier, runKey: runKey,
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

// execute is the command line's check: of o's accounts when it names any,
// else of the caller's own account.
func (o orgSettings) execute(ctx context.Context, plan run.Plan) run.Outcome {
	if !o.enabled() {
		return run.Execute(ctx, plan)
	}
	return runAccounts(ctx, plan, o, "")
}

// syncCredential serialises a credential shared by goroutines: the
// default chain and the RAM role provider keep state without a lock.
type syncCredential struct {
	mu sync.Mutex
	c  credentials.Credential
}

func (s *syncCredential) GetCredential() (*credentials.CredentialModel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.GetCredential()
}

func (s *syncCredential) field(get func(*credentials.CredentialModel) *string) (*string, error) {
	m, err := s.GetCredential()
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("credential: none")
	}
	return get(m), nil
}

func (s *syncCredential) GetAccessKeyId() (*string, error) {
	return s.field(func(m *credentials.CredentialModel) *string { return m.AccessKeyId })
}

func (s *syncCredential) GetAccessKeySecret() (*string, error) {
	return s.field(func(m *credentials.CredentialModel) *string { return m.AccessKeySecret })
}

func (s *syncCredential) GetSecurityToken() (*string, error) {
	return s.field(func(m *credentials.CredentialModel) *string { return m.SecurityToken })
}

func (s *syncCredential) GetBearerToken() *string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.GetBearerToken()
}

func (s *syncCredential) GetType() *string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.GetType()
}

// Function Compute.

// handleOrg serves a timer (or manual) invocation that concerns member
// accounts: one fanned out to a single account (the payload's account), or
// the coordinator of VPNCHECK_ACCOUNTS. handled is false for a check of
// the function's own account.
func (h *fcHandler) handleOrg(ctx context.Context, fctx *fccontext.FcContext, log *slog.Logger, iv invocation) (res *fcResult, handled bool, err error) {
	o, err := orgSettingsFrom(setting{h.getenv(envAccounts), envAccounts}, setting{h.getenv(envExcludeAccounts), envExcludeAccounts}, h.getenv)
	if err == nil && !o.enabled() && iv.Account == "" {
		return nil, false, nil
	}
	runKey := iv.runKey(fctx.RequestID)
	log = log.With("run_key", runKey)
	if iv.Account != "" {
		log = log.With("account_id", iv.Account)
	}
	plan := func() run.Plan {
		p := h.basePlan(ctx, fctx, runKey, iv.DryRun)
		if err != nil && p.SetupErr == nil {
			p.SetupErr = err // a misspelt setting fails loudly, like any run that cannot start
		}
		return p
	}
	switch {
	case err != nil:
		res, err = h.finish(log, run.Execute(ctx, plan()), runKey, iv.DryRun)
	case iv.Account != "":
		res, err = h.checkAccount(ctx, fctx, log, iv, o, runKey, plan())
	case o.fanout == fanoutOff:
		p := plan()
		var serr error
		p.Source, p.MinSeverity, serr = h.source(fctx, iv)
		if serr != nil && p.SetupErr == nil {
			p.SetupErr = serr
		}
		res, err = h.finish(log, runAccounts(ctx, p, o, runKey), runKey, iv.DryRun)
	default:
		res, err = h.fanOut(ctx, fctx, log, iv, o, runKey)
	}
	return res, true, err
}

// checkAccount serves one fanned-out invocation: the role is assumed in
// the payload's account, whose every region (VPNCHECK_REGIONS) is checked,
// with that account's state and news.
func (h *fcHandler) checkAccount(ctx context.Context, fctx *fccontext.FcContext, log *slog.Logger, iv invocation, o orgSettings, runKey string, plan run.Plan) (*fcResult, error) {
	if !o.enabled() || !o.allows(iv.Account) {
		// Only accounts the deployment names are entered, whoever invokes.
		err := fmt.Errorf("event payload: account %s is not one that %s names, or %s excludes it", iv.Account, envAccounts, envExcludeAccounts)
		log.Error("invocation rejected", "error", err.Error())
		return nil, err
	}
	plan.AccountID = iv.Account
	src, sev, err := h.source(fctx, iv)
	plan.MinSeverity = sev
	if err == nil {
		live := src.(alibaba.Live)
		var cred credentials.Credential
		if cred, err = o.enter(ctx, live.Config.Credential, iv.Account, sessionName(runKey)); err == nil {
			live.Config.Credential = cred
			plan.Source = live
		}
	}
	if err != nil && plan.SetupErr == nil {
		plan.SetupErr = err
	}
	return h.finish(log, run.Execute(ctx, plan), runKey, iv.DryRun)
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

// fanOut is the coordinator: it lists the accounts and starts one
// asynchronous invocation of this function per account, under a task id
// made of the run key and the account, so that a retried coordinator
// never starts an account twice. It posts only what went wrong: accounts
// it could not list, enter or start.
func (h *fcHandler) fanOut(ctx context.Context, fctx *fccontext.FcContext, log *slog.Logger, iv invocation, o orgSettings, runKey string) (*fcResult, error) {
	failed := func(err error) (*fcResult, error) {
		plan := h.basePlan(ctx, fctx, runKey, iv.DryRun)
		if plan.SetupErr == nil {
			plan.SetupErr = err
		}
		return h.finish(log, run.Execute(ctx, plan), runKey, iv.DryRun)
	}
	c := fctx.Credentials
	if c.AccessKeyId == "" || c.AccessKeySecret == "" {
		return failed(errors.New("the invocation carries no credentials: give the function a role (see README, Organisation)"))
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
	endpoint := o.fcEndpoint
	if endpoint == "" {
		endpoint = org.FCEndpoint(fctx.AccountId, fctx.Region)
	}
	client, err := org.NewClient(base, endpoint, org.ClientOptions{})
	if err != nil {
		return failed(fmt.Errorf("%s: %w", envFCEndpoint, err))
	}
	accounts, err := o.targets(ctx, base)
	if err != nil {
		return failed(err)
	}

	parts := make([]report.AccountPart, len(accounts))
	troubles := make([]string, len(accounts))
	again := make([]bool, len(accounts))
	sem := make(chan struct{}, invokeConcurrency)
	var wg sync.WaitGroup
	for i, a := range accounts {
		parts[i] = report.AccountPart{AccountID: a.ID, DisplayName: a.DisplayName, Status: report.AccountStarted}
		if why := notReady(a.Status); why != "" {
			parts[i].Status = ""
			parts[i].Errors = []report.ErrorEntry{{Code: report.CodeAccountUnavailable, Message: fmt.Sprintf("account %s not checked: %s", a.ID, why)}}
			troubles[i] = "not ready: " + why
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ev, err := accountEvent(iv, runKey, a.ID)
			if err == nil {
				err = org.InvokeAsync(ctx, client, fn, ev, org.TaskID(runKey, a.ID))
			}
			switch {
			case errors.Is(err, org.ErrAlreadyStarted):
				again[i] = true // an earlier attempt of this run started it
			case err != nil:
				e := report.ErrorEntry{Code: report.CodeAccountFailed, Message: "could not start the check of account " + a.ID + ": " + oneLine(err.Error())}
				var ae *org.APIError
				if errors.As(err, &ae) {
					e.RequestID = ae.RequestID
				}
				parts[i].Status, parts[i].Errors = "", []report.ErrorEntry{e}
				troubles[i] = "invocation not started: " + shortWhy(err)
			}
		}()
	}
	wg.Wait()

	merged := report.Merge(parts)
	started, already, notStarted := 0, 0, 0
	var lost []trouble
	for i, p := range parts {
		if troubles[i] != "" {
			lost = append(lost, trouble{p.AccountID, p.DisplayName, troubles[i]})
		}
		switch {
		case again[i]:
			already++
		case p.Status == report.AccountStarted:
			started++
		case len(p.Errors) > 0 && p.Errors[0].Code == report.CodeAccountFailed:
			notStarted++
		}
	}
	log.Info("fan-out done", "accounts", len(accounts), "started", started, "already_started", already,
		"not_started", notStarted, "unavailable", len(merged.Errors)-notStarted, "function", fn.Name, "qualifier", fn.Qualifier)
	for _, e := range merged.Errors {
		log.Warn("account not checked", "account_id", e.AccountID, "code", e.Code, "message", e.Message, "request_id_api", e.RequestID)
	}
	res := &fcResult{SchemaVersion: report.SchemaVersion, RunKey: runKey, DryRun: iv.DryRun, Summary: merged.Summary, Errors: merged.Errors}

	var errs []error
	if notStarted > 0 {
		// Failing makes Function Compute retry the coordinator: the task ids
		// keep the accounts already started from starting again.
		errs = append(errs, fmt.Errorf("fan-out: %d of %d account invocations could not be started", notStarted, len(accounts)))
	}
	if len(merged.Errors) > 0 && !iv.DryRun {
		if h.notifier == nil {
			errs = append(errs, errors.New("slack is not configured: the accounts that could not be checked were told to no one"))
		} else {
			d, err := h.notifier.NotifyFailure(ctx, notify.Run{Key: runKey, AccountID: fctx.AccountId}, accountTrouble(lost, len(accounts)))
			res.Slack = &slackResult{Messages: d.Messages, Posted: d.Posted, Skipped: d.Skipped}
			if err != nil {
				errs = append(errs, fmt.Errorf("notify: %w", err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		log.Error("fan-out did not complete", "error", err.Error())
		return nil, err
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
			return checker.Inputf("--accounts cannot be used with --inventory: member accounts are checked through the live API")
		}
		return nil
	}
	if o.enabled() && (cfg.saveInventory != "" || cfg.dumpInput != "") {
		return checker.Inputf("--save-inventory and --dump-input write one account's data: use them without --accounts (or %s)", envAccounts)
	}
	cfg.org = o
	return nil
}
