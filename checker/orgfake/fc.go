package orgfake

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"

	"github.com/vpncheck/vpncheck/checker/acsfake"
)

// FCVersion is the only FC API version answered.
const FCVersion = "2023-03-30"

// MaxAsyncPayload is the largest asynchronous payload FC accepts.
const MaxAsyncPayload = 128 << 10

// CodeTaskExists is the code of the 409 answer to a repeated async task
// id. FC documents the 409, not its code: clients must go by the status.
const CodeTaskExists = "AsyncTaskAlreadyExists"

// Invocation is one invocation the FC fake accepted.
type Invocation struct {
	Caller    string // Label of the credential that signed it
	Function  string
	Qualifier string
	Type      string // x-fc-invocation-type: "Async" or "Sync"
	TaskID    string // x-fc-async-task-id
	Payload   []byte
}

// FC fakes FC 3.0 InvokeFunction (ROA style, ACS3-HMAC-SHA256):
// POST /2023-03-30/functions/{functionName}/invocations. An asynchronous
// invocation answers 202; its task id is accepted once, a repeat answers
// 409. Errors have FC 3.0's body {"Code","Message","RequestId"}. Its methods
// are safe for concurrent use.
type FC struct {
	// URL is "http://127.0.0.1:PORT", the endpoint for org.NewClient.
	URL string

	srv    *httptest.Server
	verify *acsfake.Verifier
	ids    requestIDs

	mu          sync.Mutex
	functions   map[string]bool
	tasks       map[string]bool // by function + "\x00" + task id
	invocations []Invocation
	refused     int
}

// StartFC starts a fake that accepts the callers' credentials. Close it
// when done.
func StartFC(callers ...acsfake.Credential) *FC {
	s := &FC{verify: acsfake.NewVerifier(callers...), functions: map[string]bool{}, tasks: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *FC) Close() { s.srv.Close() }

// AddFunction makes a function of that name exist.
func (s *FC) AddFunction(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.functions[name] = true
}

// Invocations returns the invocations accepted so far, in order.
func (s *FC) Invocations() []Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.invocations)
}

// Refused counts the requests answered with an error.
func (s *FC) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

var invokePath = regexp.MustCompile(`^/2023-03-30/functions/([^/]+)/invocations$`)

func (s *FC) serve(w http.ResponseWriter, r *http.Request) {
	reqID := s.ids.next('F')
	status, aerr := s.answer(r)
	w.Header().Set("x-fc-request-id", reqID)
	w.Header().Set("x-acs-request-id", reqID)
	if aerr != nil {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		writeJSON(w, aerr.Status, map[string]any{"Code": aerr.Code, "Message": aerr.Message, "RequestId": reqID})
		return
	}
	w.WriteHeader(status)
}

func (s *FC) answer(r *http.Request) (int, *acsfake.Error) {
	body, err := readBody(r, 6<<20)
	if err != nil {
		return 0, &acsfake.Error{Status: http.StatusBadRequest, Code: "EntityTooLarge", Message: "payload size exceeds maximum allowed size (6291456 bytes)"}
	}
	label, aerr := s.verify.Verify(r, body)
	if aerr != nil {
		return 0, aerr
	}
	if v := r.Header.Get("x-acs-version"); v != FCVersion {
		return 0, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: "unsupported API version " + v}
	}
	m := invokePath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodPost || r.Header.Get("x-acs-action") != "InvokeFunction" {
		return 0, &acsfake.Error{Status: http.StatusBadRequest, Code: "PathNotSupported", Message: "'" + r.Method + "' against '" + r.URL.Path + "' is not supported"}
	}
	inv := Invocation{
		Caller: label, Function: m[1], Qualifier: r.URL.Query().Get("qualifier"),
		Type: r.Header.Get("x-fc-invocation-type"), TaskID: r.Header.Get("x-fc-async-task-id"), Payload: body,
	}
	if inv.Type == "" {
		inv.Type = "Sync"
	}
	if inv.Type != "Sync" && inv.Type != "Async" {
		return 0, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: "invalid invocation type " + inv.Type}
	}
	if inv.Type == "Async" && len(body) > MaxAsyncPayload {
		return 0, &acsfake.Error{Status: http.StatusBadRequest, Code: "EntityTooLarge", Message: "payload size exceeds maximum allowed size (131072 bytes)"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.functions[inv.Function] {
		return 0, &acsfake.Error{Status: http.StatusNotFound, Code: "FunctionNotFound", Message: "function '" + inv.Function + "' does not exist"}
	}
	if inv.Type == "Sync" {
		s.invocations = append(s.invocations, inv)
		return http.StatusOK, nil
	}
	if inv.TaskID != "" {
		key := inv.Function + "\x00" + inv.TaskID
		if s.tasks[key] {
			return 0, &acsfake.Error{Status: http.StatusConflict, Code: CodeTaskExists, Message: "async task '" + inv.TaskID + "' already exists"}
		}
		s.tasks[key] = true
	}
	s.invocations = append(s.invocations, inv)
	return http.StatusAccepted, nil
}
