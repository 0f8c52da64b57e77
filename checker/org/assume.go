package org

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/credentials-go/credentials/providers"
)

// RoleOptions name the role to assume in a member account.
type RoleOptions struct {
	AccountID   string // the member account, e.g. "1234567890123456"
	RoleName    string // a RAM role in it that trusts the caller
	SessionName string // default "vpncheck"
	ExternalID  string // optional; the role's trust policy may require it
	// Duration of the temporary credentials, clamped to 15 minutes to 1
	// hour; 0 means 1 hour. They are renewed before they expire.
	Duration time.Duration
	// STSEndpoint is "host[:port]" or "https://host[:port]"; default
	// sts.aliyuncs.com (or ALIBABA_CLOUD_STS_REGION's). credentials-go
	// always calls STS over HTTPS, so "http://" is refused.
	STSEndpoint string
}

var (
	accountIDRe   = regexp.MustCompile(`^[0-9]{1,32}$`)
	roleNameRe    = regexp.MustCompile(`^[A-Za-z0-9.-]{1,64}$`)
	sessionNameRe = regexp.MustCompile(`^[A-Za-z0-9_.@-]{2,64}$`)
)

// RoleARN is the ARN of roleName in accountID.
func RoleARN(accountID, roleName string) string {
	return "acs:ram::" + accountID + ":role/" + roleName
}

// AssumeRole returns temporary credentials of o's role, obtained with base
// through STS AssumeRole, for any SDK config (openapi.Config.Credential).
// The first credentials are fetched before it returns, so a denied role is
// an error here: an *APIError with STS's code (NoPermission,
// EntityNotExist.Role, ...) and request id. Later they are renewed as they
// near expiry. No error carries a secret or token.
func AssumeRole(base credentials.Credential, o RoleOptions) (credentials.Credential, error) {
	what := fmt.Sprintf("assume role %s in account %s", o.RoleName, o.AccountID)
	if base == nil {
		return nil, fmt.Errorf("%s: no base credential", what)
	}
	if !accountIDRe.MatchString(o.AccountID) {
		return nil, fmt.Errorf("%s: the account id must be digits", what)
	}
	if !roleNameRe.MatchString(o.RoleName) {
		return nil, fmt.Errorf("%s: the role name must be 1 to 64 letters, digits, '.' or '-'", what)
	}
	if o.SessionName == "" {
		o.SessionName = "vpncheck"
	}
	if !sessionNameRe.MatchString(o.SessionName) {
		return nil, fmt.Errorf("%s: the session name must be 2 to 64 letters, digits or any of _.@-", what)
	}
	secs := int(o.Duration / time.Second)
	switch {
	case secs == 0 || secs > 3600:
		secs = 3600
	case secs < 900:
		secs = 900
	}
	endpoint := o.STSEndpoint
	if strings.HasPrefix(endpoint, "http://") {
		return nil, fmt.Errorf("%s: STS endpoint %q: credentials-go calls STS over HTTPS only", what, endpoint)
	}
	endpoint = strings.TrimSuffix(strings.TrimPrefix(endpoint, "https://"), "/")
	if strings.ContainsAny(endpoint, "/?#@ ") {
		return nil, fmt.Errorf("%s: STS endpoint %q: want host[:port]", what, o.STSEndpoint)
	}

	src := &baseProvider{c: base}
	b := providers.NewRAMRoleARNCredentialsProviderBuilder().
		WithCredentialsProvider(src).
		WithRoleArn(RoleARN(o.AccountID, o.RoleName)).
		WithRoleSessionName(o.SessionName).
		WithDurationSeconds(secs).
		WithHttpOptions(&providers.HttpOptions{ConnectTimeout: 5000, ReadTimeout: 10000})
	if o.ExternalID != "" {
		b = b.WithExternalId(o.ExternalID)
	}
	if endpoint != "" {
		b = b.WithStsEndpoint(endpoint)
	}
	p, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	cred := &roleCredential{what: what, src: src, c: credentials.FromCredentialsProvider("ram_role_arn", p)}
	if _, err := cred.GetCredential(); err != nil {
		return nil, err
	}
	return cred, nil
}

// baseProvider adapts a credentials.Credential to the provider interface
// the RAM role provider takes, and remembers the secrets it handed out so
// that errors can be scrubbed of them.
type baseProvider struct {
	c       credentials.Credential
	mu      sync.Mutex
	secrets []string
}

func (b *baseProvider) GetCredentials() (*providers.Credentials, error) {
	m, err := b.c.GetCredential()
	if err != nil {
		return nil, fmt.Errorf("base credential: %w", err)
	}
	if m == nil || tea.StringValue(m.AccessKeyId) == "" || tea.StringValue(m.AccessKeySecret) == "" {
		return nil, errors.New("base credential: no access key id or secret")
	}
	c := &providers.Credentials{
		AccessKeyId:     tea.StringValue(m.AccessKeyId),
		AccessKeySecret: tea.StringValue(m.AccessKeySecret),
		SecurityToken:   tea.StringValue(m.SecurityToken),
		ProviderName:    tea.StringValue(m.ProviderName),
	}
	if c.ProviderName == "" {
		c.ProviderName = b.GetProviderName()
	}
	b.mu.Lock()
	for _, s := range []string{c.AccessKeySecret, c.SecurityToken} {
		if s != "" && !contains(b.secrets, s) {
			b.secrets = append(b.secrets, s)
		}
	}
	b.mu.Unlock()
	return c, nil
}

func (b *baseProvider) GetProviderName() string { return "vpncheck_base" }

func (b *baseProvider) scrub(s string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, sec := range b.secrets {
		s = strings.ReplaceAll(s, sec, "[REDACTED]")
	}
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// roleCredential serialises the RAM role provider (it renews without a
// lock) and turns its errors into ones without secrets.
type roleCredential struct {
	what string
	src  *baseProvider
	mu   sync.Mutex
	c    credentials.Credential
}

func (r *roleCredential) GetCredential() (*credentials.CredentialModel, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.c.GetCredential()
	if err != nil {
		return nil, r.wrap(err)
	}
	return m, nil
}

func (r *roleCredential) GetAccessKeyId() (*string, error) {
	m, err := r.GetCredential()
	if err != nil {
		return nil, err
	}
	return m.AccessKeyId, nil
}

func (r *roleCredential) GetAccessKeySecret() (*string, error) {
	m, err := r.GetCredential()
	if err != nil {
		return nil, err
	}
	return m.AccessKeySecret, nil
}

func (r *roleCredential) GetSecurityToken() (*string, error) {
	m, err := r.GetCredential()
	if err != nil {
		return nil, err
	}
	return m.SecurityToken, nil
}

func (r *roleCredential) GetBearerToken() *string { return tea.String("") }

func (r *roleCredential) GetType() *string { return tea.String("ram_role_arn") }

// stsFailed is how credentials-go prefixes STS's error body.
const stsFailed = "refresh session token failed: "

// wrap turns a provider error into one that names the role and carries no
// secret: STS's error body becomes an *APIError (its message cut before
// the server's string to sign, which holds the caller's security token); a
// network error loses its URL, whose query holds the same token.
func (r *roleCredential) wrap(err error) error {
	msg := err.Error()
	if body, ok := strings.CutPrefix(msg, stsFailed); ok {
		var e struct {
			RequestID string `json:"RequestId"`
			Code      string `json:"Code"`
			Message   string `json:"Message"`
		}
		if json.Unmarshal([]byte(body), &e) == nil && e.Code != "" {
			m := e.Message
			lower := strings.ToLower(m)
			if i := strings.Index(lower, "string to sign"); i >= 0 {
				if j := strings.LastIndex(lower[:i], "server "); j >= 0 && j+len("server ") == i {
					i = j
				}
				m = strings.TrimSpace(m[:i]) + " [string to sign withheld]"
			}
			return fmt.Errorf("%s: %w", r.what, &APIError{Code: e.Code, RequestID: e.RequestID, Message: r.src.scrub(m)})
		}
		return fmt.Errorf("%s: STS answered an error that is not JSON", r.what)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		host := "STS"
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
		return fmt.Errorf("%s: call %s: %s", r.what, host, r.src.scrub(ue.Err.Error()))
	}
	return fmt.Errorf("%s: %s", r.what, r.src.scrub(msg))
}
