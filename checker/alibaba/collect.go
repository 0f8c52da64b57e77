package alibaba

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/report"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	vpc "github.com/alibabacloud-go/vpc-20160428/v6/client"
	"github.com/aliyun/credentials-go/credentials"
)

// PageSize is the largest page DescribeVpnConnections serves.
const PageSize = 50

// ErrInvalidEndpoint marks a VPC endpoint that is not scheme://host[:port].
var ErrInvalidEndpoint = errors.New("invalid VPC endpoint")

// VPCClient is what a Collector needs of the VPC OpenAPI; the SDK's
// *client.Client satisfies it. Each call is one attempt: the Collector retries.
type VPCClient interface {
	DescribeVpnConnectionsWithOptions(*vpc.DescribeVpnConnectionsRequest, *dara.RuntimeOptions) (*vpc.DescribeVpnConnectionsResponse, error)
	DescribeRegionsWithOptions(*vpc.DescribeRegionsRequest, *dara.RuntimeOptions) (*vpc.DescribeRegionsResponse, error)
}

// CollectorConfig is how a Collector reaches the VPC OpenAPI.
type CollectorConfig struct {
	// Credential signs every call: credentials.NewCredential(nil) for the
	// default chain, or StaticCredential for keys handed in (Function Compute).
	Credential credentials.Credential
	// Endpoint, "scheme://host[:port]", serves every region; empty: each
	// region's public endpoint over HTTPS.
	Endpoint string
	// ConnectTimeout and ReadTimeout bound one HTTP attempt (defaults 5s, 10s).
	ConnectTimeout, ReadTimeout time.Duration
	// Concurrency is how many regions are scanned at once (default 4).
	Concurrency int
	// SaveDir, when set, receives every page read as <region>-page-<n>.json,
	// with a top-level RegionId and the secrets replaced by checker.Redacted.
	SaveDir string
}

// Backoff is the retry policy for throttling, 5xx and network errors.
type Backoff struct {
	Attempts int           // attempts per call, the first included
	Base     time.Duration // delay before the first retry; it doubles
	Max      time.Duration // cap of one delay (before jitter)
}

// Collector reads IPsec-VPN connections from the VPC OpenAPI, region by
// region, into an checker.Inventory.
type Collector struct {
	// Retry is used for throttling (Throttling*, HTTP 429/503), 5xx and
	// network errors, always within the context's deadline.
	Retry Backoff
	// MinInterval spaces two calls in one region, so that one region never
	// sees more than 60s/MinInterval calls a minute (the API allows 600).
	MinInterval time.Duration

	cfg     CollectorConfig
	cred    credentials.Credential
	httpc   *http.Client
	scheme  string
	host    string
	secrets []string
}

// StaticCredential is a credential for keys handed in, such as the
// temporary ones Function Compute gives each invocation.
func StaticCredential(accessKeyID, accessKeySecret, securityToken string) (credentials.Credential, error) {
	conf := &credentials.Config{
		Type:            tea.String("access_key"),
		AccessKeyId:     tea.String(accessKeyID),
		AccessKeySecret: tea.String(accessKeySecret),
	}
	if securityToken != "" {
		conf.Type = tea.String("sts")
		conf.SecurityToken = tea.String(securityToken)
	}
	cred, err := credentials.NewCredential(conf)
	if err != nil {
		return nil, fmt.Errorf("static credential: %w", err)
	}
	return cred, nil
}

// NewCollector checks the configuration and resolves the credential once,
// so that a broken credential chain is an error here, naming the problem.
func NewCollector(cfg CollectorConfig) (*Collector, error) {
	if cfg.Credential == nil {
		return nil, errors.New("new collector: no credential")
	}
	c := &Collector{
		Retry:       Backoff{Attempts: 6, Base: 300 * time.Millisecond, Max: 5 * time.Second},
		MinInterval: 200 * time.Millisecond,
		cfg:         cfg,
		scheme:      "HTTPS",
	}
	if c.cfg.ConnectTimeout <= 0 {
		c.cfg.ConnectTimeout = 5 * time.Second
	}
	if c.cfg.ReadTimeout <= 0 {
		c.cfg.ReadTimeout = 10 * time.Second
	}
	if c.cfg.Concurrency < 1 {
		c.cfg.Concurrency = 4
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("%w %q: want scheme://host[:port], e.g. https://vpc-vpc.cn-hangzhou.aliyuncs.com", ErrInvalidEndpoint, cfg.Endpoint)
		}
		c.scheme, c.host = strings.ToUpper(u.Scheme), u.Host
	}

	model, err := cfg.Credential.GetCredential()
	if err != nil {
		return nil, fmt.Errorf("load Alibaba Cloud credentials: %w", err)
	}
	if model == nil || tea.StringValue(model.AccessKeyId) == "" || tea.StringValue(model.AccessKeySecret) == "" {
		return nil, errors.New("load Alibaba Cloud credentials: no access key id or secret")
	}
	for _, s := range []*string{model.AccessKeySecret, model.SecurityToken} {
		if v := tea.StringValue(s); v != "" {
			c.secrets = append(c.secrets, v)
		}
	}
	c.cred = &lockedCredential{c: cfg.Credential}

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: c.cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = c.cfg.ReadTimeout
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = c.cfg.Concurrency
	c.httpc = &http.Client{Transport: tr, Timeout: c.cfg.ConnectTimeout + c.cfg.ReadTimeout}
	return c, nil
}

// client returns an SDK client for region whose HTTP calls end with ctx.
func (c *Collector) client(ctx context.Context, region string) (VPCClient, error) {
	conf := &openapiutil.Config{
		Credential:     c.cred,
		RegionId:       tea.String(region),
		Protocol:       tea.String(c.scheme),
		ConnectTimeout: tea.Int(int(c.cfg.ConnectTimeout / time.Millisecond)),
		ReadTimeout:    tea.Int(int(c.cfg.ReadTimeout / time.Millisecond)),
		UserAgent:      tea.String("vpncheck"),
		HttpClient:     ctxHTTP{ctx: ctx, c: c.httpc},
	}
	if c.host != "" {
		conf.Endpoint = tea.String(c.host)
	}
	cl, err := vpc.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("vpc client for %s: %w", region, err)
	}
	return cl, nil
}

// ctxHTTP carries a context into the SDK, which has none of its own.
type ctxHTTP struct {
	ctx context.Context
	c   *http.Client
}

func (h ctxHTTP) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	return h.c.Do(req.WithContext(h.ctx))
}

// lockedCredential serialises a credential provider: the default chain
// records the provider it used without a lock.
type lockedCredential struct {
	mu sync.Mutex
	c  credentials.Credential
}

func (l *lockedCredential) GetAccessKeyId() (*string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.GetAccessKeyId()
}

func (l *lockedCredential) GetAccessKeySecret() (*string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.GetAccessKeySecret()
}

func (l *lockedCredential) GetSecurityToken() (*string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.GetSecurityToken()
}

func (l *lockedCredential) GetBearerToken() *string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.GetBearerToken()
}

func (l *lockedCredential) GetType() *string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.GetType()
}

func (l *lockedCredential) GetCredential() (*credentials.CredentialModel, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.GetCredential()
}

// Regions lists the region IDs DescribeRegions returns, asked of home's
// endpoint (cn-hangzhou when home is empty) or of the configured one.
func (c *Collector) Regions(ctx context.Context, home string) ([]string, error) {
	if home == "" {
		home = "cn-hangzhou"
	}
	cl, err := c.client(ctx, home)
	if err != nil {
		return nil, err
	}
	var resp *vpc.DescribeRegionsResponse
	err = c.retry(ctx, nil, func() (err error) {
		resp, err = cl.DescribeRegionsWithOptions(&vpc.DescribeRegionsRequest{}, &dara.RuntimeOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("describe regions: %s", c.describe(err).Message)
	}
	var ids []string
	seen := map[string]bool{}
	if resp != nil && resp.Body != nil && resp.Body.Regions != nil {
		for _, r := range resp.Body.Regions.Region {
			if id := tea.StringValue(r.RegionId); id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("describe regions: the API returned no region")
	}
	return ids, nil
}

// Collect reads every connection of the regions into inv, scanning
// Concurrency regions at once. A region that fails is recorded with
// inv.Fail and the others go on; a region read whole is marked scanned.
// When ctx ends, collection stops and the unfinished regions are failed
// with report.CodeDeadlineExceeded; what was read of them stays in inv.
// The error is about saving pages to SaveDir only.
func (c *Collector) Collect(ctx context.Context, regions []string, inv *checker.Inventory) error {
	if c.cfg.SaveDir != "" {
		if err := os.MkdirAll(c.cfg.SaveDir, 0o700); err != nil {
			return fmt.Errorf("%w: %v", checker.ErrSaveInventory, err)
		}
	}
	var (
		work    = make(chan string)
		wg      sync.WaitGroup
		mu      sync.Mutex
		saveErr error
	)
	unique := dedupe(regions)
	for range min(c.cfg.Concurrency, len(unique)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for region := range work {
				if err := c.scanRegionSafely(ctx, region, inv); err != nil {
					mu.Lock()
					saveErr = errors.Join(saveErr, err)
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i, region := range unique {
		select {
		case work <- region:
		case <-ctx.Done():
			for _, r := range unique[i:] {
				inv.Fail(report.ErrorEntry{Region: r, Code: report.CodeDeadlineExceeded,
					Message: fmt.Sprintf("%s was not scanned: the run's deadline came first", r)})
			}
			break feed
		}
	}
	close(work)
	wg.Wait()
	return saveErr
}

// scanRegionSafely keeps a panic in one region's scan (the SDK converts
// responses by reflection) from taking the whole process down: the region
// fails, loudly, and the others go on. The panic's value is not reported: it
// may quote a response.
func (c *Collector) scanRegionSafely(ctx context.Context, region string, inv *checker.Inventory) (err error) {
	defer func() {
		if r := recover(); r != nil {
			inv.Fail(report.ErrorEntry{Region: region, Code: report.CodeInternalError,
				Message: fmt.Sprintf("scanning %s stopped on an internal error (a bug in vpncheck or the SDK): the region is incomplete", region)})
		}
	}()
	return c.scanRegion(ctx, region, inv)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// scanRegion reads region page by page. Its error is about saving only;
// everything else is recorded in inv.
func (c *Collector) scanRegion(ctx context.Context, region string, inv *checker.Inventory) error {
	cl, err := c.client(ctx, region)
	if err != nil {
		inv.Fail(report.ErrorEntry{Region: region, Code: "ClientError", Message: c.scrub(err.Error())})
		return nil
	}
	var (
		read    int64
		last    time.Time
		saveErr error
	)
	for page := 1; ; page++ {
		var resp *vpc.DescribeVpnConnectionsResponse
		req := &vpc.DescribeVpnConnectionsRequest{
			RegionId: tea.String(region), PageNumber: tea.Int32(int32(page)), PageSize: tea.Int32(PageSize),
		}
		err := c.retry(ctx, &last, func() (err error) {
			resp, err = cl.DescribeVpnConnectionsWithOptions(req, &dara.RuntimeOptions{})
			return err
		})
		what := fmt.Sprintf("describe vpn connections in %s page %d", region, page)
		if err != nil {
			e := c.describe(err)
			e.Region = region
			if e.Code == report.CodeDeadlineExceeded {
				e.Message = fmt.Sprintf("%s is incomplete: the run's deadline came before page %d was read (%d connections read)", region, page, read)
			} else {
				e.Message = what + ": " + e.Message
			}
			inv.Fail(e)
			return saveErr
		}
		var body []byte
		if resp != nil && resp.Body != nil {
			body, err = marshalPage(resp.Body)
		}
		if len(body) == 0 || err != nil {
			inv.Fail(report.ErrorEntry{Region: region, Code: report.CodeInvalidResponse, Message: what + ": the response has no body"})
			return saveErr
		}
		n, total, err := inv.AddPage(region, bytes.NewReader(body))
		if err != nil {
			inv.Fail(report.ErrorEntry{Region: region, Code: report.CodeInvalidResponse, RequestID: tea.StringValue(resp.Body.RequestId),
				Message: what + ": " + c.scrub(err.Error())})
			return saveErr
		}
		if c.cfg.SaveDir != "" && saveErr == nil {
			saveErr = savePage(c.cfg.SaveDir, region, page, body)
		}
		read += int64(n)
		if read >= total {
			inv.MarkScanned(region)
			return saveErr
		}
		if n == 0 {
			inv.Fail(report.ErrorEntry{Region: region, Code: report.CodeIncompleteResponse, RequestID: tea.StringValue(resp.Body.RequestId),
				Message: fmt.Sprintf("%s: the page is empty, but only %d of %d connections were read", what, read, total)})
			return saveErr
		}
	}
}

// marshalPage turns the SDK's typed body back into the API's JSON. The
// SDK's omitempty drops an empty connection list, which the API sends.
func marshalPage(body *vpc.DescribeVpnConnectionsResponseBody) ([]byte, error) {
	if body.VpnConnections != nil && len(body.VpnConnections.VpnConnection) > 0 {
		return json.Marshal(body)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	doc["VpnConnections"] = json.RawMessage(`{"VpnConnection":[]}`)
	return json.Marshal(doc)
}

// errDeadline is the run's deadline ending a call or its retries.
var errDeadline = errors.New("deadline")

// retry runs one SDK call until it succeeds, fails for good, runs out of
// attempts, or the deadline comes. last spaces calls by MinInterval.
func (c *Collector) retry(ctx context.Context, last *time.Time, call func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if last != nil && !last.IsZero() && c.MinInterval > 0 {
			if wait := c.MinInterval - time.Since(*last); wait > 0 && !sleep(ctx, wait) {
				return errors.Join(errDeadline, err)
			}
		}
		if ctx.Err() != nil {
			return errors.Join(errDeadline, err)
		}
		err = call()
		if last != nil {
			*last = time.Now()
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return errors.Join(errDeadline, err)
		}
		if !retryable(err) || attempt >= max(c.Retry.Attempts, 1) {
			return err
		}
		delay := c.Retry.delay(attempt)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return errors.Join(errDeadline, err)
		}
		if !sleep(ctx, delay) {
			return errors.Join(errDeadline, err)
		}
	}
}

// delay is a capped exponential backoff with equal jitter.
func (b Backoff) delay(attempt int) time.Duration {
	d := b.Base
	for range attempt - 1 {
		if d >= b.Max {
			break
		}
		d *= 2
	}
	d = min(d, b.Max)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// retryable: throttling, HTTP 429 and 5xx, and errors with no API answer
// (network). Every other API error, credential and permission ones
// included, fails at once.
func retryable(err error) bool {
	var se *tea.SDKError
	if !errors.As(err, &se) {
		return true
	}
	code, status := tea.StringValue(se.Code), tea.IntValue(se.StatusCode)
	switch {
	case strings.HasPrefix(code, "Throttling"), code == "ServiceUnavailable":
		return true
	case status == 0 && code == "":
		return true // no HTTP answer
	}
	return status == http.StatusTooManyRequests || status >= 500
}

// describe turns a call's error into an error entry without secrets.
func (c *Collector) describe(err error) report.ErrorEntry {
	if errors.Is(err, errDeadline) {
		return report.ErrorEntry{Code: report.CodeDeadlineExceeded, Message: "the run's deadline came first"}
	}
	var se *tea.SDKError
	if !errors.As(err, &se) {
		return report.ErrorEntry{Code: report.CodeNetworkError, Message: c.scrub(strings.Join(strings.Fields(err.Error()), " "))}
	}
	e := report.ErrorEntry{Code: tea.StringValue(se.Code)}
	msg := tea.StringValue(se.Message)
	var data struct {
		RequestID string `json:"RequestId"`
		Message   string `json:"Message"`
	}
	if d := tea.StringValue(se.Data); d != "" && json.Unmarshal([]byte(d), &data) == nil {
		e.RequestID = data.RequestID
		if data.Message != "" {
			msg = data.Message
		}
	}
	if e.Code == "" {
		e.Code = fmt.Sprintf("HTTP%d", tea.IntValue(se.StatusCode))
	}
	msg = e.Code + ": " + msg
	if hint := credentialHint(e.Code); hint != "" {
		msg += " (" + hint + ")"
	}
	e.Message = c.scrub(strings.Join(strings.Fields(msg), " "))
	return e
}

func credentialHint(code string) string {
	switch {
	case code == "SignatureDoesNotMatch":
		return "the access key secret does not belong to the access key id"
	case code == "InvalidAccessKeyId.NotFound", code == "InvalidAccessKeyId.Inactive":
		return "the access key id is unknown or disabled"
	case strings.HasPrefix(code, "InvalidSecurityToken"):
		return "the STS security token is invalid or expired"
	case strings.HasPrefix(code, "Forbidden"), strings.HasPrefix(code, "Forbbiden"):
		return "grant vpc:DescribeVpnConnections and vpc:DescribeRegions, see function/ram-policy.json"
	}
	return ""
}

// scrub removes the credential's secret and token from a message.
func (c *Collector) scrub(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, checker.Redacted)
	}
	return s
}

// secretKeys are the response fields that hold secrets: pre-shared keys
// (IkeConfig.Psk, TunnelIkeConfig.Psk) and BGP authentication keys.
var secretKeys = map[string]bool{"psk": true, "authkey": true}

// savePage writes one page with a top-level RegionId and its secrets
// replaced by checker.Redacted.

func savePage(dir, region string, page int, body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("%w page %d of %s: %v", checker.ErrSaveInventory, page, region, err)
	}
	redact(doc)
	doc["RegionId"] = region
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("%w page %d of %s: %v", checker.ErrSaveInventory, page, region, err)
	}
	name := filepath.Join(dir, fmt.Sprintf("%s-page-%d.json", safeName(region), page))
	if err := os.WriteFile(name, append(out, '\n'), 0o600); err != nil {
		return fmt.Errorf("%w: %v", checker.ErrSaveInventory, err)
	}
	return nil
}

func redact(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if secretKeys[strings.ToLower(k)] && x != nil && x != "" {
				v[k] = checker.Redacted
				continue
			}
			redact(x)
		}
	case []any:
		for _, x := range v {
			redact(x)
		}
	}
}

// safeName keeps a region id usable as part of a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}
