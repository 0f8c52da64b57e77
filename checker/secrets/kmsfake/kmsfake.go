// Package kmsfake is a local fake, on 127.0.0.1, of KMS Secrets Manager's
// GetSecretValue (kms-20160120, RPC style) for tests in any package. It
// verifies the official SDK's real ACS3-HMAC-SHA256 signature with acsfake
// and answers in KMS's wire format, errors included: a secret that does not
// exist is 404 Forbidden.ResourceNotFound.
package kmsfake

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/vpncheck/vpncheck/checker/acsfake"
)

// Version is the only KMS API version answered.
const Version = "2016-01-20"

// Secret is one secret the fake holds.
type Secret struct {
	Name string
	Data string
	// Readers are the Labels of the credentials allowed to read it; empty:
	// every accepted credential. Others get Forbidden.NoPermission.
	Readers []string
}

// Call is one request the fake received.
type Call struct {
	Caller     string // Label of the credential that signed it; "" if refused
	Action     string
	SecretName string
	Status     int
	Code       string // error code answered; "" on success
}

// Server fakes KMS. Its methods are safe for concurrent use.
type Server struct {
	// URL is "http://127.0.0.1:PORT", the value of VPNCHECK_KMS_ENDPOINT.
	URL string

	srv    *httptest.Server
	verify *acsfake.Verifier

	mu      sync.Mutex
	seq     int
	secrets map[string]Secret
	faults  []*acsfake.Fault
	calls   []Call
}

// Start starts a fake that accepts the callers' credentials. Close it when
// done.
func Start(callers ...acsfake.Credential) *Server {
	s := &Server{verify: acsfake.NewVerifier(callers...), secrets: map[string]Secret{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Accept adds a credential the fake accepts.
func (s *Server) Accept(c acsfake.Credential) { s.verify.Add(c) }

// Put stores (or replaces) a secret.
func (s *Server) Put(sec Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[sec.Name] = sec
}

// Inject makes the next matching calls answer f (Page is ignored).
func (s *Server) Inject(f acsfake.Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seq++
	reqID := fmt.Sprintf("K%07X-0000-4000-8000-%012d", s.seq, s.seq)
	s.mu.Unlock()
	var call Call
	ans, aerr := s.answer(r, &call)
	call.Status, call.Code = acsfake.Outcome(aerr)
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	acsfake.Respond(w, r, reqID, ans, aerr)
}

func (s *Server) answer(r *http.Request, call *Call) (map[string]any, *acsfake.Error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Message: "The request body cannot be read."}
	}
	label, aerr := s.verify.Verify(r, body)
	if aerr != nil {
		return nil, aerr
	}
	call.Caller = label
	call.Action = r.Header.Get("x-acs-action")
	if v := r.Header.Get("x-acs-version"); v != Version {
		return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidVersion", Message: "Specified parameter Version is not valid."}
	}
	p, _ := url.ParseQuery(r.URL.RawQuery)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil {
			for k, v := range form {
				p[k] = append(p[k], v...)
			}
		}
	}
	if r.Method != http.MethodPost || call.Action != "GetSecretValue" {
		return nil, &acsfake.Error{Status: http.StatusNotFound, Code: "InvalidAction.NotFound", Message: "Specified api is not found, please check your url and method."}
	}
	call.SecretName = p.Get("SecretName")
	s.mu.Lock()
	f := acsfake.TakeFault(s.faults, 0)
	sec, ok := s.secrets[call.SecretName]
	s.mu.Unlock()
	switch {
	case f != nil:
		return nil, f.Answer()
	case call.SecretName == "":
		return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "MissingParameter", Message: "The input parameter SecretName that is mandatory for processing this request is not supplied."}
	case !ok:
		return nil, &acsfake.Error{Status: http.StatusNotFound, Code: "Forbidden.ResourceNotFound", Message: "The resource cannot be found."}
	case len(sec.Readers) > 0 && !slices.Contains(sec.Readers, label):
		return nil, &acsfake.Error{Status: http.StatusForbidden, Code: "Forbidden.NoPermission", Message: "This operation is forbidden by permission system."}
	}
	return map[string]any{
		"SecretName": sec.Name, "VersionId": "v1", "CreateTime": "2026-12-01T08:00:00Z",
		"SecretData": sec.Data, "SecretDataType": "text", "SecretType": "Generic",
		"VersionStages": map[string]any{"VersionStage": []string{"ACSCurrent"}},
	}, nil
}
