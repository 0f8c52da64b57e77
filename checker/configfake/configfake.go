// Package configfake fakes Cloud Config's PutEvaluations (Config API
// 2020-09-07, RPC style) for tests: it checks the official SDK's
// ACS3-HMAC-SHA256 signature with acsfake, the API version and action,
// the result token the rule's event carried, and the evaluations' shape,
// answers as the real API does (errors included), and records what it
// accepted.
package configfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/acsfake"
)

// Version is the only Config API version answered.
const Version = "2020-09-07"

// The limits the fake holds callers to: vpncheck's own bounds (see
// configrule.MaxAnnotation and MaxBatch), which Cloud Config's reference
// does not state and AWS Config's does.
const (
	MaxAnnotation = 256
	MaxBatch      = 100
)

// Evaluation is one evaluation as the caller sent it.
type Evaluation struct {
	AccountID              json.Number `json:"accountId"`
	ComplianceResourceID   string      `json:"complianceResourceId"`
	ComplianceResourceName string      `json:"complianceResourceName"`
	ComplianceResourceType string      `json:"complianceResourceType"`
	ComplianceRegionID     string      `json:"complianceRegionId"`
	ComplianceType         string      `json:"complianceType"`
	Annotation             string      `json:"annotation"`
	OrderingTimestamp      json.Number `json:"orderingTimestamp"`
}

// Call is one request the fake received.
type Call struct {
	Action      string
	Caller      string // Label of the signing credential; "" if refused
	ResultToken string
	DeleteMode  bool
	Evaluations int
	Status      int
	Code        string // error code answered; "" on success
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	URL string // http://127.0.0.1:PORT, for VPNCHECK_CONFIG_ENDPOINT

	srv    *httptest.Server
	verify *acsfake.Verifier
	seq    atomic.Int64

	mu     sync.Mutex
	tokens map[string]bool
	faults []*acsfake.Fault
	calls  []Call
	evals  map[string][]Evaluation // by result token
}

// Start starts a fake that accepts the callers' credentials.
func Start(callers ...acsfake.Credential) *Server {
	s := &Server{verify: acsfake.NewVerifier(callers...), tokens: map[string]bool{}, evals: map[string][]Evaluation{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// AddToken makes token a result token Config issued (with a rule event).
func (s *Server) AddToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = true
}

// Inject queues a fault for PutEvaluations calls.
func (s *Server) Inject(f acsfake.Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Calls returns every request so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Evaluations returns the evaluations accepted under token, in order.
func (s *Server) Evaluations(token string) []Evaluation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.evals[token])
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	reqID := fmt.Sprintf("C0NF16-%06d", s.seq.Add(1))
	call := Call{Action: r.Header.Get("x-acs-action")}
	evs, aerr := s.answer(r, &call)
	call.Status, call.Code = acsfake.Outcome(aerr)
	s.mu.Lock()
	s.calls = append(s.calls, call)
	if aerr == nil {
		s.evals[call.ResultToken] = append(s.evals[call.ResultToken], evs...)
	}
	s.mu.Unlock()
	acsfake.Respond(w, r, reqID, map[string]any{"Result": true}, aerr)
}

func invalid(code, msg string) *acsfake.Error {
	return &acsfake.Error{Status: http.StatusBadRequest, Code: code, Message: msg}
}

func (s *Server) answer(r *http.Request, call *Call) ([]Evaluation, *acsfake.Error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return nil, invalid("InvalidParameter", "The request body cannot be read.")
	}
	label, aerr := s.verify.Verify(r, body)
	if aerr != nil {
		return nil, aerr
	}
	call.Caller = label
	if r.Header.Get("x-acs-version") != Version {
		return nil, invalid("InvalidVersion", "Specified parameter Version is not valid.")
	}
	if call.Action != "PutEvaluations" {
		return nil, &acsfake.Error{Status: http.StatusNotFound, Code: "InvalidAction.NotFound", Message: "Specified api is not found, please check your url and method."}
	}
	p, _ := url.ParseQuery(r.URL.RawQuery)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, invalid("InvalidParameter", "The request body is not a form.")
		}
		for k, v := range form {
			p[k] = append(p[k], v...)
		}
	}
	call.ResultToken = p.Get("ResultToken")
	switch p.Get("DeleteMode") {
	case "", "false":
	case "true":
		call.DeleteMode = true
	default:
		return nil, invalid("InvalidParameter.DeleteMode", "The specified DeleteMode is invalid.")
	}

	s.mu.Lock()
	f := acsfake.TakeFault(s.faults, 0)
	known := s.tokens[call.ResultToken]
	s.mu.Unlock()
	if f != nil {
		return nil, f.Answer()
	}
	if call.ResultToken == "" {
		return nil, invalid("MissingResultToken", "ResultToken is mandatory for this action.")
	}
	if !known {
		return nil, invalid("InvalidParameter.ResultToken", "The specified ResultToken is invalid or expired.")
	}
	evs, aerr := parseEvaluations(p.Get("Evaluations"))
	call.Evaluations = len(evs)
	return evs, aerr
}

var complianceTypes = []string{"COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"}

func parseEvaluations(s string) ([]Evaluation, *acsfake.Error) {
	bad := func(format string, a ...any) *acsfake.Error {
		return invalid("InvalidParameter.Evaluations", "The specified Evaluations is invalid: "+fmt.Sprintf(format, a...))
	}
	var raw []map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, bad("not a JSON array of objects")
	}
	if len(raw) > MaxBatch {
		return nil, bad("more than %d evaluations", MaxBatch)
	}
	out := make([]Evaluation, 0, len(raw))
	for i, m := range raw {
		for k := range m {
			switch k {
			case "accountId", "complianceResourceId", "complianceResourceName", "complianceResourceType",
				"complianceRegionId", "complianceType", "annotation", "orderingTimestamp":
			default:
				return nil, bad("evaluation %d: unknown field %s", i, k)
			}
		}
		b, _ := json.Marshal(m)
		var e Evaluation
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&e); err != nil {
			return nil, bad("evaluation %d: %v", i, err)
		}
		switch {
		case e.ComplianceResourceID == "", e.ComplianceResourceType == "", e.ComplianceRegionID == "":
			return nil, bad("evaluation %d: complianceResourceId, complianceResourceType and complianceRegionId are required", i)
		case !slices.Contains(complianceTypes, e.ComplianceType):
			return nil, bad("evaluation %d: complianceType %q", i, e.ComplianceType)
		case e.OrderingTimestamp == "":
			return nil, bad("evaluation %d: orderingTimestamp is required", i)
		case utf8.RuneCountInString(e.Annotation) > MaxAnnotation:
			return nil, bad("evaluation %d: annotation over %d characters", i, MaxAnnotation)
		}
		if _, err := e.OrderingTimestamp.Int64(); err != nil {
			return nil, bad("evaluation %d: orderingTimestamp is not milliseconds", i)
		}
		if e.AccountID != "" {
			if _, err := e.AccountID.Int64(); err != nil {
				return nil, bad("evaluation %d: accountId is not a number", i)
			}
		}
		out = append(out, e)
	}
	return out, nil
}
