package alibaba

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"

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

// MaxBodyBytes is the most of one response vpncheck reads: a full page of
// 50 dual-tunnel connections with tags is well under 1 MiB.
const MaxBodyBytes = 8 << 20

// vpcClient is what a collector needs of the VPC OpenAPI; the SDK's
// *client.Client satisfies it. Each call is one attempt: the collector
// retries. DescribeVpnConnections goes through CallApi with the "binary"
// body type, so that its raw body reaches vpncheck's own decoder.
type vpcClient interface {
	CallApi(*openapiutil.Params, *openapiutil.OpenApiRequest, *dara.RuntimeOptions) (map[string]any, error)
	DescribeRegionsWithOptions(*vpc.DescribeRegionsRequest, *dara.RuntimeOptions) (*vpc.DescribeRegionsResponse, error)
}

// PageSaver receives every page a collector reads, as the API sent it
// (saved.Saver is one); Close follows the last page of the run.
type PageSaver interface {
	SavePage(region string, number, size int, body []byte) error
	Close() error
}

// CollectorConfig is how a collector reaches the VPC OpenAPI.
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
	// MaxBodyBytes caps one response (default MaxBodyBytes): a larger page
	// ends its region as incomplete.
	MaxBodyBytes int64
	// Save, when set, receives every page read (--save-inventory).
	Save PageSaver
}

// Backoff is the retry policy for throttling, 5xx and network errors.
type Backoff struct {
	Attempts int           // attempts per call, the first included
	Base     time.Duration // delay before the first retry; it doubles
	Max      time.Duration // cap of one delay (before jitter)
}

// collector reads IPsec-VPN connections from the VPC OpenAPI, region by
// region, into an inventory.Inventory.
type collector struct {
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

// newCollector checks the configuration and resolves the credential once,
// so that a broken credential chain is an error here, naming the problem.
func newCollector(cfg CollectorConfig) (*collector, error) {
	if cfg.Credential == nil {
		return nil, errors.New("new collector: no credential")
	}
	c := &collector{
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
	if c.cfg.MaxBodyBytes <= 0 {
		c.cfg.MaxBodyBytes = MaxBodyBytes
	}
	if cfg.Endpoint != "" {
		u, err := parseEndpoint(cfg.Endpoint)
		if err != nil {
			return nil, err
		}
		c.scheme, c.host = strings.ToUpper(u.Scheme), u.Host
	}

	model, err := cfg.Credential.GetCredential()
	if err != nil {
		return nil, fmt.Errorf("%s (the credential chain said: %s)", credentialsHint, oneLine(err.Error()))
	}
	if model == nil || tea.StringValue(model.AccessKeyId) == "" || tea.StringValue(model.AccessKeySecret) == "" {
		return nil, errors.New(credentialsHint + " (the credential chain gave no access key id or secret)")
	}
	for _, s := range []*string{model.AccessKeySecret, model.SecurityToken} {
		if v := tea.StringValue(s); v != "" {
			c.secrets = append(c.secrets, v)
		}
	}
	c.cred = LockCredential(cfg.Credential)

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: c.cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = c.cfg.ReadTimeout
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = c.cfg.Concurrency
	c.httpc = &http.Client{Transport: tr, Timeout: c.cfg.ConnectTimeout + c.cfg.ReadTimeout}
	return c, nil
}

// parseEndpoint reads a VPC endpoint, scheme://host[:port].
func parseEndpoint(endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("%w %q: want scheme://host[:port], e.g. https://vpc-vpc.cn-hangzhou.aliyuncs.com", ErrInvalidEndpoint, endpoint)
	}
	return u, nil
}

// Validate checks what a collector is configured with before anything is
// collected: a malformed endpoint is the user's input (badinput.Err).
func (cfg CollectorConfig) Validate() error {
	if cfg.Endpoint == "" {
		return nil
	}
	if _, err := parseEndpoint(cfg.Endpoint); err != nil {
		return badinput.Errorf("VPNCHECK_VPC_ENDPOINT: %v", err)
	}
	return nil
}

// credentialsHint says what to do when no credential could be loaded.
const credentialsHint = "no Alibaba Cloud credentials found: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (and ALIBABA_CLOUD_SECURITY_TOKEN for STS keys), or run aliyun configure"

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// client returns an SDK client for region whose HTTP calls end with ctx,
// and the HTTP layer under it, which sees what the SDK does not say.
func (c *collector) client(ctx context.Context, region string) (vpcClient, *ctxHTTP, error) {
	h := &ctxHTTP{ctx: ctx, c: c.httpc, maxBody: c.cfg.MaxBodyBytes}
	conf := &openapiutil.Config{
		Credential:     c.cred,
		RegionId:       tea.String(region),
		Protocol:       tea.String(c.scheme),
		ConnectTimeout: tea.Int(int(c.cfg.ConnectTimeout / time.Millisecond)),
		ReadTimeout:    tea.Int(int(c.cfg.ReadTimeout / time.Millisecond)),
		UserAgent:      tea.String("vpncheck"),
		HttpClient:     h,
	}
	if c.host != "" {
		conf.Endpoint = tea.String(c.host)
	}
	cl, err := vpc.NewClient(conf)
	if err != nil {
		return nil, nil, fmt.Errorf("vpc client for %s: %w", region, err)
	}
	return cl, h, nil
}

// ctxHTTP carries a context into the SDK, which has none of its own, caps
// every body at maxBody, and records what the last exchange showed. One
// region's calls are sequential, so last needs no lock.
type ctxHTTP struct {
	ctx     context.Context
	c       *http.Client
	maxBody int64
	last    exchange
}

// exchange is what one HTTP call showed, beyond what the SDK reports.
type exchange struct {
	answered    bool
	status      int
	contentType string
	readErr     error // the body broke off (or passed maxBody) while read
}

func (h *ctxHTTP) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	h.last = exchange{}
	resp, err := h.c.Do(req.WithContext(h.ctx))
	if err != nil {
		return nil, err
	}
	h.last.answered, h.last.status, h.last.contentType = true, resp.StatusCode, resp.Header.Get("Content-Type")
	if resp.ContentLength > h.maxBody {
		resp.Body.Close()
		h.last.readErr = fmt.Errorf("%w: Content-Length %d", apiwire.ErrBodyTooLarge, resp.ContentLength)
		return nil, h.last.readErr
	}
	resp.Body = &recordingBody{r: apiwire.LimitBody(resp.Body, h.maxBody), c: resp.Body, ex: &h.last}
	return resp, nil
}

// recordingBody notes the first error of reading the body that is not its end.
type recordingBody struct {
	r  io.Reader
	c  io.Closer
	ex *exchange
}

func (b *recordingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.ex.readErr == nil {
		b.ex.readErr = err
	}
	return n, err
}

func (b *recordingBody) Close() error { return b.c.Close() }

// LockCredential serialises a credential: the default chain and the RAM
// role provider keep state without a lock, and vpncheck calls them from
// many goroutines. Every getter goes through GetCredential.
func LockCredential(c credentials.Credential) credentials.Credential { return &lockedCredential{c: c} }

// lockedCredential is a credential behind a lock.
type lockedCredential struct {
	mu sync.Mutex
	c  credentials.Credential
}

func (l *lockedCredential) GetAccessKeyId() (*string, error) {
	m, err := l.GetCredential()
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("credential: none")
	}
	return m.AccessKeyId, nil
}

func (l *lockedCredential) GetAccessKeySecret() (*string, error) {
	m, err := l.GetCredential()
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("credential: none")
	}
	return m.AccessKeySecret, nil
}

func (l *lockedCredential) GetSecurityToken() (*string, error) {
	m, err := l.GetCredential()
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("credential: none")
	}
	return m.SecurityToken, nil
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
func (c *collector) Regions(ctx context.Context, home string) ([]string, error) {
	if home == "" {
		home = "cn-hangzhou"
	}
	cl, h, err := c.client(ctx, home)
	if err != nil {
		return nil, err
	}
	var resp *vpc.DescribeRegionsResponse
	err = c.retry(ctx, nil, func() (err error) {
		resp, err = cl.DescribeRegionsWithOptions(&vpc.DescribeRegionsRequest{}, &dara.RuntimeOptions{})
		return h.classify(err)
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
// The error is about saving pages (Save) only.
func (c *collector) Collect(ctx context.Context, regions []string, inv *inventory.Inventory) error {
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
func (c *collector) scanRegionSafely(ctx context.Context, region string, inv *inventory.Inventory) (err error) {
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

// scanRegion reads region page by page, through the decoder and the
// completeness rules that inventory files go through (inventory.Listing).
// Its error is about saving only; everything else is recorded in inv.
func (c *collector) scanRegion(ctx context.Context, region string, inv *inventory.Inventory) error {
	cl, h, err := c.client(ctx, region)
	if err != nil {
		inv.Fail(report.ErrorEntry{Region: region, Code: "ClientError", Message: c.scrub(err.Error())})
		return nil
	}
	ls := inv.NewListing(region, PageSize)
	var (
		held    int64
		last    time.Time
		saveErr error
	)
	for page := 1; ; page++ {
		var res pageResult
		err := c.retry(ctx, &last, func() error {
			var err error
			res, err = c.readPage(cl, h, ls, region, page)
			return err
		})
		what := fmt.Sprintf("describe vpn connections in %s page %d", region, page)
		if err != nil {
			e := c.describe(err)
			e.Region = region
			switch e.Code {
			case report.CodeDeadlineExceeded:
				e.Message = fmt.Sprintf("%s is incomplete: the run's deadline came before page %d was read (%d connections read)%s",
					region, page, held, lastErrorText(err, c.scrub))
			case report.CodeIncompleteResponse:
				e.Message = fmt.Sprintf("%s is incomplete: %s: %s (%d connections read)", region, what, e.Message, held)
			default:
				e.Message = what + ": " + e.Message
			}
			inv.Fail(e)
			return saveErr
		}
		held = res.Held
		if res.saveErr != nil && saveErr == nil {
			saveErr = res.saveErr
		}
		switch {
		case res.Complete:
			inv.MarkScanned(region)
			return saveErr
		case res.Incomplete != "":
			inv.Fail(report.ErrorEntry{Region: region, Code: report.CodeIncompleteResponse, RequestID: res.RequestID,
				Message: fmt.Sprintf("%s is incomplete: %s: %s", region, what, c.scrub(res.Incomplete))})
			return saveErr
		}
	}
}

// pageResult is a page read, and whether it could be saved.
type pageResult struct {
	inventory.PageResult
	saveErr error
}

// readPage makes one DescribeVpnConnections call and reads its body into
// the listing. A body that cannot be read is a *pageError, and adds nothing.
func (c *collector) readPage(cl vpcClient, h *ctxHTTP, ls *inventory.Listing, region string, page int) (pageResult, error) {
	req := &openapiutil.OpenApiRequest{Query: map[string]*string{
		"RegionId": tea.String(region), "PageNumber": tea.String(strconv.Itoa(page)), "PageSize": tea.String(strconv.Itoa(PageSize)),
	}}
	ans, err := cl.CallApi(describeVpnConnections, req, &dara.RuntimeOptions{})
	if err != nil {
		return pageResult{}, h.classify(err)
	}
	body, _ := ans["body"].(io.ReadCloser)
	if body == nil {
		return pageResult{}, &pageError{kind: pageInvalid, msg: "the response has no body"}
	}
	defer body.Close()
	reqID := ""
	if hs, ok := ans["headers"].(map[string]*string); ok {
		reqID = tea.StringValue(hs["x-acs-request-id"])
	}
	var r io.Reader = body
	var saved *bytes.Buffer
	if c.cfg.Save != nil {
		saved = new(bytes.Buffer)
		r = io.TeeReader(body, saved)
	}
	res, err := ls.AddPage(page, r)
	if err != nil {
		return pageResult{}, h.pageError(err, reqID)
	}
	if res.RequestID == "" {
		res.RequestID = reqID
	}
	out := pageResult{PageResult: res}
	if saved != nil {
		out.saveErr = c.cfg.Save.SavePage(region, page, PageSize, saved.Bytes())
	}
	return out, nil
}

// describeVpnConnections is the call the generated SDK makes, but with the
// raw body handed back.
var describeVpnConnections = &openapiutil.Params{
	Action: tea.String("DescribeVpnConnections"), Version: tea.String("2016-04-28"),
	Protocol: tea.String("HTTPS"), Pathname: tea.String("/"), Method: tea.String("POST"),
	AuthType: tea.String("AK"), Style: tea.String("RPC"), ReqBodyType: tea.String("formData"),
	BodyType: tea.String("binary"),
}

// pageKind is why a call gave no usable page.
type pageKind int

const (
	pageNetwork  pageKind = iota // no answer, or it broke off: retried
	pageServer                   // HTTP 429 or 5xx without an API error body: retried
	pageInvalid                  // an answer that is not a page: InvalidResponse
	pageTooLarge                 // a body over MaxBodyBytes: IncompleteResponse
)

// pageError is a call whose answer the SDK could not name as an API error,
// or whose body the decoder refused.
type pageError struct {
	kind      pageKind
	msg       string
	requestID string
	err       error
}

func (e *pageError) Error() string { return e.msg }
func (e *pageError) Unwrap() error { return e.err }

// classify turns a call's error into a *pageError where the SDK could not
// read an API error from the answer; API errors are left as they are.
func (h *ctxHTTP) classify(err error) error {
	if err == nil {
		return nil
	}
	var se *tea.SDKError
	if errors.As(err, &se) && (tea.StringValue(se.Code) != "" || tea.IntValue(se.StatusCode) != 0) {
		return err
	}
	ex := h.last
	switch {
	case errors.Is(ex.readErr, apiwire.ErrBodyTooLarge):
		return &pageError{kind: pageTooLarge, msg: tooLargeText(h.maxBody), err: err}
	case !ex.answered || ex.readErr != nil:
		return &pageError{kind: pageNetwork, msg: networkText(err), err: err}
	case ex.status == http.StatusTooManyRequests || ex.status >= 500:
		return &pageError{kind: pageServer, msg: fmt.Sprintf("HTTP %d without an API error body%s", ex.status, contentTypeText(ex.contentType)), err: err}
	}
	return &pageError{kind: pageInvalid, msg: fmt.Sprintf("HTTP %d with a body that is not an API answer%s", ex.status, contentTypeText(ex.contentType)), err: err}
}

// pageError words a body the decoder refused.
func (h *ctxHTTP) pageError(err error, reqID string) error {
	ex := h.last
	switch {
	case errors.Is(err, apiwire.ErrBodyTooLarge):
		return &pageError{kind: pageTooLarge, requestID: reqID, msg: tooLargeText(h.maxBody), err: err}
	case ex.readErr != nil:
		return &pageError{kind: pageNetwork, requestID: reqID, msg: "the response broke off: " + networkText(ex.readErr), err: err}
	}
	return &pageError{kind: pageInvalid, requestID: reqID, err: err,
		msg: fmt.Sprintf("the response is not a DescribeVpnConnections answer (HTTP %d%s): %s", ex.status, contentTypeText(ex.contentType), trimUnreadable(err))}
}

func tooLargeText(limit int64) string {
	return fmt.Sprintf("the response is larger than %d MiB, the most vpncheck reads of one page", limit>>20)
}

func contentTypeText(ct string) string {
	if ct == "" {
		return ""
	}
	return ", Content-Type " + printable(ct, 60)
}

// trimUnreadable drops the decoder's "not a DescribeVpnConnections
// response: ", which the message says already.
func trimUnreadable(err error) string {
	return strings.TrimPrefix(err.Error(), apiwire.ErrUnreadable.Error()+": ")
}

// printable keeps the first n printable ASCII characters of s.
func printable(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		if s[i] >= 0x20 && s[i] < 0x7f {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// networkText words an error with no API answer: the innermost cause (the
// refused connection, the DNS or TLS failure), without the request's URL.
func networkText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return oneLine(err.Error())
}

// lastErrorText is "; last error: ..." for the last real error joined to
// a deadline by retry, or "".
func lastErrorText(err error, scrub func(string) string) string {
	var last error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if e != errDeadline {
				last = e
			}
		}
	}
	if last == nil {
		return ""
	}
	var pe *pageError
	var se *tea.SDKError
	var msg string
	switch {
	case errors.As(last, &pe):
		msg = pe.msg
	case errors.As(last, &se):
		msg = tea.StringValue(se.Code)
	default:
		msg = networkText(last)
	}
	return "; last error: " + scrub(msg)
}

// errDeadline is the run's deadline ending a call or its retries.
var errDeadline = errors.New("deadline")

// retry runs one SDK call until it succeeds, fails for good, runs out of
// attempts, or the deadline comes. last spaces calls by MinInterval.
// When the deadline ends it, the error joins errDeadline with the last
// error that was not the deadline's own (a refused connection, a DNS or TLS
// failure), so that the report says what stood in the way.
func (c *collector) retry(ctx context.Context, last *time.Time, call func() error) error {
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
		prev, start := err, time.Now()
		err = call()
		if last != nil {
			*last = time.Now()
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				// The deadline's own cut says nothing new: the error before it
				// does, or else that the call had no answer.
				err = prev
				if err == nil {
					err = fmt.Errorf("no answer in %s", time.Since(start).Round(100*time.Millisecond))
				}
			}
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
// included, fails at once, and so does an answer that is not a page.
func retryable(err error) bool {
	var pe *pageError
	if errors.As(err, &pe) {
		return pe.kind == pageNetwork || pe.kind == pageServer
	}
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
func (c *collector) describe(err error) report.ErrorEntry {
	if errors.Is(err, errDeadline) {
		return report.ErrorEntry{Code: report.CodeDeadlineExceeded, Message: "the run's deadline came first" + lastErrorText(err, c.scrub)}
	}
	var pe *pageError
	if errors.As(err, &pe) {
		code := report.CodeNetworkError
		switch pe.kind {
		case pageInvalid:
			code = report.CodeInvalidResponse
		case pageTooLarge:
			code = report.CodeIncompleteResponse
		}
		return report.ErrorEntry{Code: code, RequestID: pe.requestID, Message: c.scrub(oneLine(pe.msg))}
	}
	var se *tea.SDKError
	if !errors.As(err, &se) {
		return report.ErrorEntry{Code: report.CodeNetworkError, Message: c.scrub(networkText(err))}
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
		return "grant vpc:DescribeVpnConnections and vpc:DescribeRegions (vpncheck setup creates that policy: docs/deploy.md)"
	}
	return ""
}

// scrub removes the credential's secret and token from a message.
func (c *collector) scrub(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, apiwire.Redacted)
	}
	return s
}
