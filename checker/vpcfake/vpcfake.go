// Package vpcfake is a fake of the Alibaba Cloud VPC OpenAPI (version
// 2016-04-28) as the official Go SDK sees it, for tests in any package.
//
// It listens on 127.0.0.1, verifies the ACS3-HMAC-SHA256 signature of every
// request with acsfake (and the STS security token when one is expected),
// answers
// DescribeVpnConnections page by page and DescribeRegions, applies
// ModifyVpnConnectionAttribute and ModifyTunnelAttribute after validating
// them against the SDK's request models (modify.go), and can inject
// errors and latency per region. Point the SDK at it with
// openapi.Config{Endpoint: s.Host(), Protocol: "HTTP"}, or point vpncheck at
// it with VPNCHECK_VPC_ENDPOINT=s.URL.
//
// Several accounts can share one server: AddAccountCredentials ties a
// credential to an account, and each account sees only the connections
// added for it with AddConnectionsFor.
//
// SetMode turns a region's DescribeVpnConnections hostile (pages that never
// end, a page number ignored, overlapping pages, no TotalCount, HTML, a
// truncated or huge body, an odd field type, no answer at all), so that a
// client's defences can be tested against the wire protocol itself.
package vpcfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpncheck/vpncheck/checker/acsfake"
)

// APIVersion is the only API version the fake answers.
const APIVersion = "2016-04-28"

// MaxPageSize is the largest PageSize DescribeVpnConnections accepts.
const MaxPageSize = 50

// The actions the fake answers.
const (
	ActionDescribeVpnConnections = "DescribeVpnConnections"
	ActionDescribeRegions        = "DescribeRegions"
)

// Credentials are an access key the fake accepts. With a SecurityToken,
// every request signed with it must carry it (STS); without, none may.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// Fault is an error answer injected for a region (or for DescribeRegions):
// acsfake's, shared by every OpenAPI fake. Page is the DescribeVpnConnections
// page it hits.
type Fault = acsfake.Fault

// Throttled is the real API's answer to a caller over its rate limit.
func Throttled(times int) Fault { return Fault{Code: "Throttling.User", Times: times} }

// Forbidden is the real API's answer to a RAM user without the permission.
func Forbidden() Fault { return Fault{Code: "Forbidden.RAM"} }

// Unavailable is a 503 ServiceUnavailable answer.
func Unavailable(times int) Fault { return Fault{Code: "ServiceUnavailable", Times: times} }

// StatusFor is the HTTP status the real API sends with code.
func StatusFor(code string) int { return acsfake.StatusFor(code) }

// Call is one request the fake received.
type Call struct {
	Action     string
	Region     string // RegionId of the request; "" for DescribeRegions
	Account    string // account of the credentials that signed it; "" for Start's
	PageNumber int
	PageSize   int
	Status     int
	Code       string // error code answered; "" on success
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is "http://127.0.0.1:PORT", the value for VPNCHECK_VPC_ENDPOINT.
	URL string

	srv    *httptest.Server
	verify *acsfake.Verifier
	done   chan struct{}
	once   sync.Once

	mu        sync.Mutex
	conns     map[accountRegion][]json.RawMessage
	total     map[string]int // TotalCount override per region
	regions   []string       // DescribeRegions answer; nil: the seeded regions
	faults    map[string][]*Fault
	regFaults []*Fault
	latency   map[string]time.Duration
	modes     map[string]Mode
	statuses  map[string]*statusOverride // by connection id
	anyDelay  time.Duration
	calls     []Call
	seq       int
}

type accountRegion struct{ account, region string }

// Start starts a fake that accepts creds on 127.0.0.1, for the default
// account "". Close it when done.
func Start(creds Credentials) *Server {
	s := &Server{
		verify:  acsfake.NewVerifier(),
		done:    make(chan struct{}),
		conns:   map[accountRegion][]json.RawMessage{},
		total:   map[string]int{},
		faults:  map[string][]*Fault{},
		latency: map[string]time.Duration{},
		modes:   map[string]Mode{},

		statuses: map[string]*statusOverride{},
	}
	s.AddAccountCredentials("", creds)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Host is the server's "127.0.0.1:PORT", the SDK's openapi.Config.Endpoint.
func (s *Server) Host() string { return strings.TrimPrefix(s.URL, "http://") }

// Close stops the server; requests waiting on injected latency end at once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.done)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// AddAccountCredentials makes the fake accept creds as account's: requests
// they sign see only the connections added for account. Faults, latency
// and TotalCount overrides apply to a region in every account.
func (s *Server) AddAccountCredentials(account string, creds Credentials) {
	s.verify.Add(acsfake.Credential{
		AccessKeyID: creds.AccessKeyID, AccessKeySecret: creds.AccessKeySecret,
		SecurityToken: creds.SecurityToken, Label: account,
	})
}

// AddConnections appends connections to region of the default account. Each
// is a JSON object as DescribeVpnConnections returns it: json.RawMessage,
// []byte or string of JSON, or any value encoding/json marshals to an object.
func (s *Server) AddConnections(region string, conns ...any) {
	s.AddConnectionsFor("", region, conns...)
}

// AddConnectionsFor appends connections to region of account, as
// AddConnections does for the default account.
func (s *Server) AddConnectionsFor(account, region string, conns ...any) {
	raws := make([]json.RawMessage, 0, len(conns))
	for _, c := range conns {
		raws = append(raws, toRaw(c))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := accountRegion{account, region}
	s.conns[k] = append(s.conns[k], raws...)
}

// Generate appends n connections made by gen(region, i), i from 0, to
// region. Connection is a ready generator.
func (s *Server) Generate(region string, n int, gen func(region string, i int) any) {
	conns := make([]any, n)
	for i := range n {
		conns[i] = gen(region, i)
	}
	s.AddConnections(region, conns...)
}

func toRaw(c any) json.RawMessage {
	var b []byte
	switch v := c.(type) {
	case json.RawMessage:
		b = v
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			panic(fmt.Sprintf("vpcfake: connection does not marshal: %v", err))
		}
	}
	if !json.Valid(b) || !strings.HasPrefix(strings.TrimSpace(string(b)), "{") {
		panic(fmt.Sprintf("vpcfake: connection is not a JSON object: %.60s", b))
	}
	return json.RawMessage(b)
}

// SetTotalCount makes DescribeVpnConnections in region declare n as its
// TotalCount, whatever it holds (to fake a listing that shrinks mid-scan).
func (s *Server) SetTotalCount(region string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total[region] = n
}

// SetRegions sets what DescribeRegions answers in every account; by
// default, the regions seeded for the caller's account, sorted.
func (s *Server) SetRegions(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regions = slices.Clone(ids)
}

// Inject queues f for DescribeVpnConnections calls in region. Faults are
// tried in the order injected; one whose Times are used up no longer applies.
func (s *Server) Inject(region string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[region] = append(s.faults[region], &f)
}

// InjectDescribeRegions queues f for DescribeRegions calls.
func (s *Server) InjectDescribeRegions(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regFaults = append(s.regFaults, &f)
}

// SetLatency delays every answer for region by d; region "" delays every
// answer of the server (DescribeRegions included).
func (s *Server) SetLatency(region string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if region == "" {
		s.anyDelay = d
		return
	}
	s.latency[region] = d
}

// Calls counts the requests received for action in region (region "" for
// DescribeRegions), answered or not.
func (s *Server) Calls(action, region string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Action == action && c.Region == region {
			n++
		}
	}
	return n
}

// Log returns every request received so far, in order of arrival.
func (s *Server) Log() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Connection is a generator for Generate: a realistic single-tunnel
// connection with a strong, distinct pre-shared key and BGP auth key.
func Connection(region string, i int) any {
	id := fmt.Sprintf("vco-%s-%05d", region, i)
	return map[string]any{
		"VpnConnectionId":   id,
		"Name":              fmt.Sprintf("conn-%d", i),
		"VpnGatewayId":      "vpn-" + region,
		"CustomerGatewayId": fmt.Sprintf("cgw-%05d", i),
		"LocalSubnet":       "10.0.0.0/16",
		"RemoteSubnet":      fmt.Sprintf("192.168.%d.0/24", i%256),
		"Status":            "ipsec_sa_established",
		"CreateTime":        1700000000000 + int64(i),
		"EnableDpd":         true,
		"IkeConfig": map[string]any{
			"IkeVersion": "ikev2", "IkeMode": "main", "IkeEncAlg": "aes256", "IkeAuthAlg": "sha256",
			"IkePfs": "group14", "IkeLifetime": 86400, "LocalId": "47.0.0.1", "RemoteId": "203.0.113.9",
			"Psk": fmt.Sprintf("Kq7#zP2v!mW9%s-%05d-xT4&", region, i),
		},
		"IpsecConfig": map[string]any{
			"IpsecEncAlg": "aes256", "IpsecAuthAlg": "sha256", "IpsecPfs": "group14", "IpsecLifetime": 86400,
		},
		"VpnBgpConfig": map[string]any{
			"EnableBgp": "false", "AuthKey": fmt.Sprintf("bgp-%s-%05d", region, i),
		},
	}
}

type apiError struct {
	status  int
	code    string
	message string
}

func errorFor(f *Fault) *apiError {
	e := f.Answer()
	return &apiError{e.Status, e.Code, e.Message}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seq++
	reqID := fmt.Sprintf("FAKE-%08d-0000-4000-8000-%012d", s.seq, s.seq)
	s.mu.Unlock()

	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	params, _ := url.ParseQuery(r.URL.RawQuery)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil {
			for k, v := range form {
				params[k] = append(params[k], v...)
			}
		}
	}
	action := r.Header.Get("x-acs-action")
	call := Call{Action: action, Region: params.Get("RegionId")}
	if action == ActionDescribeRegions {
		call.Region = ""
	}

	ans, status, aerr := s.answer(r, body, params, &call)
	s.wait(r, call.Region)

	call.Status = status
	if aerr != nil {
		call.Status, call.Code = aerr.status, aerr.code
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()

	if aerr != nil {
		acsfake.WriteError(w, r, reqID, &acsfake.Error{Status: aerr.status, Code: aerr.code, Message: aerr.message})
		return
	}
	if call.Action == ActionDescribeVpnConnections && s.writeHostile(w, r, reqID, call.Region, ans) {
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", reqID)
	ans["RequestId"] = reqID
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(ans)
}

// wait applies the injected latency, ending early when the client goes away
// or the server closes.
func (s *Server) wait(r *http.Request, region string) {
	s.mu.Lock()
	d := s.anyDelay
	if region != "" {
		d = max(d, s.latency[region])
	}
	s.mu.Unlock()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	case <-s.done:
	}
}

func (s *Server) answer(r *http.Request, body []byte, params url.Values, call *Call) (map[string]any, int, *apiError) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, 0, &apiError{http.StatusMethodNotAllowed, "UnsupportedHTTPMethod", "This http method is not supported."}
	}
	account, e := s.verify.Verify(r, body)
	if e != nil {
		return nil, 0, &apiError{e.Status, e.Code, e.Message}
	}
	call.Account = account
	if v := r.Header.Get("x-acs-version"); v != APIVersion {
		return nil, 0, &apiError{http.StatusBadRequest, "InvalidVersion", fmt.Sprintf("Specified parameter Version %q is not valid.", v)}
	}
	switch call.Action {
	case ActionDescribeVpnConnections:
		return s.describeVpnConnections(params, call)
	case ActionModifyVpnConnectionAttribute, ActionModifyTunnelAttribute:
		return s.modify(params, call)
	case ActionDescribeRegions:
		s.mu.Lock()
		defer s.mu.Unlock()
		if f := acsfake.TakeFault(s.regFaults, 0); f != nil {
			return nil, 0, errorFor(f)
		}
		ids := s.regions
		if ids == nil {
			for k := range s.conns {
				if k.account == account {
					ids = append(ids, k.region)
				}
			}
			sort.Strings(ids)
		}
		list := make([]map[string]any, 0, len(ids))
		for _, id := range ids {
			list = append(list, map[string]any{"RegionId": id, "LocalName": id, "RegionEndpoint": "vpc." + id + ".aliyuncs.com"})
		}
		return map[string]any{"Regions": map[string]any{"Region": list}}, http.StatusOK, nil
	}
	return nil, 0, &apiError{http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."}
}

func (s *Server) describeVpnConnections(params url.Values, call *Call) (map[string]any, int, *apiError) {
	region := call.Region
	if region == "" {
		return nil, 0, &apiError{http.StatusBadRequest, "MissingRegionId", "RegionId is mandatory for this action."}
	}
	page, size := 1, 10
	var err error
	if v := params.Get("PageNumber"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return nil, 0, &apiError{http.StatusBadRequest, "InvalidParameter", "The specified PageNumber is invalid."}
		}
	}
	if v := params.Get("PageSize"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > MaxPageSize {
			call.PageNumber, call.PageSize = page, size
			return nil, 0, &apiError{http.StatusBadRequest, "InvalidParameter", fmt.Sprintf("The specified PageSize is invalid: it must be 1 to %d.", MaxPageSize)}
		}
	}
	call.PageNumber, call.PageSize = page, size

	s.mu.Lock()
	defer s.mu.Unlock()
	if f := acsfake.TakeFault(s.faults[region], page); f != nil {
		return nil, 0, errorFor(f)
	}
	all := s.conns[accountRegion{call.Account, region}]
	if id := params.Get("VpnConnectionId"); id != "" {
		all = s.only(all, id)
	}
	total := len(all)
	if t, ok := s.total[region]; ok {
		total = t
	}
	mode := s.modes[region]
	echo := page
	from := (page - 1) * size
	switch mode {
	case PagesForever:
		from, echo, total = 0, 1, 1_000_000_000
	case IgnorePageNumber:
		from, echo = 0, 1
	case OverlappingPages:
		from = (page - 1) * max(size/2, 1)
	}
	from = min(from, len(all))
	to := min(from+size, len(all))
	list := make([]json.RawMessage, 0, to-from)
	list = append(list, all[from:to]...)
	if mode == OddFieldType {
		for i, c := range list {
			list[i] = nameAsObject(c)
		}
	}
	ans := map[string]any{
		"TotalCount": total, "PageNumber": echo, "PageSize": size,
		"VpnConnections": map[string]any{"VpnConnection": list},
	}
	if mode == NoTotalCount {
		delete(ans, "TotalCount")
	}
	return ans, http.StatusOK, nil
}

// nameAsObject turns a connection's Name into an object, as a field of an
// unexpected type.
func nameAsObject(c json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(c, &m) != nil {
		return c
	}
	m["Name"] = json.RawMessage(`{"Text":` + string(orNull(m["Name"])) + `}`)
	b, _ := json.Marshal(m)
	return b
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// Mode is how DescribeVpnConnections answers in a region: correctly, or as
// a broken or hostile endpoint would. Every request is still verified
// first, so a client must sign correctly to meet the hostility.
type Mode int

const (
	Normal Mode = iota
	// PagesForever answers every page with the first page, numbered 1,
	// declaring a TotalCount of 1e9.
	PagesForever
	// IgnorePageNumber answers every page with the first page, numbered 1,
	// with the true TotalCount.
	IgnorePageNumber
	// OverlappingPages starts page n at (n-1)*PageSize/2: each page repeats
	// half of the one before it.
	OverlappingPages
	// NoTotalCount leaves TotalCount out of every page.
	NoTotalCount
	// HTML200 answers HTTP 200 with an HTML page, as a captive portal or a
	// misrouted proxy does.
	HTML200
	// TruncatedBody answers HTTP 200 with the first half of the JSON page,
	// its Content-Length matching what is sent.
	TruncatedBody
	// OddFieldType sends every connection's Name as an object.
	OddFieldType
	// HugeBody answers HTTP 200 with a page padded to HugeBodySize bytes,
	// streamed without a Content-Length.
	HugeBody
	// NeverAnswers reads the request and never sends a status line, until
	// the client goes away or the server closes.
	NeverAnswers
)

// HugeBodySize is the size of a HugeBody answer.
const HugeBodySize = 100 << 20

// SetMode sets how DescribeVpnConnections answers in region, in every account.
func (s *Server) SetMode(region string, m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modes[region] = m
}

// writeHostile writes the answer of the region's raw-body modes and reports
// whether it did.
func (s *Server) writeHostile(w http.ResponseWriter, r *http.Request, reqID, region string, ans map[string]any) bool {
	s.mu.Lock()
	mode := s.modes[region]
	s.mu.Unlock()
	switch mode {
	case HTML200:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "<!DOCTYPE html><html><head><title>Sign in</title></head><body><p>Please sign in to continue.</p></body></html>\n")
	case TruncatedBody:
		ans["RequestId"] = reqID
		b, _ := json.Marshal(ans)
		b = b[:len(b)/2]
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b)
	case HugeBody:
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"RequestId":"`+reqID+`","TotalCount":1,"PageNumber":1,"PageSize":50,"Padding":"`)
		chunk := []byte(strings.Repeat("x", 64<<10))
		for n := 0; n < HugeBodySize; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return true // the client went away
			}
		}
		io.WriteString(w, `","VpnConnections":{"VpnConnection":[]}}`)
	case NeverAnswers:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	default:
		return false
	}
	return true
}
