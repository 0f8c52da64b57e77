package secrets

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	util "github.com/alibabacloud-go/tea-utils/v2/service"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/alibaba"
	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/org"
)

// CodeNotFound is KMS's answer for a secret that does not exist.
const CodeNotFound = "Forbidden.ResourceNotFound"

// KMS reads secrets with GetSecretValue (kms-20160120), the shared KMS
// gateway of one region. It is safe for concurrent use.
type KMS struct {
	conf  openapi.Config
	httpc *http.Client
}

// NewKMS returns a reader signing with cred in region. endpoint, if not
// empty, overrides the regional one: "host[:port]" (HTTPS) or
// "scheme://host[:port]" (a test double).
func NewKMS(cred credentials.Credential, region, endpoint string) (*KMS, error) {
	if cred == nil {
		return nil, errors.New("new kms client: no credential")
	}
	if region == "" && endpoint == "" {
		return nil, errors.New("new kms client: no region")
	}
	k := &KMS{conf: openapi.Config{
		Credential:     alibaba.LockCredential(cred),
		RegionId:       tea.String(region),
		ConnectTimeout: tea.Int(5000),
		ReadTimeout:    tea.Int(10000),
		UserAgent:      tea.String("vpncheck"),
		RetryOptions: &dara.RetryOptions{
			Retryable:   true,
			MaxAttempts: 1, // other codes: one attempt
			RetryCondition: []*dara.RetryCondition{{
				MaxAttempts: 3,
				ErrorCode:   []string{"Throttling", "Throttling.User", "Throttling.Api", "ServiceUnavailable", "Rejected.Throttling"},
				Backoff:     &dara.EqualJitterBackoffPolicy{Period: 200, Cap: 3000},
				MaxDelay:    3000,
			}},
		},
	}}
	if endpoint != "" {
		scheme, host, err := splitEndpoint(endpoint)
		if err != nil {
			return nil, fmt.Errorf("new kms client: %w", err)
		}
		k.conf.Endpoint, k.conf.Protocol = tea.String(host), tea.String(scheme)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 10 * time.Second
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	k.httpc = &http.Client{Transport: tr, Timeout: 15 * time.Second}
	return k, nil
}

// Secret returns the current value (ACSCurrent) of the secret name. A
// missing secret wraps ErrNotFound; an API error is an *org.APIError
// wrapped with the secret's name.
func (k *KMS) Secret(ctx context.Context, name string) (string, error) {
	what := "get secret " + name
	if name == "" {
		return "", errors.New("get secret: no name")
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	conf := k.conf // the SDK client only reads it
	conf.HttpClient = ctxHTTP{ctx: ctx, c: k.httpc}
	c, err := kms.NewClient(&conf)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	res, err := c.GetSecretValueWithOptions(&kms.GetSecretValueRequest{SecretName: tea.String(name)}, &util.RuntimeOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("%s: %w", what, ctx.Err())
		}
		err = org.AsAPIError(err)
		var ae *org.APIError
		if errors.As(err, &ae) && ae.Code == CodeNotFound {
			return "", fmt.Errorf("%s: %w (%v)", what, ErrNotFound, err)
		}
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if res == nil || res.Body == nil || res.Body.SecretData == nil {
		return "", fmt.Errorf("%s: the answer holds no SecretData", what)
	}
	if t := tea.StringValue(res.Body.SecretDataType); t != "" && t != "text" {
		return "", fmt.Errorf("%s: SecretDataType %s, want text", what, t)
	}
	return *res.Body.SecretData, nil
}

// ctxHTTP carries a context into the SDK, which has none of its own.
type ctxHTTP struct {
	ctx context.Context
	c   *http.Client
}

// MaxAnswer bounds a GetSecretValue answer as read: a secret's value is
// tens of KB at most, and JSON escaping at most sextuples it.
const MaxAnswer = 1 << 20

func (h ctxHTTP) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	resp, err := h.c.Do(req.WithContext(h.ctx))
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > MaxAnswer {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: Content-Length %d", apiwire.ErrBodyTooLarge, resp.ContentLength)
	}
	resp.Body = limitedBody{Reader: apiwire.LimitBody(resp.Body, MaxAnswer), Closer: resp.Body}
	return resp, nil
}

// limitedBody is a response body read through a limit.
type limitedBody struct {
	io.Reader
	io.Closer
}

// splitEndpoint turns "host[:port]" or "scheme://host[:port]" into the
// SDK's protocol and endpoint.
func splitEndpoint(endpoint string) (scheme, host string, err error) {
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
