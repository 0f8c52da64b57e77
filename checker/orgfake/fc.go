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
// POST /2023-03-30/functions/{functionName}/invocations; and for vpncheck
// doctor GetFunction (GET /2023-03-30/functions/{functionName}) and
// ListTriggers (GET /2023-03-30/functions/{functionName}/triggers) of the
// functions configured with SetFunction. An asynchronous
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
	configs     map[string]FunctionConfig
}

// FunctionConfig is what GetFunction and ListTriggers answer for a
// function.
type FunctionConfig struct {
	Role        string            // the role's ARN
	Environment map[string]string // environmentVariables
	LogProject  string
	LogStore    string
	Triggers    []Trigger
}

// Trigger is one trigger of a function.
type Trigger struct {
	Name   string
	Type   string // "timer", "eventbridge", ...
	Config string // triggerConfig, a JSON string
}

// SetFunction makes the function exist with cfg.
func (s *FC) SetFunction(name string, cfg FunctionConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.functions[name] = true
	if s.configs == nil {
		s.configs = map[string]FunctionConfig{}
	}
	s.configs[name] = cfg
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

var (
	functionPath = regexp.MustCompile(`^/2023-03-30/functions/([^/]+)$`)
	triggersPath = regexp.MustCompile(`^/2023-03-30/functions/([^/]+)/triggers$`)
)

func (s *FC) serve(w http.ResponseWriter, r *http.Request) {
	reqID := s.ids.next('F')
	if r.Method == http.MethodGet {
		s.serveGet(w, r, reqID)
		return
	}
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

// serveGet answers GetFunction and ListTriggers.
func (s *FC) serveGet(w http.ResponseWriter, r *http.Request, reqID string) {
	w.Header().Set("x-fc-request-id", reqID)
	w.Header().Set("x-acs-request-id", reqID)
	ans, aerr := s.get(r)
	if aerr != nil {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		writeJSON(w, aerr.Status, map[string]any{"Code": aerr.Code, "Message": aerr.Message, "RequestId": reqID})
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

func (s *FC) get(r *http.Request) (map[string]any, *acsfake.Error) {
	if _, aerr := s.verify.Verify(r, nil); aerr != nil {
		return nil, aerr
	}
	if v := r.Header.Get("x-acs-version"); v != FCVersion {
		return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: "unsupported API version " + v}
	}
	action := r.Header.Get("x-acs-action")
	name := ""
	if m := functionPath.FindStringSubmatch(r.URL.Path); m != nil && action == "GetFunction" {
		name = m[1]
	} else if m := triggersPath.FindStringSubmatch(r.URL.Path); m != nil && action == "ListTriggers" {
		name = m[1]
	} else {
		return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "PathNotSupported", Message: "'GET' against '" + r.URL.Path + "' is not supported"}
	}
	s.mu.Lock()
	cfg, ok := s.configs[name]
	s.mu.Unlock()
	if !ok {
		return nil, &acsfake.Error{Status: http.StatusNotFound, Code: "FunctionNotFound", Message: "function '" + name + "' does not exist"}
	}
	if action == "ListTriggers" {
		list := []map[string]any{}
		for _, t := range cfg.Triggers {
			list = append(list, map[string]any{"triggerName": t.Name, "triggerType": t.Type, "triggerConfig": t.Config, "qualifier": "LATEST", "status": "Ready"})
		}
		return map[string]any{"triggers": list, "nextToken": ""}, nil
	}
	env := map[string]any{}
	for k, v := range cfg.Environment {
		env[k] = v
	}
	ans := map[string]any{"functionName": name, "runtime": "go1", "handler": "vpncheck", "role": cfg.Role, "environmentVariables": env,
		"memorySize": 256, "cpu": 0.25, "timeout": 300}
	if cfg.LogProject != "" {
		ans["logConfig"] = map[string]any{"project": cfg.LogProject, "logstore": cfg.LogStore, "enableRequestMetrics": true}
	}
	return ans, nil
}
