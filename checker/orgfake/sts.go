package orgfake

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

// STSVersion is the only STS version answered.
const STSVersion = "2015-04-01"

// Role is a RAM role in a member account that AssumeRole can assume.
type Role struct {
	AccountID  string
	Name       string // matched without regard to case, as RAM does
	ExternalID string // if set, AssumeRole must pass it
	// DenyCode, if set, is the error AssumeRole answers for this role,
	// e.g. "NoPermission" (the caller may not assume it).
	DenyCode string
}

// AssumeRoleCall is one request the STS fake received.
type AssumeRoleCall struct {
	Caller      string // Label of the credential that signed it; "" if refused
	RoleArn     string
	SessionName string
	Duration    int // DurationSeconds
	ExternalID  string
	Status      int
	Code        string // error code answered; "" on success
}

// STS fakes STS AssumeRole as credentials-go calls it: RPC style, signature
// version 1.0 (HMAC-SHA1), over HTTPS, since credentials-go has no way to
// call STS over plain HTTP. Starting one makes http.DefaultTransport (which
// credentials-go clones) trust the test certificate. Its methods are safe
// for concurrent use.
type STS struct {
	srv    *httptest.Server
	verify *acsfake.Verifier
	ids    requestIDs

	mu       sync.Mutex
	roles    map[string]Role // by lower-case ARN
	issued   map[string][]acsfake.Credential
	onIssue  []func(accountID string, c acsfake.Credential)
	calls    []AssumeRoleCall
	lifetime time.Duration

	identities map[string][2]string // label -> account id, user name
}

var (
	trustOnce sync.Once
	trusted   *x509.Certificate
)

// trust adds the test servers' certificate to http.DefaultTransport's roots
// once: credentials-go builds its transport from a clone of it, and every
// httptest TLS server shares one certificate.
func trust(cert *x509.Certificate) {
	trustOnce.Do(func() {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pool.AddCert(cert)
		tr := http.DefaultTransport.(*http.Transport)
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		} else {
			tr.TLSClientConfig = tr.TLSClientConfig.Clone()
		}
		tr.TLSClientConfig.RootCAs = pool
		trusted = cert
	})
	if !trusted.Equal(cert) {
		panic("orgfake: httptest TLS servers no longer share one certificate")
	}
}

// StartSTS starts a fake that accepts the callers' credentials (the
// coordinator's). Close it when done.
func StartSTS(callers ...acsfake.Credential) *STS {
	s := &STS{verify: acsfake.NewVerifier(callers...), roles: map[string]Role{}, issued: map[string][]acsfake.Credential{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	trust(s.srv.Certificate())
	return s
}

// Endpoint is "127.0.0.1:PORT", the value for org.RoleOptions.STSEndpoint.
func (s *STS) Endpoint() string { return strings.TrimPrefix(s.srv.URL, "https://") }

// Close stops the server.
func (s *STS) Close() { s.srv.Close() }

// AddRole makes r assumable (or denied, with r.DenyCode).
func (s *STS) AddRole(r Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[strings.ToLower(roleARN(r.AccountID, r.Name))] = r
}

func roleARN(account, name string) string { return "acs:ram::" + account + ":role/" + name }

// SetLifetime makes issued credentials expire d after issue, whatever
// DurationSeconds asks (to make clients renew them); 0 restores that.
func (s *STS) SetLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// SetIdentity makes GetCallerIdentity answer accountID (and userName, a
// RAM user of it) for the credential labelled label.
func (s *STS) SetIdentity(label, accountID, userName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.identities == nil {
		s.identities = map[string][2]string{}
	}
	s.identities[label] = [2]string{accountID, userName}
}

// identity answers GetCallerIdentity signed ACS3-HMAC-SHA256, as the
// darabonba client sends it.
func (s *STS) identity(r *http.Request, body []byte, call *AssumeRoleCall) (map[string]any, *acsfake.Error, *acsfake.Credential) {
	label, aerr := s.verify.Verify(r, body)
	if aerr != nil {
		return nil, aerr, nil
	}
	call.Caller = label
	if r.Header.Get("x-acs-version") != STSVersion {
		return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidVersion", Message: "Specified parameter Version is not valid."}, nil
	}
	if r.Header.Get("x-acs-action") != "GetCallerIdentity" {
		return nil, &acsfake.Error{Status: http.StatusNotFound, Code: "InvalidAction.NotFound", Message: "Specified api is not found, please check your url and method."}, nil
	}
	s.mu.Lock()
	id, ok := s.identities[label]
	s.mu.Unlock()
	if !ok {
		id = [2]string{label, "deployer"}
	}
	return map[string]any{
		"AccountId": id[0], "UserId": "2" + strings.Repeat("0", 15), "PrincipalId": "2" + strings.Repeat("0", 15),
		"IdentityType": "RAMUser", "Arn": "acs:ram::" + id[0] + ":user/" + id[1],
	}, nil, nil
}

// OnIssue calls fn with every credential the fake issues, as it issues it.
func (s *STS) OnIssue(fn func(accountID string, c acsfake.Credential)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onIssue = append(s.onIssue, fn)
}

// WireVPC makes v accept every credential issued from now on as the
// assumed account's (vpcfake.Server.AddAccountCredentials, the account id
// as label), and no other account's.
func (s *STS) WireVPC(v *vpcfake.Server) {
	s.OnIssue(func(account string, c acsfake.Credential) {
		v.AddAccountCredentials(account, vpcfake.Credentials{
			AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken,
		})
	})
}

// Issued returns the credentials issued so far for roles in accountID,
// labelled with accountID.
func (s *STS) Issued(accountID string) []acsfake.Credential {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued[accountID])
}

// Calls returns every request received so far, in order of arrival.
func (s *STS) Calls() []AssumeRoleCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

var (
	arnRe     = regexp.MustCompile(`^acs:ram::([0-9]+):role/([A-Za-z0-9.-]{1,64})$`)
	sessionRe = regexp.MustCompile(`^[A-Za-z0-9_.@-]{2,64}$`)
)

func (s *STS) serve(w http.ResponseWriter, r *http.Request) {
	reqID := s.ids.next('S')
	var call AssumeRoleCall
	ans, aerr, issued := s.answer(r, &call)
	call.Status, call.Code = acsfake.Outcome(aerr)
	s.mu.Lock()
	s.calls = append(s.calls, call)
	var hooks []func(string, acsfake.Credential)
	if issued != nil {
		s.issued[issued.Label] = append(s.issued[issued.Label], *issued)
		hooks = slices.Clone(s.onIssue)
	}
	s.mu.Unlock()
	// Hooks run before the answer, so the credentials work once received.
	for _, h := range hooks {
		h(issued.Label, *issued)
	}
	acsfake.Respond(w, r, reqID, ans, aerr)
}

func (s *STS) answer(r *http.Request, call *AssumeRoleCall) (map[string]any, *acsfake.Error, *acsfake.Credential) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, &acsfake.Error{Status: http.StatusMethodNotAllowed, Code: "UnsupportedHTTPMethod", Message: "This http method is not supported."}, nil
	}
	body, err := readBody(r, 1<<20)
	if err != nil {
		return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Message: "The request body is too large."}, nil
	}
	if strings.HasPrefix(r.Header.Get("Authorization"), "ACS3-") { // the darabonba client: GetCallerIdentity
		return s.identity(r, body, call)
	}
	p := params(r, body)
	label, aerr := s.verify.VerifyRPC(r, p)
	if aerr != nil {
		return nil, aerr, nil
	}
	call.Caller = label
	call.RoleArn, call.SessionName, call.ExternalID = p.Get("RoleArn"), p.Get("RoleSessionName"), p.Get("ExternalId")
	if p.Get("Version") != STSVersion {
		return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidVersion", Message: "Specified parameter Version is not valid."}, nil
	}
	if p.Get("Action") != "AssumeRole" {
		return nil, &acsfake.Error{Status: http.StatusNotFound, Code: "InvalidAction.NotFound", Message: "Specified api is not found, please check your url and method."}, nil
	}
	dur := 3600
	if v := p.Get("DurationSeconds"); v != "" {
		if dur, err = strconv.Atoi(v); err != nil || dur < 900 || dur > 3600 {
			return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidParameter.DurationSeconds", Message: "The parameter DurationSeconds is out of range: 900 to the role's MaxSessionDuration (3600)."}, nil
		}
	}
	call.Duration = dur
	if !sessionRe.MatchString(call.SessionName) {
		return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidParameter.RoleSessionName", Message: "The parameter RoleSessionName is wrongly formed."}, nil
	}
	m := arnRe.FindStringSubmatch(call.RoleArn)
	if m == nil {
		return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidParameter.RoleArn", Message: "The parameter RoleArn is wrongly formed."}, nil
	}
	s.mu.Lock()
	role, ok := s.roles[strings.ToLower(call.RoleArn)]
	lifetime := s.lifetime
	s.mu.Unlock()
	if lifetime == 0 {
		lifetime = time.Duration(dur) * time.Second
	}
	switch {
	case !ok:
		return nil, &acsfake.Error{Status: http.StatusNotFound, Code: "EntityNotExist.Role", Message: "The role not exists: " + call.RoleArn + "."}, nil
	case role.DenyCode != "":
		msg := acsfake.Messages[role.DenyCode]
		if msg == "" {
			msg = "Injected error " + role.DenyCode + "."
		}
		return nil, &acsfake.Error{Status: acsfake.StatusFor(role.DenyCode), Code: role.DenyCode, Message: msg}, nil
	case role.ExternalID != "" && role.ExternalID != call.ExternalID:
		return nil, &acsfake.Error{Status: http.StatusForbidden, Code: "NoPermission", Message: acsfake.Messages["NoPermission"]}, nil
	}

	c := acsfake.Credential{
		AccessKeyID:     "STS.NT" + randomString(22, alnum),
		AccessKeySecret: randomString(40, alnum),
		SecurityToken:   "CAIS" + randomString(120, alnum),
		Label:           m[1],
	}
	exp := time.Now().UTC().Add(lifetime).Format("2006-01-02T15:04:05Z")
	ans := map[string]any{
		"AssumedRoleUser": map[string]any{
			"Arn":           fmt.Sprintf("acs:ram::%s:role/%s/%s", m[1], strings.ToLower(m[2]), call.SessionName),
			"AssumedRoleId": "3" + randomString(17, "0123456789") + ":" + call.SessionName,
		},
		"Credentials": map[string]any{
			"AccessKeyId": c.AccessKeyID, "AccessKeySecret": c.AccessKeySecret,
			"SecurityToken": c.SecurityToken, "Expiration": exp,
		},
	}
	return ans, nil, &c
}
