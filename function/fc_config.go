package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/alibaba"
	"github.com/vpncheck/vpncheck/checker/configrule"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/run"
)

// configResult is what a Config rule invocation put.
type configResult struct {
	MessageType   string `json:"message_type"`
	Evaluations   int    `json:"evaluations"`
	Compliant     int    `json:"compliant"`
	NonCompliant  int    `json:"non_compliant"`
	NotApplicable int    `json:"not_applicable"`
	DeleteMode    bool   `json:"delete_mode"`
}

// handleConfigRule serves a Cloud Config custom rule's event: it judges
// the changed connection (its configuration from the item, or described
// live by id when the item is oversized) or, for a periodic run, every
// connection of the regions the timer scans, with the same policies, and
// puts one evaluation per connection judged. No state moves and nothing is
// posted to Slack: Config keeps the verdicts. What could not be read gets
// no evaluation (never COMPLIANT by default), and the invocation fails.
func (h *fcHandler) handleConfigRule(ctx context.Context, fctx *fccontext.FcContext, log *slog.Logger, body []byte) (*fcResult, error) {
	fail := func(err error) (*fcResult, error) { return configFailed(log, err) }
	eng, ev, err := h.configEvent(ctx, fctx, body)
	if err != nil {
		return fail(err)
	}
	log = log.With("config_message", ev.MessageType)
	cred, client, err := h.configClient(fctx)
	if err != nil {
		return fail(err)
	}
	res := &fcResult{SchemaVersion: report.SchemaVersion, RunKey: "config:" + ev.MessageType, Summary: report.New().Summary,
		Config: &configResult{MessageType: ev.MessageType}}

	accountID := fctx.AccountId
	var source run.Source
	if it := ev.Item; it != nil {
		if it.AccountID != "" {
			accountID = it.AccountID
		}
		if it.ResourceType != configrule.ResourceType {
			evs := []configrule.Evaluation{configrule.NotApplicableFor(it, accountID, ev.OrderingTimestamp,
				"vpncheck judges IPsec-VPN connections ("+configrule.ResourceType+") only")}
			return h.putConfig(ctx, log, client, ev, evs, false, res, nil)
		}
		source, err = itemSource(it, accountID, fctx, h.getenv, cred)
		if err != nil {
			return fail(err)
		}
	} else {
		if source, _, err = h.source(fctx, invocation{}); err != nil {
			return fail(err)
		}
	}

	var inputs bytes.Buffer
	plan := run.Plan{Engine: eng, Source: source, AccountID: accountID, Unattended: true, Inputs: &inputs, FitMemory: adaptMemoryLimit}
	if plan.Now, err = runClock(h.getenv); err != nil {
		return fail(err)
	}
	return h.judgeConfig(ctx, log, client, ev, run.Execute(ctx, plan), inputs.Bytes(), accountID, res)
}

// configEvent reads the Config rule's event with the policies it is
// judged by (the event's rule parameters name their rules).
func (h *fcHandler) configEvent(ctx context.Context, fctx *fccontext.FcContext, body []byte) (*checker.Engine, *configrule.Event, error) {
	eng, engErr := h.engine, h.engineErr
	if h.remote != nil && engErr == nil {
		eng, engErr = h.remote.current(ctx, h.ossOptions(fctx))
	}
	if engErr != nil {
		return nil, nil, fmt.Errorf("policies did not load: %w", engErr)
	}
	defMin, err := (setting{h.getenv(envMinSeverity), envMinSeverity}).severity()
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, 0, len(eng.Rules()))
	for _, r := range eng.Rules() {
		ids = append(ids, r.ID)
	}
	ev, err := configrule.Parse(body, ids, defMin)
	if err != nil {
		return nil, nil, err
	}
	return eng, ev, nil
}

// configClient is the invocation's credential and its Cloud Config client.
func (h *fcHandler) configClient(fctx *fccontext.FcContext) (credentials.Credential, *org.Client, error) {
	c := fctx.Credentials
	if c.AccessKeyId == "" || c.AccessKeySecret == "" {
		return nil, nil, errNoCredentials
	}
	cred, err := alibaba.StaticCredential(c.AccessKeyId, c.AccessKeySecret, c.SecurityToken)
	if err != nil {
		return nil, nil, err
	}
	endpoint := strings.TrimSpace(h.getenv(envConfigEndpoint))
	if endpoint == "" {
		endpoint = configrule.Endpoint(fctx.Region)
	}
	client, err := org.NewClient(cred, endpoint, org.ClientOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", envConfigEndpoint, err)
	}
	return cred, client, nil
}

// judgeConfig turns the run's outcome into evaluations and puts them: one
// per connection judged, none for what could not be read (then the
// invocation fails, and says why).
func (h *fcHandler) judgeConfig(ctx context.Context, log *slog.Logger, client configrule.Caller, ev *configrule.Event,
	out run.Outcome, inputs []byte, accountID string, res *fcResult) (*fcResult, error) {
	fail := func(err error) (*fcResult, error) { return configFailed(log, err) }
	scrub := func(s string) string { return s }
	if out.Secrets != nil {
		scrub = out.Secrets.Scrub
	}
	if out.Report == nil { // nothing judged: nothing to say
		return fail(errors.New(scrub(out.Err.Error())))
	}
	rep := out.Report
	res.Summary, res.Errors = rep.Summary, rep.Errors
	judged, err := judgedConnections(inputs, rep)
	if err != nil {
		return fail(err)
	}
	evs := configrule.Evaluate(judged, rep.Findings, ev.Parameters, accountID, ev.OrderingTimestamp)
	failed := out.Err != nil || rep.Failed()
	if it := ev.Item; it != nil && len(judged) == 0 && !failed {
		// Described completely, and gone: nothing to judge any more.
		evs = append(evs, configrule.NotApplicableFor(it, accountID, ev.OrderingTimestamp, "the connection no longer exists"))
	}
	var why error
	switch {
	case out.Err != nil:
		why = errors.New(scrub(out.Err.Error()))
	case rep.Failed():
		why = fmt.Errorf("the check did not read everything (%s): no evaluation for what it could not read", strings.Join(rep.FailureReasons(), "; "))
	}
	for _, e := range rep.Errors {
		log.Warn("scan error", "region", e.Region, "code", e.Code, "message", scrub(e.Message), "request_id_api", e.RequestID)
	}
	return h.putConfig(ctx, log, client, ev, evs, ev.MessageType == configrule.MessageScheduled && !failed, res, why)
}

// configFailed logs why a Config rule invocation failed, and fails it.
func configFailed(log *slog.Logger, err error) (*fcResult, error) {
	log.Error("config rule invocation failed", "error", err.Error())
	return nil, err
}

// putConfig puts the evaluations and returns the invocation's result: an
// error when the put failed or the run could not read everything (why).
func (h *fcHandler) putConfig(ctx context.Context, log *slog.Logger, client configrule.Caller, ev *configrule.Event,
	evs []configrule.Evaluation, deleteMode bool, res *fcResult, why error) (*fcResult, error) {
	if err := configrule.Put(ctx, client, ev.ResultToken, evs, deleteMode); err != nil {
		return configFailed(log, fmt.Errorf("config rule (the role needs config:PutEvaluations: vpncheck setup --config-rule NAME grants it): %w", err))
	}
	cr := res.Config
	cr.Evaluations, cr.DeleteMode = len(evs), deleteMode
	for _, e := range evs {
		switch e.ComplianceType {
		case configrule.Compliant:
			cr.Compliant++
		case configrule.NonCompliant:
			cr.NonCompliant++
		default:
			cr.NotApplicable++
		}
	}
	log.Info("config rule evaluations put", "evaluations", cr.Evaluations, "compliant", cr.Compliant,
		"non_compliant", cr.NonCompliant, "not_applicable", cr.NotApplicable, "delete_mode", deleteMode)
	if why != nil {
		err := fmt.Errorf("config rule: %w", why)
		log.Error("config rule invocation failed", "error", err.Error())
		return nil, err
	}
	return res, nil
}

// itemSource is where a changed connection is read: its configuration in
// the item when the item carries it (and it is that connection), else a
// live description by id in its region (an oversized item has none).
func itemSource(it *configrule.Item, accountID string, fctx *fccontext.FcContext, getenv func(string) string, cred credentials.Credential) (run.Source, error) {
	if len(it.Configuration) > 0 {
		var probe struct {
			ID string `json:"VpnConnectionId"`
		}
		if json.Unmarshal(it.Configuration, &probe) == nil && probe.ID == it.ResourceID {
			return configurationSource{region: it.RegionID, configuration: it.Configuration}, nil
		}
	}
	if fctx.AccountId != "" && accountID != fctx.AccountId {
		// The function's role cannot describe another account's connection.
		return nil, fmt.Errorf("config rule event: the item is of account %s, the function runs in account %s, and the item has no usable configuration", accountID, fctx.AccountId)
	}
	return alibaba.One{Config: alibaba.CollectorConfig{Credential: cred, Endpoint: vpcEndpoint(getenv)},
		Region: it.RegionID, ConnectionID: it.ResourceID}, nil
}

// configurationSource reads one connection from a configuration item, as
// a one-connection DescribeVpnConnections page.
type configurationSource struct {
	region        string
	configuration json.RawMessage
}

func (s configurationSource) Collect(_ context.Context, inv *inventory.Inventory) error {
	page := `{"TotalCount":1,"PageNumber":1,"PageSize":1,"VpnConnections":{"VpnConnection":[` + string(s.configuration) + `]}}`
	res, err := inv.NewListing(s.region, 1).AddPage(1, strings.NewReader(page))
	if err != nil || res.Connections != 1 {
		inv.Fail(report.ErrorEntry{Region: s.region, Code: report.CodeInvalidResponse,
			Message: "the configuration item's configuration is not an IPsec-VPN connection"})
		return nil
	}
	inv.MarkScanned(s.region)
	return nil
}

// judgedConnections are the connections the run judged: those of its
// policy inputs, less those it collected but could not judge in time.
func judgedConnections(inputs []byte, rep *report.Report) ([]configrule.Connection, error) {
	var in []struct {
		Connection struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Region string `json:"region"`
		} `json:"connection"`
	}
	if len(bytes.TrimSpace(inputs)) > 0 {
		if err := json.Unmarshal(inputs, &in); err != nil {
			return nil, fmt.Errorf("read the judged connections: %w", err)
		}
	}
	notJudged := map[[2]string]bool{}
	for _, e := range rep.Errors {
		if e.Code == report.CodeNotJudged && e.ConnectionID != "" {
			notJudged[[2]string{e.Region, e.ConnectionID}] = true
		}
	}
	out := make([]configrule.Connection, 0, len(in))
	for _, c := range in {
		if c.Connection.ID == "" || notJudged[[2]string{c.Connection.Region, c.Connection.ID}] {
			continue
		}
		out = append(out, configrule.Connection{Region: c.Connection.Region, ID: c.Connection.ID, Name: c.Connection.Name})
	}
	return out, nil
}
