package alibaba

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/saved"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/vpcfake"
	"github.com/vpncheck/vpncheck/policies"
)

const (
	fakeAK     = "LTAI5tCollectTest"
	fakeSecret = "canary-ak-secret-9b1e"
	fakeToken  = "canary-sts-token-0c44"
)

// isolateCredentialChain keeps the credential chain off the network and the
// developer's own profile.
func isolateCredentialChain(t testing.TB) {
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	t.Setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
	t.Setenv("HOME", t.TempDir())
	for _, k := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
		"ALIBABA_CLOUD_CREDENTIALS_FILE", "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_CREDENTIALS_URI"} {
		t.Setenv(k, "")
	}
}

func startFake(t testing.TB) *vpcfake.Server {
	s := vpcfake.Start(vpcfake.Credentials{AccessKeyID: fakeAK, AccessKeySecret: fakeSecret, SecurityToken: fakeToken})
	t.Cleanup(s.Close)
	return s
}

// fakeCollector is a collector on s with fast retries and no pacing.
func fakeCollector(t testing.TB, s *vpcfake.Server, secret string, mod func(*CollectorConfig)) *collector {
	t.Helper()
	isolateCredentialChain(t)
	cred, err := StaticCredential(fakeAK, secret, fakeToken)
	if err != nil {
		t.Fatal(err)
	}
	cfg := CollectorConfig{Credential: cred, Endpoint: s.URL, Concurrency: 4}
	if mod != nil {
		mod(&cfg)
	}
	c, err := newCollector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Retry = Backoff{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond}
	c.MinInterval = 0
	return c
}

type regionState struct {
	conns           int
	scanned, failed bool
}

func states(inv *inventory.Inventory) map[string]regionState {
	out := map[string]regionState{}
	for _, r := range inv.Regions() {
		out[r.Name] = regionState{r.Connections, r.Scanned, r.Failed}
	}
	return out
}

func errorsOf(inv *inventory.Inventory) map[string]report.ErrorEntry {
	out := map[string]report.ErrorEntry{}
	for _, e := range inv.Errors() {
		out[e.Region] = e
	}
	return out
}

func collect(t *testing.T, c *collector, ctx context.Context, regions ...string) *inventory.Inventory {
	t.Helper()
	inv := inventory.New()
	if err := c.Collect(ctx, regions, inv); err != nil {
		t.Fatalf("collect: %v", err)
	}
	return inv
}

func TestCollectReadsEveryPageWithMinimalCalls(t *testing.T) {
	s := startFake(t)
	s.Generate("cn-hangzhou", 123, vpcfake.Connection)
	s.Generate("cn-shanghai", 7, vpcfake.Connection)
	s.Generate("cn-beijing", 100, vpcfake.Connection) // an exact multiple of the page size
	s.SetRegions("cn-qingdao")                        // a region with none
	inv := collect(t, fakeCollector(t, s, fakeSecret, nil), context.Background(), "cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-qingdao", "cn-hangzhou")

	want := map[string]regionState{
		"cn-hangzhou": {123, true, false}, "cn-shanghai": {7, true, false},
		"cn-beijing": {100, true, false}, "cn-qingdao": {0, true, false},
	}
	if got := states(inv); !equalStates(got, want) {
		t.Fatalf("regions = %v, want %v", got, want)
	}
	if e := errorsOf(inv); len(e) != 0 {
		t.Fatalf("errors: %v", e)
	}
	calls := map[string]int{}
	for _, c := range s.Log() {
		if c.PageSize != PageSize {
			t.Errorf("call %+v: page size %d, want %d", c, c.PageSize, PageSize)
		}
		calls[c.Region]++
	}
	wantCalls := map[string]int{"cn-hangzhou": 3, "cn-shanghai": 1, "cn-beijing": 2, "cn-qingdao": 1}
	if fmt.Sprint(calls) != fmt.Sprint(wantCalls) {
		t.Fatalf("calls = %v, want %v (123 + 7 connections: 4 page calls)", calls, wantCalls)
	}
}

func equalStates(a, b map[string]regionState) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestCollectRetries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     vpcfake.Fault
		wantCalls int
		wantCode  string // "" when the region ends scanned
	}{
		// 60 connections: 2 pages when nothing fails.
		{"Throttling.User twice", vpcfake.Throttled(2), 4, ""},
		{"HTTP 429 twice", vpcfake.Fault{Code: "Throttling", Status: 429, Times: 2}, 4, ""},
		{"503 twice", vpcfake.Unavailable(2), 4, ""},
		{"500 once", vpcfake.Fault{Code: "InternalError", Times: 1}, 3, ""},
		{"throttled on page 2", vpcfake.Fault{Code: "Throttling.User", Page: 2, Times: 1}, 3, ""},
		{"throttled for good", vpcfake.Throttled(0), 4, "Throttling.User"},
		{"Forbidden.RAM", vpcfake.Forbidden(), 1, "Forbidden.RAM"},
		{"Forbbiden.SubUser", vpcfake.Fault{Code: "Forbbiden.SubUser"}, 1, "Forbbiden.SubUser"},
		{"InvalidParameter", vpcfake.Fault{Code: "InvalidParameter"}, 1, "InvalidParameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startFake(t)
			s.Generate("cn-hangzhou", 60, vpcfake.Connection)
			s.Inject("cn-hangzhou", tc.fault)
			inv := collect(t, fakeCollector(t, s, fakeSecret, nil), context.Background(), "cn-hangzhou")
			st, errs := states(inv)["cn-hangzhou"], errorsOf(inv)
			if n := s.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou"); n != tc.wantCalls {
				t.Errorf("calls = %d, want %d", n, tc.wantCalls)
			}
			if tc.wantCode == "" {
				if !st.scanned || st.failed || st.conns != 60 || len(errs) != 0 {
					t.Fatalf("region %+v, errors %v; want 60 connections scanned", st, errs)
				}
				return
			}
			e := errs["cn-hangzhou"]
			if !st.failed || e.Code != tc.wantCode || e.RequestID == "" {
				t.Fatalf("region %+v, error %+v; want failed with %s and a request id", st, e, tc.wantCode)
			}
			if !strings.HasPrefix(e.Message, "describe vpn connections in cn-hangzhou page 1: "+tc.wantCode+": ") {
				t.Fatalf("message %q", e.Message)
			}
		})
	}
}

func TestCollectForbiddenRegionAmongGoodOnes(t *testing.T) {
	s := startFake(t)
	for _, r := range []string{"cn-hangzhou", "cn-shanghai", "cn-beijing"} {
		s.Generate(r, 12, vpcfake.Connection)
	}
	s.Inject("cn-shanghai", vpcfake.Forbidden())
	inv := collect(t, fakeCollector(t, s, fakeSecret, nil), context.Background(), "cn-hangzhou", "cn-shanghai", "cn-beijing")
	want := map[string]regionState{"cn-hangzhou": {12, true, false}, "cn-shanghai": {0, false, true}, "cn-beijing": {12, true, false}}
	if got := states(inv); !equalStates(got, want) {
		t.Fatalf("regions = %v, want %v", got, want)
	}
	errs := errorsOf(inv)
	if e := errs["cn-shanghai"]; len(errs) != 1 || e.Code != "Forbidden.RAM" || !strings.Contains(e.Message, "vpc:DescribeVpnConnections") {
		t.Fatalf("errors = %+v", errs)
	}
}

func TestCollectWrongSecret(t *testing.T) {
	s := startFake(t)
	s.Generate("cn-hangzhou", 3, vpcfake.Connection)
	s.Generate("cn-shanghai", 3, vpcfake.Connection)
	const wrong = "canary-wrong-secret-4e2d"
	inv := collect(t, fakeCollector(t, s, wrong, nil), context.Background(), "cn-hangzhou", "cn-shanghai")
	for _, r := range []string{"cn-hangzhou", "cn-shanghai"} {
		st, e := states(inv)[r], errorsOf(inv)[r]
		if st.scanned || !st.failed || e.Code != "SignatureDoesNotMatch" || !strings.Contains(e.Message, "access key secret") {
			t.Errorf("%s: %+v %+v, want failed with SignatureDoesNotMatch naming the secret", r, st, e)
		}
		if n := s.Calls(vpcfake.ActionDescribeVpnConnections, r); n != 1 {
			t.Errorf("%s: %d calls, want 1 (no retry)", r, n)
		}
	}
	b, _ := json.Marshal(errorsOf(inv))
	for _, canary := range []string{wrong, fakeSecret, fakeToken} {
		if strings.Contains(string(b), canary) {
			t.Fatalf("errors show a secret: %s", b)
		}
	}
}

func TestNewCollectorCredentialChainFailure(t *testing.T) {
	isolateCredentialChain(t)
	cred, err := credentials.NewCredential(nil)
	if err == nil {
		_, err = newCollector(CollectorConfig{Credential: cred})
	}
	if err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("err = %v, want one naming the credential problem", err)
	}
}

func TestNewCollectorRejectsBadEndpoints(t *testing.T) {
	isolateCredentialChain(t)
	cred, _ := StaticCredential(fakeAK, fakeSecret, "")
	for _, ep := range []string{"127.0.0.1:80", "ftp://x", "http://", "http://h/path", "://x"} {
		if _, err := newCollector(CollectorConfig{Credential: cred, Endpoint: ep}); err == nil || !strings.Contains(err.Error(), "invalid VPC endpoint") {
			t.Errorf("%q: err = %v", ep, err)
		}
	}
}

func TestCollectDeadlineMidScan(t *testing.T) {
	s := startFake(t)
	s.Generate("cn-hangzhou", 5, vpcfake.Connection)
	s.Generate("cn-shanghai", 60, vpcfake.Connection)
	s.Inject("cn-shanghai", vpcfake.Fault{Code: "Throttling.User", Page: 2}) // page 2 stays throttled
	s.Generate("cn-beijing", 5, vpcfake.Connection)
	s.SetLatency("cn-beijing", time.Hour) // in flight when the deadline comes
	s.Generate("cn-shenzhen", 5, vpcfake.Connection)

	c := fakeCollector(t, s, fakeSecret, func(cfg *CollectorConfig) { cfg.Concurrency = 1 })
	c.Retry = Backoff{Attempts: 10, Base: time.Hour, Max: time.Hour} // the next retry is past the deadline
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	inv := collect(t, c, ctx, "cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen")

	want := map[string]regionState{
		"cn-hangzhou": {5, true, false}, "cn-shanghai": {50, false, true},
		"cn-beijing": {0, false, true}, "cn-shenzhen": {0, false, true},
	}
	if got := states(inv); !equalStates(got, want) {
		t.Fatalf("regions = %v, want %v", got, want)
	}
	errs := errorsOf(inv)
	for region, wantMsg := range map[string]string{
		"cn-shanghai": "cn-shanghai is incomplete: the run's deadline came before page 2 was read (50 connections read)",
		"cn-beijing":  "cn-beijing is incomplete",
		"cn-shenzhen": "cn-shenzhen was not scanned",
	} {
		if e := errs[region]; e.Code != report.CodeDeadlineExceeded || !strings.HasPrefix(e.Message, wantMsg) {
			t.Errorf("%s: %+v, want %s %q", region, e, report.CodeDeadlineExceeded, wantMsg)
		}
	}
}

func TestCollectEmptyPageBeforeTotal(t *testing.T) {
	s := startFake(t)
	s.Generate("cn-hangzhou", 50, vpcfake.Connection)
	s.SetTotalCount("cn-hangzhou", 80)
	inv := collect(t, fakeCollector(t, s, fakeSecret, nil), context.Background(), "cn-hangzhou")
	st, e := states(inv)["cn-hangzhou"], errorsOf(inv)["cn-hangzhou"]
	if st != (regionState{50, false, true}) || e.Code != report.CodeIncompleteResponse || !strings.Contains(e.Message, "50 of 80") {
		t.Fatalf("%+v %+v", st, e)
	}
	if n := s.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou"); n != 2 {
		t.Fatalf("calls = %d, want 2", n)
	}
}

func TestCollectNetworkError(t *testing.T) {
	dead := httptest.NewServer(nil)
	dead.Close() // nothing listens on its port any more
	isolateCredentialChain(t)
	cred, _ := StaticCredential(fakeAK, fakeSecret, "")
	c, err := newCollector(CollectorConfig{Credential: cred, Endpoint: dead.URL})
	if err != nil {
		t.Fatal(err)
	}
	c.Retry = Backoff{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond}
	inv := collect(t, c, context.Background(), "cn-hangzhou")
	if e := errorsOf(inv)["cn-hangzhou"]; e.Code != report.CodeNetworkError || !strings.Contains(e.Message, "cn-hangzhou page 1") {
		t.Fatalf("%+v", e)
	}
}

func TestRegions(t *testing.T) {
	s := startFake(t)
	s.SetRegions("cn-hangzhou", "cn-shanghai", "ap-southeast-1", "cn-hangzhou")
	c := fakeCollector(t, s, fakeSecret, nil)
	got, err := c.Regions(context.Background(), "")
	if err != nil || strings.Join(got, ",") != "cn-hangzhou,cn-shanghai,ap-southeast-1" {
		t.Fatalf("regions = %v, %v", got, err)
	}

	s.InjectDescribeRegions(vpcfake.Forbidden())
	if _, err := c.Regions(context.Background(), "cn-hangzhou"); err == nil ||
		!strings.HasPrefix(err.Error(), "describe regions: Forbidden.RAM: ") {
		t.Fatalf("err = %v", err)
	}
}

// canaryConnection holds secrets in every place the API puts them.
func canaryConnection(region string, i int) any {
	c := vpcfake.Connection(region, i).(map[string]any)
	c["IkeConfig"].(map[string]any)["Psk"] = fmt.Sprintf("canary-psk-%s-%d", region, i)
	c["VpnBgpConfig"].(map[string]any)["AuthKey"] = fmt.Sprintf("canary-bgp-%s-%d", region, i)
	if i%2 == 0 {
		c["TunnelOptionsSpecification"] = map[string]any{"TunnelOptions": []any{
			map[string]any{"TunnelId": fmt.Sprintf("tun-%d-a", i), "Role": "master",
				"TunnelIkeConfig": map[string]any{"Psk": fmt.Sprintf("canary-tpsk-%d", i), "IkeVersion": "ikev2"},
				"TunnelBgpConfig": map[string]any{"AuthKey": fmt.Sprintf("canary-tbgp-%d", i), "LocalAsn": "65000"}},
		}}
	}
	return c
}

func TestSaveInventoryRoundTrip(t *testing.T) {
	s := startFake(t)
	s.Generate("cn-hangzhou", 123, canaryConnection)
	s.Generate("cn-shanghai", 7, canaryConnection)
	dir := filepath.Join(t.TempDir(), "saved", "run")
	saver, err := saved.NewSaver(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := fakeCollector(t, s, fakeSecret, func(cfg *CollectorConfig) { cfg.Save = saver })
	live := collect(t, c, context.Background(), "cn-hangzhou", "cn-shanghai")
	if err := saver.Close(); err != nil {
		t.Fatal(err)
	}

	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	slices.Sort(names)
	if want := "cn-hangzhou-page-1.json cn-hangzhou-page-2.json cn-hangzhou-page-3.json cn-shanghai-page-1.json"; strings.Join(names, " ") != want {
		t.Fatalf("files = %v, want %s", names, want)
	}
	replay := inventory.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "canary") || !strings.Contains(string(b), `"Psk": "`+apiwire.Redacted+`"`) ||
			!strings.Contains(string(b), `"AuthKey": "`+apiwire.Redacted+`"`) {
			t.Fatalf("%s: secrets not redacted:\n%.400s", f, b)
		}
		var top struct{ RegionId string }
		if json.Unmarshal(b, &top); !strings.HasPrefix(filepath.Base(f), top.RegionId+"-page-") {
			t.Fatalf("%s: RegionId %q", f, top.RegionId)
		}
		if err := replay.ReadFile(f, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := states(replay), states(live); !equalStates(got, want) || want["cn-hangzhou"].conns != 123 {
		t.Fatalf("replayed %v, live %v", got, want)
	}
}

// Against a hostile endpoint every region ends, quickly, as incomplete or
// invalid with an errors entry, and a malformed body is not retried.
func TestCollectHostileModes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mode      vpcfake.Mode
		n         int
		wantCode  string // "" when the region ends scanned
		wantCalls int
		wantConns int
	}{
		{"pages forever", vpcfake.PagesForever, 120, report.CodeIncompleteResponse, 2, 50},
		{"page number ignored", vpcfake.IgnorePageNumber, 120, report.CodeIncompleteResponse, 2, 50},
		{"overlapping pages", vpcfake.OverlappingPages, 200, report.CodeIncompleteResponse, 5, 150},
		{"no TotalCount", vpcfake.NoTotalCount, 120, report.CodeIncompleteResponse, 1, 50},
		{"HTML 200", vpcfake.HTML200, 120, report.CodeInvalidResponse, 1, 0},
		{"truncated", vpcfake.TruncatedBody, 120, report.CodeInvalidResponse, 1, 0},
		{"odd field type", vpcfake.OddFieldType, 120, "", 3, 120},
		{"huge body", vpcfake.HugeBody, 1, report.CodeIncompleteResponse, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startFake(t)
			s.Generate("cn-hangzhou", tc.n, vpcfake.Connection)
			s.SetMode("cn-hangzhou", tc.mode)
			c := fakeCollector(t, s, fakeSecret, func(cfg *CollectorConfig) { cfg.MaxBodyBytes = 1 << 20 })
			inv := collect(t, c, context.Background(), "cn-hangzhou")
			st, e := states(inv)["cn-hangzhou"], errorsOf(inv)["cn-hangzhou"]
			if n := s.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou"); n != tc.wantCalls {
				t.Errorf("calls = %d, want %d", n, tc.wantCalls)
			}
			if st.conns != tc.wantConns || st.failed != (tc.wantCode != "") || st.scanned == st.failed {
				t.Errorf("region %+v, want %d connections, failed %v", st, tc.wantConns, tc.wantCode != "")
			}
			if tc.wantCode != "" && (e.Code != tc.wantCode || !strings.Contains(e.Message, "cn-hangzhou page")) {
				t.Errorf("error %+v, want %s", e, tc.wantCode)
			}
			if tc.mode == vpcfake.OddFieldType {
				res, err := checker.NewEngine(context.Background(), checker.Policies{Builtin: policies.FS})
				if err != nil {
					t.Fatal(err)
				}
				out, err := res.Check(context.Background(), inv, checker.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Report.Errors) != 1 || !strings.Contains(out.Report.Errors[0].Message, "unexpected type") {
					t.Errorf("errors %+v, want the odd fields named", out.Report.Errors)
				}
			}
		})
	}
}

// An answer without an API error body is retried when the server says it
// failed (5xx) and when the body breaks off; not when it is a client error.
func TestCollectAnswersWithoutAPIBody(t *testing.T) {
	good := `{"RequestId": "R", "TotalCount": 1, "PageNumber": 1, "PageSize": 50, "VpnConnections": {"VpnConnection": [{"VpnConnectionId": "vco-1"}]}}`
	for _, tc := range []struct {
		name      string
		bad       func(w http.ResponseWriter)
		wantCalls int
		wantCode  string
	}{
		{"502 HTML twice", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html>bad gateway</html>")
		}, 3, ""},
		{"body breaks off twice", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "500")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, good[:40])
			panic(http.ErrAbortHandler) // the connection drops mid-body
		}, 3, ""},
		{"403 HTML", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "<html>denied</html>")
		}, 1, report.CodeInvalidResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) <= 2 || tc.wantCode != "" {
					tc.bad(w)
					return
				}
				io.WriteString(w, good)
			}))
			defer srv.Close()
			isolateCredentialChain(t)
			cred, _ := StaticCredential(fakeAK, fakeSecret, "")
			c, err := newCollector(CollectorConfig{Credential: cred, Endpoint: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			c.Retry, c.MinInterval = Backoff{Attempts: 4, Base: time.Millisecond, Max: time.Millisecond}, 0
			inv := collect(t, c, context.Background(), "cn-hangzhou")
			st, e := states(inv)["cn-hangzhou"], errorsOf(inv)["cn-hangzhou"]
			if int(calls.Load()) != tc.wantCalls || e.Code != tc.wantCode || (tc.wantCode == "" && st != (regionState{1, true, false})) {
				t.Errorf("%d calls, region %+v, error %+v; want %d calls, code %q", calls.Load(), st, e, tc.wantCalls, tc.wantCode)
			}
		})
	}
}
