// Package org holds the client side of vpncheck's organisation-wide run:
// listing the member accounts of a resource directory (Resource Manager),
// assuming a role in each (STS, through credentials-go) and starting one
// asynchronous Function Compute invocation per account (FC 3.0).
//
// Resource Manager and FC 3.0 have no generated Go SDK that this build can
// use, so both are called through the official generic client,
// darabonba-openapi's CallApi, which signs exactly as the generated SDKs do.
package org

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/alibaba"
	"github.com/vpncheck/vpncheck/checker/apiwire"
)

// ResourceManagerEndpoint is Resource Manager's endpoint; the API is
// global, served from one endpoint.
const ResourceManagerEndpoint = "resourcemanager.aliyuncs.com"

// FCEndpoint is the FC 3.0 endpoint of accountID in region.
func FCEndpoint(accountID, region string) string {
	return accountID + "." + region + ".fc.aliyuncs.com"
}

// Caller calls one OpenAPI operation. *Client is the production one; ctx
// ends the HTTP call.
type Caller interface {
	CallAPI(ctx context.Context, params *openapiutil.Params, req *openapiutil.OpenApiRequest) (map[string]any, error)
}

// ClientOptions bound a Client's calls. Zero values take the defaults.
type ClientOptions struct {
	ConnectTimeout time.Duration // default 5s
	ReadTimeout    time.Duration // default 10s
	// Attempts is how many times a throttled call (Throttling,
	// Throttling.User, Throttling.Api, ServiceUnavailable, and
	// ThrottleCodes) is tried, the first included; default 3. Other errors
	// are never retried: a retried InvokeAsync is the caller's decision,
	// made with the same task id.
	Attempts int
	// ThrottleCodes are a service's own throttling codes (KMS:
	// Rejected.Throttling), retried like the common ones.
	ThrottleCodes []string
	// Region is the region the calls are for, where a service's client
	// wants it (KMS); "" for a global API.
	Region string
	// MaxBody bounds an answer as read (default DefaultMaxBody); a larger
	// one fails with apiwire.ErrBodyTooLarge, quoting none of it.
	MaxBody int64
}

// DefaultMaxBody bounds an OpenAPI answer: a page of 100 accounts, a
// policy document or a function's configuration is a few KB.
const DefaultMaxBody = 4 << 20

// Client calls an OpenAPI endpoint through darabonba-openapi's generic
// client. It is safe for concurrent use.
type Client struct {
	conf    openapiutil.Config
	httpc   *http.Client
	maxBody int64
}

// throttleCodes are the error codes worth retrying after a pause.
var throttleCodes = []string{"Throttling", "Throttling.User", "Throttling.Api", "ServiceUnavailable"}

// NewClient returns a client for endpoint, which is a host
// ("resourcemanager.aliyuncs.com", called over HTTPS) or a URL
// ("http://127.0.0.1:PORT" for a test double).
func NewClient(cred credentials.Credential, endpoint string, o ClientOptions) (*Client, error) {
	if cred == nil {
		return nil, errors.New("new openapi client: no credential")
	}
	scheme, host, err := splitEndpoint(endpoint)
	if err != nil {
		return nil, fmt.Errorf("new openapi client: %w", err)
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 10 * time.Second
	}
	if o.Attempts < 1 {
		o.Attempts = 3
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = o.ReadTimeout
	// Keep the roots the default transport trusts (a test's own CA).
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{}
	}
	tr.TLSClientConfig.MinVersion = tls.VersionTLS12
	return &Client{
		conf: openapiutil.Config{
			Credential:     alibaba.LockCredential(cred),
			Endpoint:       tea.String(host),
			Protocol:       tea.String(scheme),
			RegionId:       tea.String(o.Region),
			ConnectTimeout: tea.Int(int(o.ConnectTimeout / time.Millisecond)),
			ReadTimeout:    tea.Int(int(o.ReadTimeout / time.Millisecond)),
			UserAgent:      tea.String("vpncheck"),
			RetryOptions: &dara.RetryOptions{
				Retryable: true,
				// Codes in no condition fall through to this: one attempt.
				MaxAttempts: 1,
				RetryCondition: []*dara.RetryCondition{{
					MaxAttempts: o.Attempts,
					ErrorCode:   append(slices.Clone(throttleCodes), o.ThrottleCodes...),
					Backoff:     &dara.EqualJitterBackoffPolicy{Period: 200, Cap: 3000},
					MaxDelay:    3000,
				}},
			},
		},
		httpc:   &http.Client{Transport: tr, Timeout: o.ConnectTimeout + o.ReadTimeout},
		maxBody: o.MaxBody,
	}, nil
}

// splitEndpoint turns "host[:port]" or "scheme://host[:port]" into the
// SDK's protocol and endpoint.
func splitEndpoint(endpoint string) (scheme, host string, err error) {
	if endpoint == "" {
		return "", "", errors.New("no endpoint")
	}
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", "", fmt.Errorf("endpoint %q: want host[:port] or scheme://host[:port]", endpoint)
	}
	return strings.ToUpper(u.Scheme), u.Host, nil
}

// CallAPI calls one operation; ctx ends the HTTP exchange. An API's error
// answer comes back as *APIError.
func (c *Client) CallAPI(ctx context.Context, params *openapiutil.Params, req *openapiutil.OpenApiRequest) (map[string]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cl, err := openapi.NewClient(c.ForContext(ctx))
	if err != nil {
		return nil, err
	}
	res, err := cl.CallApi(params, req, &dara.RuntimeOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, asAPIError(err)
	}
	return res, nil
}

// ForContext is the client's SDK configuration with ctx ending its HTTP
// exchanges, for a generated SDK client (KMS) made per call: the same
// endpoint, credentials, timeouts and retries as CallAPI's.
func (c *Client) ForContext(ctx context.Context) *openapiutil.Config {
	conf := c.conf // a shallow copy: the SDK client only reads it
	conf.HttpClient = ctxHTTP{ctx: ctx, c: c.httpc, maxBody: c.maxBody}
	return &conf
}

// ctxHTTP carries a context into the SDK, which has none of its own, and
// bounds every answer it reads.
type ctxHTTP struct {
	ctx     context.Context
	c       *http.Client
	maxBody int64
}

func (h ctxHTTP) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	resp, err := h.c.Do(req.WithContext(h.ctx))
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > h.maxBody {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: Content-Length %d", apiwire.ErrBodyTooLarge, resp.ContentLength)
	}
	resp.Body = limitedBody{Reader: apiwire.LimitBody(resp.Body, h.maxBody), Closer: resp.Body}
	return resp, nil
}

// limitedBody is a response body read through a limit.
type limitedBody struct {
	io.Reader
	io.Closer
}

// APIError is an OpenAPI's error answer.
type APIError struct {
	Code      string // e.g. "NoPermission", "Throttling.User"
	Status    int    // HTTP status; 0 when unknown (STS errors via credentials-go)
	RequestID string
	Message   string // the API's message, without secrets
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	switch {
	case e.Status != 0 && e.RequestID != "":
		fmt.Fprintf(&b, " (HTTP %d, request id %s)", e.Status, e.RequestID)
	case e.Status != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	case e.RequestID != "":
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// AsAPIError turns a darabonba SDK's *tea.SDKError (any generated SDK's,
// KMS's included) into an *APIError; other errors (network, timeouts) pass
// unchanged.
func AsAPIError(err error) error { return asAPIError(err) }

func asAPIError(err error) error {
	var se *tea.SDKError
	if !errors.As(err, &se) {
		return err
	}
	e := &APIError{Code: tea.StringValue(se.Code), Status: tea.IntValue(se.StatusCode), Message: tea.StringValue(se.Message)}
	var data struct {
		RequestID string `json:"RequestId"`
		Message   string `json:"Message"`
	}
	if d := tea.StringValue(se.Data); d != "" && json.Unmarshal([]byte(d), &data) == nil {
		e.RequestID = data.RequestID
		if data.Message != "" {
			e.Message = data.Message
		}
	}
	if e.Code == "" && e.Status == 0 {
		// Not an API answer (the SDK wraps network errors too).
		return fmt.Errorf("%s", strings.Join(strings.Fields(e.Message), " "))
	}
	if e.Code == "" {
		e.Code = fmt.Sprintf("HTTP%d", e.Status)
	}
	e.Message = strings.Join(strings.Fields(e.Message), " ")
	return e
}
