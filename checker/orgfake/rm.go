package orgfake

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/vpncheck/vpncheck/checker/acsfake"
)

// ResourceManagerVersion is the only Resource Manager version answered.
const ResourceManagerVersion = "2020-03-31"

// MaxAccountsPageSize is the largest PageSize ListAccounts accepts.
const MaxAccountsPageSize = 100

// RMCall is one request the Resource Manager fake received.
type RMCall struct {
	Action     string
	Caller     string // Label of the credential that signed it; "" if refused
	PageNumber int
	PageSize   int
	Status     int
	Code       string // error code answered; "" on success
}

// ResourceManager fakes Resource Manager's ListAccounts (RPC style,
// ACS3-HMAC-SHA256). Its methods are safe for concurrent use.
type ResourceManager struct {
	// URL is "http://127.0.0.1:PORT", the endpoint for org.NewClient.
	URL string

	srv    *httptest.Server
	verify *acsfake.Verifier
	ids    requestIDs

	mu        sync.Mutex
	accounts  []Account
	total     *int
	omitTotal bool
	pageLimit int
	faults    []*Fault
	calls     []RMCall
}

// StartResourceManager starts a fake that accepts the callers'
// credentials. Close it when done.
func StartResourceManager(callers ...acsfake.Credential) *ResourceManager {
	s := &ResourceManager{verify: acsfake.NewVerifier(callers...)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *ResourceManager) Close() { s.srv.Close() }

// AddAccounts appends member accounts to the directory, in listing order.
func (s *ResourceManager) AddAccounts(accounts ...Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts = append(s.accounts, accounts...)
}

// SetTotalCount makes ListAccounts declare n as TotalCount, whatever the
// directory holds (a listing that changes mid-scan, or a lying one).
func (s *ResourceManager) SetTotalCount(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total = &n
}

// OmitTotalCount makes ListAccounts answer without TotalCount.
func (s *ResourceManager) OmitTotalCount() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.omitTotal = true
}

// SetPageLimit caps the page size at n, whatever PageSize asks, as a
// server with a lower maximum would; 0 lifts it.
func (s *ResourceManager) SetPageLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageLimit = n
}

// Inject queues f for ListAccounts calls. Faults are tried in the order
// injected; one whose Times are used up no longer applies.
func (s *ResourceManager) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Calls returns every request received so far, in order of arrival.
func (s *ResourceManager) Calls() []RMCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *ResourceManager) serve(w http.ResponseWriter, r *http.Request) {
	reqID := s.ids.next('R')
	call := RMCall{Action: r.Header.Get("x-acs-action")}
	ans, aerr := s.answer(r, &call)
	call.Status, call.Code = acsfake.Outcome(aerr)
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	acsfake.Respond(w, r, reqID, ans, aerr)
}

func (s *ResourceManager) answer(r *http.Request, call *RMCall) (map[string]any, *acsfake.Error) {
	body, err := readBody(r, 1<<20)
	if err != nil {
		return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidParameter", Message: "The request body is too large."}
	}
	label, aerr := s.verify.Verify(r, body)
	if aerr != nil {
		return nil, aerr
	}
	call.Caller = label
	if v := r.Header.Get("x-acs-version"); v != ResourceManagerVersion {
		return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidVersion", Message: "Specified parameter Version is not valid."}
	}
	if call.Action != "ListAccounts" {
		return nil, &acsfake.Error{Status: http.StatusNotFound, Code: "InvalidAction.NotFound", Message: "Specified api is not found, please check your url and method."}
	}
	p := params(r, body)
	page, size := 1, 10
	if v := p.Get("PageNumber"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidParameter.PageNumber", Message: "The specified PageNumber is invalid."}
		}
	}
	if v := p.Get("PageSize"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > MaxAccountsPageSize {
			return nil, &acsfake.Error{Status: http.StatusBadRequest, Code: "InvalidParameter.PageSize", Message: "The specified PageSize is invalid: it must be 1 to 100."}
		}
	}
	call.PageNumber, call.PageSize = page, size

	s.mu.Lock()
	defer s.mu.Unlock()
	if f := acsfake.TakeFault(s.faults, page); f != nil {
		return nil, f.Answer()
	}
	eff := size
	if s.pageLimit > 0 {
		eff = min(eff, s.pageLimit)
	}
	from := min((page-1)*eff, len(s.accounts))
	to := min(from+eff, len(s.accounts))
	list := make([]map[string]any, 0, to-from)
	for _, a := range s.accounts[from:to] {
		list = append(list, accountJSON(a))
	}
	ans := map[string]any{"PageNumber": page, "PageSize": eff, "Accounts": map[string]any{"Account": list}}
	if !s.omitTotal {
		ans["TotalCount"] = len(s.accounts)
		if s.total != nil {
			ans["TotalCount"] = *s.total
		}
	}
	return ans, nil
}

func accountJSON(a Account) map[string]any {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	joined := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Format("2006-01-02T15:04:05.000Z")
	return map[string]any{
		"AccountId":           a.ID,
		"AccountName":         a.ID + "@rd-fake.aliyunid.com",
		"DisplayName":         def(a.DisplayName, "account-"+a.ID),
		"FolderId":            def(a.FolderID, "fd-root"),
		"JoinMethod":          def(a.JoinMethod, "created"),
		"JoinTime":            joined,
		"ModifyTime":          joined,
		"ResourceDirectoryId": "rd-fake",
		"Status":              def(a.Status, "CreateSuccess"),
		"Type":                def(a.Type, "ResourceAccount"),
	}
}
