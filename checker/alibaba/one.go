package alibaba

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"

	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"
)

// One is a source of one connection, the one a change event names:
// DescribeVpnConnections with its VpnConnectionId in its region, through a
// collector (its client, signing, retries and pacing).
//
// A connection still being changed when the event arrives (a transitional
// Status such as "updating") is described again, with Settle's backoff,
// until it settles. If it has not settled when Settle's attempts or the
// run's deadline run out, it is not judged: its region fails with code
// CodeStillChanging, so its findings are held, not resolved, and the run
// says so. A connection the API no longer knows (deleted) is an empty,
// complete answer: its region counts as scanned, so the lifecycle resolves
// its open findings.
type One struct {
	Config       CollectorConfig
	Region       string
	ConnectionID string
	// Settle paces the describes of a connection still changing: Attempts
	// is how many describes at most (default DefaultSettle).
	Settle Backoff
}

// DefaultSettle describes a changing connection again half a second later
// at first, then every 8 s at most, for about three and a half minutes, or
// less when the run's deadline comes first.
var DefaultSettle = Backoff{Attempts: 30, Base: 500 * time.Millisecond, Max: 8 * time.Second}

// CodeStillChanging is an errors entry for a connection that was still
// being changed when the run had to stop waiting: it was not judged.
const CodeStillChanging = "ConnectionStillChanging"

// changing are the connection statuses of a change still under way.
var changing = map[string]bool{"updating": true, "creating": true, "deleting": true, "attaching": true, "detaching": true}

// Validate is run.Validator: the configuration, before the run claims its key.
func (o One) Validate() error { return o.Config.Validate() }

// Collect describes the connection into inv. Failures are recorded in inv
// (the region fails, so nothing of the connection is resolved); the error
// is for what stops the run (a bad endpoint, credentials).
func (o One) Collect(ctx context.Context, inv *inventory.Inventory) error {
	col, err := newCollector(o.Config)
	if errors.Is(err, ErrInvalidEndpoint) {
		return badinput.Errorf("VPNCHECK_VPC_ENDPOINT: %v", err)
	}
	if err != nil {
		return err
	}
	settle := o.Settle
	if settle.Attempts < 1 {
		settle = DefaultSettle
	}
	col.collectOne(ctx, o.Region, o.ConnectionID, settle, inv)
	return nil
}

// oneAnswer is one description of a connection by id.
type oneAnswer struct {
	body      []byte
	requestID string
	status    string // the connection's Status; "" when it is gone
}

// collectOne describes region's connection id until it settles, then reads
// the last answer into inv through the decoder every page goes through.
func (c *collector) collectOne(ctx context.Context, region, id string, settle Backoff, inv *inventory.Inventory) {
	what := fmt.Sprintf("describe vpn connection %s in %s", id, region)
	fail := func(e report.ErrorEntry) {
		e.Region, e.ConnectionID = region, id
		inv.Fail(e)
	}
	cl, h, err := c.client(ctx, region)
	if err != nil {
		fail(report.ErrorEntry{Code: "ClientError", Message: c.scrub(err.Error())})
		return
	}
	var (
		got      *oneAnswer
		last     time.Time
		attempts int
	)
	for attempts = 1; ; attempts++ {
		var ans oneAnswer
		err := c.retry(ctx, &last, func() (err error) {
			ans, err = c.describeOne(cl, h, region, id)
			return err
		})
		if err != nil && (got == nil || !errors.Is(err, errDeadline)) {
			e := c.describe(err)
			e.Message = what + ": " + e.Message
			fail(e)
			return
		}
		if err != nil {
			break // the deadline, while waiting for the change to settle: judge the last answer
		}
		got = &ans
		if !changing[ans.status] || attempts >= settle.Attempts || !sleep(ctx, settle.delay(attempts)) {
			break
		}
	}
	if changing[got.status] {
		fail(report.ErrorEntry{Code: CodeStillChanging, RequestID: got.requestID,
			Message: fmt.Sprintf("connection %s in %s was still %s after %s: not judged; its findings stay as they were until it is described settled",
				id, region, got.status, report.Plural(attempts, "describe"))})
		return
	}
	res, err := inv.NewListing(region, PageSize).AddPage(1, bytes.NewReader(got.body))
	switch {
	case err != nil:
		e := c.describe(h.pageError(err, got.requestID))
		e.Message = what + ": " + e.Message
		fail(e)
	case res.Complete:
		inv.MarkScanned(region)
	default:
		fail(report.ErrorEntry{Code: report.CodeIncompleteResponse, RequestID: res.RequestID,
			Message: fmt.Sprintf("%s: the answer is incomplete: %s", what, c.scrub(res.Incomplete))})
	}
}

// describeOne makes one DescribeVpnConnections call for connection id and
// reads the answer: its body, and the connection's status. An answer that
// is not a page, or that holds another connection (an endpoint that
// ignores VpnConnectionId), is a *pageError, and is not retried.
func (c *collector) describeOne(cl vpcClient, h *ctxHTTP, region, id string) (oneAnswer, error) {
	req := &openapiutil.OpenApiRequest{Query: map[string]*string{
		"RegionId": tea.String(region), "VpnConnectionId": tea.String(id),
		"PageNumber": tea.String("1"), "PageSize": tea.String(strconv.Itoa(PageSize)),
	}}
	ans, err := cl.CallApi(describeVpnConnections, req, &dara.RuntimeOptions{})
	if err != nil {
		return oneAnswer{}, h.classify(err)
	}
	body, _ := ans["body"].(io.ReadCloser)
	if body == nil {
		return oneAnswer{}, &pageError{kind: pageInvalid, msg: "the response has no body"}
	}
	defer body.Close()
	out := oneAnswer{}
	if hs, ok := ans["headers"].(map[string]*string); ok {
		out.requestID = tea.StringValue(hs["x-acs-request-id"])
	}
	if out.body, err = io.ReadAll(body); err != nil {
		return oneAnswer{}, h.pageError(err, out.requestID)
	}
	// The decoder every page goes through decides whether this is a page
	// (into an inventory thrown away); only then is it looked into.
	if _, err := inventory.New().NewListing(region, PageSize).AddPage(1, bytes.NewReader(out.body)); err != nil {
		return oneAnswer{}, h.pageError(err, out.requestID)
	}
	var page struct {
		VpnConnections struct {
			VpnConnection []struct {
				VpnConnectionID json.RawMessage `json:"VpnConnectionId"`
				Status          json.RawMessage `json:"Status"`
			} `json:"VpnConnection"`
		} `json:"VpnConnections"`
	}
	if err := json.Unmarshal(out.body, &page); err != nil {
		return oneAnswer{}, &pageError{kind: pageInvalid, requestID: out.requestID, msg: "the answer's connection list has an unexpected shape"}
	}
	for _, v := range page.VpnConnections.VpnConnection {
		var got, status string
		if json.Unmarshal(v.VpnConnectionID, &got) != nil || got != id {
			return oneAnswer{}, &pageError{kind: pageInvalid, requestID: out.requestID,
				msg: "the answer holds another connection than " + id + ": the endpoint ignored VpnConnectionId"}
		}
		json.Unmarshal(v.Status, &status) // not a string: no status to wait on
		out.status = status
	}
	return out, nil
}
