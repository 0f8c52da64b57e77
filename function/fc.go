package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/notify"
)

// fcHandler serves Function Compute invocations. What it holds is built once
// per instance: the compiled policies and the Slack notifier (which
// remembers what each timer event already delivered). Credentials are not:
// every invocation brings its own.
type fcHandler struct {
	getenv      func(string) string
	log         *slog.Logger
	engine      *checker.Engine
	engineErr   error // policies that did not load fail every invocation, loudly
	notifier    *notify.Notifier
	notifierErr error
}

// fcResult is what an invocation returns: the report's summary and errors.
type fcResult struct {
	SchemaVersion int                  `json:"schema_version"`
	RunKey        string               `json:"run_key"`
	DryRun        bool                 `json:"dry_run"`
	Summary       checker.Summary      `json:"summary"`
	Errors        []checker.ErrorEntry `json:"errors"`
	Slack         *slackResult         `json:"slack,omitempty"`
}

type slackResult struct {
	Messages int `json:"messages"`
	Posted   int `json:"posted"`
	Skipped  int `json:"skipped"` // already delivered by an earlier attempt of the same event
}

// serveFC runs the Function Compute runtime loop; it returns only if the
// runtime API goes away.
func serveFC() int {
	h := newFCHandler(context.Background(), os.Getenv, slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	// The platform may send an initializer invoke; the SDK panics when none
	// is registered. The work it would do is done above, once.
	fc.RegisterInitializerFunction(func(ctx context.Context) {})
	fc.Start(h.handle)
	return exitIncomplete
}

func newFCHandler(ctx context.Context, getenv func(string) string, log *slog.Logger) *fcHandler {
	h := &fcHandler{getenv: getenv, log: log}
	pf := policyFlags{dir: getenv("VPNCHECK_POLICY_DIR")}
	h.engine, h.engineErr = pf.engine(ctx)
	h.notifier, h.notifierErr = notifierFromEnv(getenv)
	switch {
	case h.engineErr != nil:
		log.Error("policies did not load: every invocation will fail", "error", h.engineErr.Error())
	case errors.Is(h.notifierErr, notify.ErrNotConfigured):
		log.Warn("Slack is not configured: every invocation but a dry run will fail after its check, so that nobody mistakes it for a quiet one")
	case h.notifierErr != nil:
		log.Error("Slack configuration is invalid: every invocation will fail", "error", h.notifierErr.Error())
	default:
		log.Info("ready", "rules", len(h.engine.Rules()))
	}
	return h
}

// handle serves one invocation.
func (h *fcHandler) handle(ctx context.Context, event []byte) (*fcResult, error) {
	fctx, _ := fccontext.FromContext(ctx) // once: it writes shared state
	if fctx == nil {
		fctx = &fccontext.FcContext{}
	}
	log := h.log.With("request_id", fctx.RequestID)

	iv, err := parseEvent(event)
	if err != nil { // nothing is posted for a malformed event
		log.Error("invocation rejected", "error", err.Error())
		return nil, err
	}
	runKey := iv.runKey(fctx.RequestID)
	log = log.With("run_key", runKey)
	run := notify.Run{Key: runKey, AccountID: fctx.AccountId}

	if h.notifierErr != nil && !errors.Is(h.notifierErr, notify.ErrNotConfigured) {
		err := fmt.Errorf("slack configuration: %w", h.notifierErr)
		log.Error("invocation failed", "error", err.Error())
		return nil, err
	}
	// failed reports a run that could not complete, to Slack too (unless
	// this is a dry run): a broken checker must not look like a quiet one.
	failed := func(err error, secrets *checker.Secrets) (*fcResult, error) {
		log.Error("check could not complete", "error", secrets.Scrub(err.Error()))
		if h.notifier != nil && !iv.DryRun {
			run.Scrubber = secrets
			if _, nerr := h.notifier.NotifyFailure(ctx, run, err.Error()); nerr != nil {
				log.Error("Slack failure notice not delivered", "error", nerr.Error())
			}
		}
		return nil, err
	}
	if h.engineErr != nil {
		return failed(h.engineErr, nil)
	}

	lc, opt, err := h.liveConfig(fctx, iv)
	if err != nil {
		return failed(err, nil)
	}
	inv := checker.NewInventory()
	if err := collectRegions(ctx, lc, inv); err != nil {
		return failed(fmt.Errorf("collect: %w", err), nil)
	}
	res, err := evaluate(ctx, h.engine, inv, opt)
	if err != nil {
		return failed(err, nil)
	}
	rep := res.Report
	out := &fcResult{SchemaVersion: rep.SchemaVersion, RunKey: runKey, DryRun: iv.DryRun, Summary: rep.Summary, Errors: rep.Errors}
	log.Info("check done",
		"connections", rep.Summary.Connections, "tunnels", rep.Summary.Tunnels, "findings", rep.Summary.Findings,
		"by_severity", rep.Summary.BySeverity, "suppressed", rep.Summary.Suppressed,
		"regions_scanned", rep.Summary.RegionsScan, "regions_failed", rep.Summary.RegionsFailed, "errors", len(rep.Errors))
	for _, e := range rep.Errors {
		log.Warn("scan error", "region", e.Region, "code", e.Code, "message", res.Secrets.Scrub(e.Message), "request_id_api", e.RequestID)
	}

	if h.notifier != nil && !iv.DryRun {
		nctx := ctx
		if ctx.Err() != nil {
			var cancel context.CancelFunc
			nctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), evaluationGrace)
			defer cancel()
		}
		run.Scrubber = res.Secrets
		d, err := h.notifier.NotifyReport(nctx, run, rep)
		out.Slack = &slackResult{Messages: d.Messages, Posted: d.Posted, Skipped: d.Skipped}
		if err != nil {
			log.Error("Slack delivery failed", "error", err.Error(), "posted", d.Posted)
			return nil, fmt.Errorf("notify: %w", err)
		}
		log.Info("Slack delivered", "messages", d.Messages, "posted", d.Posted, "skipped", d.Skipped)
	}
	if err := noRegionScanned(rep); err != nil {
		log.Error("check could not complete", "error", res.Secrets.Scrub(err.Error()))
		return nil, err
	}
	if h.notifier == nil && !iv.DryRun {
		// A timer run whose findings reach nobody must not look healthy.
		err := errors.New("slack is not configured (set SLACK_WEBHOOK_URL, or SLACK_BOT_TOKEN and SLACK_CHANNEL): the check ran, but its findings reached no one; see this invocation's log")
		log.Error("findings not delivered", "error", err.Error())
		return nil, err
	}
	return out, nil
}

// liveConfig resolves one invocation's collection: regions from the payload,
// else VPNCHECK_REGIONS, else the function's own region; credentials from
// the invocation context.
func (h *fcHandler) liveConfig(fctx *fccontext.FcContext, iv invocation) (liveConfig, checker.Options, error) {
	var opt checker.Options
	opt.AccountID = fctx.AccountId
	if iv.MinSeverity != nil {
		opt.MinSeverity = *iv.MinSeverity
	} else if v := h.getenv("VPNCHECK_MIN_SEVERITY"); v != "" {
		s, err := checker.ParseSeverity(v)
		if err != nil {
			return liveConfig{}, opt, fmt.Errorf("VPNCHECK_MIN_SEVERITY: %w", err)
		}
		opt.MinSeverity = s
	}

	regions := iv.Regions
	if len(regions) == 0 {
		regions = splitComma(h.getenv("VPNCHECK_REGIONS"))
	}
	if len(regions) == 0 && fctx.Region != "" {
		regions = []string{fctx.Region}
	}
	if len(regions) == 0 {
		return liveConfig{}, opt, errors.New("no region to scan: set VPNCHECK_REGIONS or the payload's regions")
	}

	c := fctx.Credentials
	if c.AccessKeyId == "" || c.AccessKeySecret == "" {
		return liveConfig{}, opt, errors.New("the invocation carries no credentials: give the function a role (see README, Deploy)")
	}
	cred, err := checker.StaticCredential(c.AccessKeyId, c.AccessKeySecret, c.SecurityToken)
	if err != nil {
		return liveConfig{}, opt, err
	}
	return liveConfig{
		credential:  cred,
		regions:     regions,
		exclude:     splitComma(h.getenv("VPNCHECK_EXCLUDE_REGIONS")),
		homeRegion:  fctx.Region,
		endpoint:    strings.TrimSpace(h.getenv("VPNCHECK_VPC_ENDPOINT")),
		concurrency: defaultConcurrency,
	}, opt, nil
}

// MarshalJSON keeps errors an array, never null.
func (r *fcResult) MarshalJSON() ([]byte, error) {
	type plain fcResult
	p := plain(*r)
	if p.Errors == nil {
		p.Errors = []checker.ErrorEntry{}
	}
	return json.Marshal(p)
}
