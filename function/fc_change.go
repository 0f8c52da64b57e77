package main

import (
	"context"
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
	rule := regionRule{regions: setting{h.getenv(envRegions), envRegions}, exclude: setting{h.getenv(envExcludeRegions), envExcludeRegions}, home: fctx.Region}
	if why := rule.ignores(ev.Region); why != "" {
		log.Info("event ignored: its region is not one this deployment checks", "event", ev.Name, "region", ev.Region, "connection_id", ev.ConnectionID, "why", why)
		return ack, nil
	}
	if fctx.AccountId != "" && ev.AccountID != fctx.AccountId {
		// The function's role cannot describe another account's connection:
		// an answer of "not found" would read as a delete.
		err := fmt.Errorf("change event: the event is of account %s, the function runs in account %s: route only this account's events to it", ev.AccountID, fctx.AccountId)
		log.Error("invocation rejected", "error", err.Error())
		return nil, err
	}
	b := h.basePlan(ctx, fctx, ev.DedupeKey(), false)
	changePlan(&b.Plan, ev)
	log = log.With("run_key", b.Plan.RunKey, "event", ev.Name, "connection_id", ev.ConnectionID, "region", ev.Region)
	log.Info("change event", "actor", ev.ActorString(), "source_ip", ev.SourceIP, "console", ev.Console, "changed", ev.Changed)

	var serr error
	b.Plan.MinSeverity, serr = (setting{h.getenv(envMinSeverity), envMinSeverity}).severity()
	b.Fail(serr)
	c := fctx.Credentials
	if c.AccessKeyId == "" || c.AccessKeySecret == "" {
		b.Fail(errNoCredentials)
	} else if cred, err := alibaba.StaticCredential(c.AccessKeyId, c.AccessKeySecret, c.SecurityToken); err != nil {
		b.Fail(err)
	} else {
		b.Plan.Source = alibaba.One{Config: alibaba.CollectorConfig{Credential: cred, Endpoint: vpcEndpoint(h.getenv)},
			Region: ev.Region, ConnectionID: ev.ConnectionID}
	}
	plan, err := b.Build()
	return h.finish(log, run.Start(ctx, plan, err), plan.RunKey, false)
}

// changePlan narrows a run to the event's connection and puts the change on
// its report: what the function and `vpncheck event` share. The run key is
// the event's dedupe key (source and id; the state store encodes it), so a
// second delivery of the same event finds the first one's claim; the
// event's digest tells it from another event under the same id.
func changePlan(p *run.Plan, ev *change.Event) {
	p.RunKey, p.EventDigest = ev.DedupeKey(), ev.Digest()
	p.Scope = &run.Scope{Region: ev.Region, ConnectionID: ev.ConnectionID}
	p.Change = &report.Change{
		Event: ev.Name, EventID: ev.ID, RequestID: ev.RequestID, AccountID: ev.AccountID,
		Region: ev.Region, ConnectionID: ev.ConnectionID, TunnelID: ev.TunnelID,
		Actor: ev.ActorString(), Time: ev.Time, SourceIP: ev.SourceIP, Console: ev.Console,
		Deleted: ev.Deleted, Changed: ev.Changed,
	}
}

// regionRule is which regions a deployment's runs scan: the regions listed
// ("all": every one), else the home region (for the command line, when it
// has none: every one), less the excluded. A change event of any other
// region is acknowledged and ignored: no run ever scans that region, so
// findings posted now would never be resolved, only held. The function and
// `vpncheck event` both decide with it.
type regionRule struct {
	regions, exclude setting // the flag or variable that gave each
	home             string
}

// ignores says why region is not one the rule checks, or "" when it is.
func (r regionRule) ignores(region string) string {
	if slices.Contains(r.exclude.list(), region) {
		return fmt.Sprintf("%s excludes region %s", r.exclude.name, region)
	}
	listed := r.regions.list()
	switch {
	case len(listed) > 0:
		if slices.ContainsFunc(listed, func(l string) bool { return l == region || strings.EqualFold(l, "all") }) {
			return ""
		}
		return fmt.Sprintf("region %s is not one %s lists", region, r.regions.name)
	case r.home == "" || region == r.home:
		return ""
	}
	return fmt.Sprintf("region %s is not the home region %s, the only one checked when %s is not set", region, r.home, r.regions.name)
}
