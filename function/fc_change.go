package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/vpncheck/vpncheck/checker/alibaba"
	"github.com/vpncheck/vpncheck/checker/change"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/run"
)

// handleChange serves an ActionTrail CloudEvent: an API call that may have
// changed an IPsec-VPN connection. A relevant one is a run of that one
// connection (described live, judged as usual, its keys compared with
// the fingerprints of the others' that the timer's runs keep in the state,
// for psk-reused) against the account's state: its new findings are posted
// with the change, the findings it fixed are resolved, and nothing else of
// the account moves. The run key
// is the event's, so that a duplicate delivery posts nothing.
func (h *fcHandler) handleChange(ctx context.Context, fctx *fccontext.FcContext, log *slog.Logger, body []byte) (*fcResult, error) {
	ev, err := change.Parse(body)
	if err != nil { // nothing is posted for a malformed event
		log.Error("invocation rejected", "error", err.Error())
		return nil, err
	}
	ack := &fcResult{SchemaVersion: report.SchemaVersion, RunKey: ev.DedupeKey(), Summary: report.New().Summary}
	if !ev.Relevant {
		log.Debug("event ignored: not a change to an IPsec-VPN connection", "event", ev.Name, "id", ev.ID)
		return ack, nil
	}
	if !h.checksRegion(ev.Region, fctx.Region) {
		// The timer never scans it: findings posted now would never be
		// resolved, only held.
		log.Info("event ignored: its region is not one this deployment checks", "event", ev.Name, "region", ev.Region, "connection_id", ev.ConnectionID)
		return ack, nil
	}
	if fctx.AccountId != "" && ev.AccountID != fctx.AccountId {
		// The function's role cannot describe another account's connection:
		// an answer of "not found" would read as a delete.
		err := fmt.Errorf("change event: the event is of account %s, the function runs in account %s: route only this account's events to it", ev.AccountID, fctx.AccountId)
		log.Error("invocation rejected", "error", err.Error())
		return nil, err
	}
	plan := h.basePlan(ctx, fctx, ev.DedupeKey(), false)
	changePlan(&plan, ev)
	log = log.With("run_key", plan.RunKey, "event", ev.Name, "connection_id", ev.ConnectionID, "region", ev.Region)
	log.Info("change event", "actor", ev.ActorString(), "source_ip", ev.SourceIP, "console", ev.Console, "changed", ev.Changed)

	var serr error
	if plan.MinSeverity, serr = (setting{h.getenv(envMinSeverity), envMinSeverity}).severity(); serr != nil && plan.SetupErr == nil {
		plan.SetupErr = serr
	}
	c := fctx.Credentials
	if c.AccessKeyId == "" || c.AccessKeySecret == "" {
		if plan.SetupErr == nil {
			plan.SetupErr = errors.New("the invocation carries no credentials: give the function a role (see README, Deploy)")
		}
	} else if cred, err := alibaba.StaticCredential(c.AccessKeyId, c.AccessKeySecret, c.SecurityToken); err != nil {
		if plan.SetupErr == nil {
			plan.SetupErr = err
		}
	} else {
		plan.Source = alibaba.One{Config: alibaba.CollectorConfig{Credential: cred, Endpoint: vpcEndpoint(h.getenv)},
			Region: ev.Region, ConnectionID: ev.ConnectionID}
	}
	return h.finish(log, run.Execute(ctx, plan), plan.RunKey, false)
}

// changePlan narrows a run to the event's connection and puts the change on
// its report: what the function and `vpncheck event` share. The run key is
// the event's dedupe key (source and id; the state store encodes it), so a
// second delivery of the same event finds the first one's claim.
func changePlan(p *run.Plan, ev *change.Event) {
	p.RunKey = ev.DedupeKey()
	p.Scope = &run.Scope{Region: ev.Region, ConnectionID: ev.ConnectionID}
	p.Change = &report.Change{
		Event: ev.Name, EventID: ev.ID, RequestID: ev.RequestID, AccountID: ev.AccountID,
		Region: ev.Region, ConnectionID: ev.ConnectionID, TunnelID: ev.TunnelID,
		Actor: ev.ActorString(), Time: ev.Time, SourceIP: ev.SourceIP, Console: ev.Console,
		Deleted: ev.Deleted, Changed: ev.Changed,
	}
}

// checksRegion says whether the timer's runs scan region: VPNCHECK_REGIONS
// (else the function's own region, or every region for "all"), less
// VPNCHECK_EXCLUDE_REGIONS.
func (h *fcHandler) checksRegion(region, home string) bool {
	if slices.Contains(splitComma(h.getenv(envExcludeRegions)), region) {
		return false
	}
	regions := splitComma(h.getenv(envRegions))
	if len(regions) == 0 {
		return region == home
	}
	return slices.ContainsFunc(regions, func(r string) bool { return r == region || strings.EqualFold(r, "all") })
}
