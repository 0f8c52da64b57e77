package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/alibaba"
	"github.com/vpncheck/vpncheck/checker/change"
	"github.com/vpncheck/vpncheck/checker/configrule"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/run"
	"github.com/vpncheck/vpncheck/checker/state"
	"github.com/vpncheck/vpncheck/notify/slack"
)

// fcHandler serves Function Compute invocations. What it holds is built once
// per instance: the compiled policies and the Slack notifier (which
// remembers what each timer event already delivered). Credentials are not:
// every invocation brings its own.
type fcHandler struct {
	getenv      func(string) string
	log         *slog.Logger
	engine      *checker.Engine
	engineErr   error           // policies that did not load fail every invocation, loudly
	remote      *remotePolicies // a team bundle in OSS, re-checked each invocation
	notifier    *slack.Notifier
	notifierErr error
	// pepper keys the state's key fingerprints (VPNCHECK_KEY_PEPPER, nil:
	// none); a pepper that cannot be used fails every invocation.
	pepper     []byte
	pepperErr  error
	secrets    *instanceSecrets // from KMS, read by the first invocation (secrets.go); nil: none
	findingLog io.Writer        // the function's log, for VPNCHECK_LOG_FINDINGS (fc_ocsf.go)
}

// errNoCredentials fails an invocation that brings no credentials: the
// function has no role.
var errNoCredentials = errors.New("the invocation carries no credentials: give the function a role (vpncheck setup; docs/deploy.md)")

// fcResult is what an invocation returns: the report's summary and errors.
type fcResult struct {
	SchemaVersion int                 `json:"schema_version"`
	RunKey        string              `json:"run_key"`
	DryRun        bool                `json:"dry_run"`
	Summary       report.Summary      `json:"summary"`
	Errors        []report.ErrorEntry `json:"errors"`
	Slack         *slackResult        `json:"slack,omitempty"`
	Config        *configResult       `json:"config,omitempty"` // a Cloud Config rule's evaluations (fc_config.go)
}

type slackResult struct {
	Messages int `json:"messages"`
	Posted   int `json:"posted"`
	Skipped  int `json:"skipped"` // already delivered by an earlier attempt of the same event
}

// serveFC runs the Function Compute runtime loop; it returns only if the
// runtime API goes away.
func serveFC() int {
	stdout := &lockedWriter{w: os.Stdout} // the log and the OCSF lines share it (fc_ocsf.go)
	h := newFCHandler(context.Background(), os.Getenv, slog.New(slog.NewJSONHandler(stdout, nil)))
	h.findingLog = stdout
	// The platform may send an initializer invoke; the SDK panics when none
	// is registered. The work it would do is done above, once.
	fc.RegisterInitializerFunction(func(ctx context.Context) {})
	fc.Start(h.handle)
	return exitIncomplete
}

func newFCHandler(ctx context.Context, getenv func(string) string, log *slog.Logger) *fcHandler {
	h := &fcHandler{getenv: getenv, log: log}
	h.engine, h.remote, h.engineErr = instancePolicies(ctx, getenv)
	h.pepper, h.pepperErr = keyPepper(getenv)
	if needsKMS(getenv) {
		h.secrets = &instanceSecrets{}
	}
	if strings.TrimSpace(getenv(envSlackSecret)) == "" {
		h.notifier, h.notifierErr = notifierFromEnv(getenv)
	}
	switch {
	case h.pepperErr != nil:
		log.Error("key pepper is invalid: every invocation will fail", "error", h.pepperErr.Error())
	case h.engineErr != nil:
		log.Error("policies did not load: every invocation will fail", "error", h.engineErr.Error())
	case h.secrets != nil:
		log.Info("ready: secrets are read from KMS by the first invocation",
			"slack_secret", getenv(envSlackSecret), "key_pepper_secret", getenv(envKeyPepperSecret))
	case errors.Is(h.notifierErr, slack.ErrNotConfigured):
		log.Warn("Slack is not configured: every invocation but a dry run will fail after its check, so that nobody mistakes it for a quiet one")
	case h.notifierErr != nil:
		log.Error("Slack configuration is invalid: every invocation will fail", "error", h.notifierErr.Error())
	case h.remote != nil:
		log.Info("ready: the team's policy bundle is read from OSS by each invocation", "bundle", h.remote.url)
	default:
		log.Info("ready", "rules", len(h.engine.Rules()))
	}
	return h
}

// handle serves one invocation: a change event (an ActionTrail CloudEvent
// through EventBridge), or a timer event (or an empty manual invoke).
func (h *fcHandler) handle(ctx context.Context, event []byte) (*fcResult, error) {
	fctx, _ := fccontext.FromContext(ctx) // once: it writes shared state
	if fctx == nil {
		fctx = &fccontext.FcContext{}
	}
	log := h.log.With("request_id", fctx.RequestID)
	if configrule.IsEvent(event) { // a Cloud Config custom rule (fc_config.go): no Slack involved
		return h.handleConfigRule(ctx, fctx, log, event)
	}
	if err := h.loadSecrets(ctx, fctx); err != nil {
		log.Error("invocation failed: secrets not read", "error", err.Error())
		return nil, err
	}
	if h.getenv(envState) != "" && h.pepper == nil && h.pepperErr == nil && h.secretPepper() == nil {
		log.Warn(unpepperedWarning) // once per invocation, whatever it runs
	}
	if h.notifierErr != nil && !errors.Is(h.notifierErr, slack.ErrNotConfigured) {
		err := fmt.Errorf("slack configuration: %w", h.notifierErr)
		log.Error("invocation failed", "error", err.Error())
		return nil, err
	}
	// A body shaped like a CloudEvent goes down the change path even when
	// it is broken, so it fails there instead of reading as a timer event.
	if change.IsCloudEvent(event) || looksLikeCloudEvent(event) {
		return h.handleChange(ctx, fctx, log, event)
	}
	iv, err := parseEvent(event)
	if err != nil { // nothing is posted for a malformed event
		log.Error("invocation rejected", "error", err.Error())
		return nil, err
	}
	return h.handleTimer(ctx, fctx, log, iv)
}

// handleTimer runs a scheduled (or manual) check of the function's account.
func (h *fcHandler) handleTimer(ctx context.Context, fctx *fccontext.FcContext, log *slog.Logger, iv invocation) (*fcResult, error) {
	if res, handled, err := h.handleOrg(ctx, fctx, log, iv); handled { // member accounts (accounts.go)
		return res, err
	}
	runKey := iv.runKey(fctx.RequestID)
	log = log.With("run_key", runKey)
	b := h.basePlan(ctx, fctx, runKey, iv.DryRun)
	src, sev, err := h.source(fctx, iv)
	b.Plan.Source, b.Plan.MinSeverity = src, sev
	b.Fail(err)
	plan, err := b.Build()
	return h.finish(log, run.Start(ctx, plan, err), runKey, iv.DryRun)
}

// basePlan starts the plan of every kind of invocation's run: the
// policies, the account, the notifier (none for a dry run), the state
// store signed with this invocation's credentials, the digest period. A
// setting the function cannot use is the run's failure, said to the
// notifier; of several, the state's is reported, then the findings log's,
// the pepper's, the clock's, the digest period's.
func (h *fcHandler) basePlan(ctx context.Context, fctx *fccontext.FcContext, runKey string, dryRun bool) *run.Builder {
	base := planBase{engine: h.engine, engineErr: h.engineErr, pepper: h.pepper}
	if h.notifier != nil && !dryRun {
		base.notifier = h.notifier
	}
	if h.remote != nil {
		base.engine, base.engineErr = h.remote.current(ctx, h.ossOptions(fctx))
	}
	var digestErr, clockErr error
	base.digest, digestErr = digestPeriod(h.getenv)
	base.now, clockErr = runClock(h.getenv)
	if p := h.secretPepper(); p != nil {
		base.pepper = p
	}
	_, logErr := logFindingsMode(h.getenv)
	var stateErr error
	if spec := strings.TrimSpace(h.getenv(envState)); spec != "" {
		// A failed invocation that says why, before anything runs.
		stateErr = checkStateLocation(spec, envState, fctx.Region)
		// Opened per invocation: it signs with this invocation's
		// credentials, which are not the last one's.
		if o := h.ossOptions(fctx); stateErr == nil && o.Credential != nil {
			base.state, base.stateRegion, base.stateCred, base.internal = spec, o.Region, o.Credential, true
		}
	}
	b, err := base.builder(ctx, h.getenv)
	if err != nil {
		stateErr = fmt.Errorf("%s: %w", envState, err) // refuse loudly: no silent fall-back
	}
	for _, err := range []error{stateErr, logErr, h.pepperErr, clockErr, digestErr} {
		b.Fail(err)
	}
	b.Plan.AccountID, b.Plan.RunKey, b.Plan.Unattended, b.Plan.ReadOnlyState = fctx.AccountId, runKey, true, dryRun
	return b
}

// finish logs a run's outcome and maps it to the invocation's result: an
// error when the run could not complete, or when its findings reached no
// one.
func (h *fcHandler) finish(log *slog.Logger, out run.Outcome, runKey string, dryRun bool) (*fcResult, error) {
	scrub := func(s string) string { return s }
	if out.Secrets != nil {
		scrub = out.Secrets.Scrub
	}
	var res *fcResult
	if rep := out.Report; rep != nil {
		res = &fcResult{SchemaVersion: rep.SchemaVersion, RunKey: runKey, DryRun: dryRun, Summary: rep.Summary, Errors: rep.Errors}
		log.Info("check done",
			"connections", rep.Summary.Connections, "tunnels", rep.Summary.Tunnels, "findings", rep.Summary.Findings,
			"new", rep.Summary.New, "resolved", rep.Summary.Resolved,
			"by_severity", rep.Summary.BySeverity, "suppressed", rep.Summary.Suppressed,
			"regions_scanned", rep.Summary.RegionsScan, "regions_failed", rep.Summary.RegionsFailed, "errors", len(rep.Errors))
		for _, e := range rep.Errors {
			log.Warn("scan error", "region", e.Region, "code", e.Code, "message", scrub(e.Message), "request_id_api", e.RequestID)
		}
	}
	ocsfErr := h.logFindings(log, out, dryRun) // VPNCHECK_LOG_FINDINGS (fc_ocsf.go)
	if d := out.Delivery; d != nil {
		if res != nil {
			res.Slack = &slackResult{Messages: d.Messages, Posted: d.Posted, Skipped: d.Skipped}
		}
		log.Info("Slack delivery", "messages", d.Messages, "posted", d.Posted, "skipped", d.Skipped)
	}
	if out.Err != nil {
		log.Error("check could not complete", "error", scrub(out.Err.Error()))
		return nil, errors.New(scrub(out.Err.Error()))
	}
	if ocsfErr != nil {
		return nil, ocsfErr
	}
	if h.notifier == nil && !dryRun {
		// A run whose findings reach nobody must not look healthy.
		err := errors.New("slack is not configured (set SLACK_WEBHOOK_URL, or SLACK_BOT_TOKEN and SLACK_CHANNEL): the check ran, but its findings reached no one; see this invocation's log")
		log.Error("findings not delivered", "error", err.Error())
		return nil, err
	}
	return res, nil
}

// source resolves one invocation's collection: regions from the payload,
// else VPNCHECK_REGIONS, else the function's own region; credentials from
// the invocation context.
func (h *fcHandler) source(fctx *fccontext.FcContext, iv invocation) (run.Source, report.Severity, error) {
	sev := report.Info
	if iv.MinSeverity != nil {
		sev = *iv.MinSeverity
	} else {
		var err error
		if sev, err = (setting{h.getenv(envMinSeverity), envMinSeverity}).severity(); err != nil {
			return nil, sev, err
		}
	}
	regions := iv.Regions
	if len(regions) == 0 {
		regions = splitComma(h.getenv(envRegions))
	}
	if len(regions) == 0 && fctx.Region != "" {
		regions = []string{fctx.Region}
	}
	if len(regions) == 0 {
		return nil, sev, errors.New("no region to scan: set VPNCHECK_REGIONS or the payload's regions")
	}
	c := fctx.Credentials
	if c.AccessKeyId == "" || c.AccessKeySecret == "" {
		return nil, sev, errNoCredentials
	}
	cred, err := alibaba.StaticCredential(c.AccessKeyId, c.AccessKeySecret, c.SecurityToken)
	if err != nil {
		return nil, sev, err
	}
	return alibaba.Live{
		Config:  alibaba.CollectorConfig{Credential: cred, Endpoint: vpcEndpoint(h.getenv), Concurrency: defaultConcurrency},
		Regions: regions,
		Exclude: splitComma(h.getenv(envExcludeRegions)),
		Home:    fctx.Region,
	}, sev, nil
}

// MarshalJSON keeps errors an array, never null.
func (r *fcResult) MarshalJSON() ([]byte, error) {
	type plain fcResult
	p := plain(*r)
	if p.Errors == nil {
		p.Errors = []report.ErrorEntry{}
	}
	return json.Marshal(p)
}

// looksLikeCloudEvent reports whether body carries a CloudEvent's marks (a
// specversion, or an ActionTrail type) without being a whole one.
func looksLikeCloudEvent(body []byte) bool {
	var probe struct {
		SpecVersion json.RawMessage `json:"specversion"`
		Type        json.RawMessage `json:"type"`
		Data        json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &probe) != nil {
		return false
	}
	return len(probe.SpecVersion) > 0 || len(probe.Data) > 0 || bytes.Contains(probe.Type, []byte(":ActionTrail:"))
}

// ossOptions reach OSS as this invocation: its credentials, its region,
// the internal endpoint (VPNCHECK_OSS_ENDPOINT overrides it).
func (h *fcHandler) ossOptions(fctx *fccontext.FcContext) state.Options {
	o := state.Options{Region: fctx.Region, Internal: true, Endpoint: strings.TrimSpace(h.getenv(envOSSEndpoint))}
	if o.Endpoint != "" {
		o.Internal = false
	}
	c := fctx.Credentials
	if cred, err := alibaba.StaticCredential(c.AccessKeyId, c.AccessKeySecret, c.SecurityToken); err == nil {
		o.Credential = cred
	}
	return o
}
