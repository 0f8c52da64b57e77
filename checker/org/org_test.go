package org_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/orgfake"
)

// Canary values: none may appear in any error.
const (
	coordID     = "LTAI5tCoordinatorKey"
	coordSecret = "canary-coord-secret-9b1e"
	coordToken  = "canary-coord-token-4c7d"
)

var coordinator = acsfake.Credential{AccessKeyID: coordID, AccessKeySecret: coordSecret, Label: "coordinator"}

func isolate(t *testing.T) {
	t.Helper()
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	t.Setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
	t.Setenv("HOME", t.TempDir())
}

func static(t *testing.T, id, secret, token string) credentials.Credential {
	t.Helper()
	conf := &credentials.Config{Type: tea.String("access_key"), AccessKeyId: tea.String(id), AccessKeySecret: tea.String(secret)}
	if token != "" {
		conf.Type, conf.SecurityToken = tea.String("sts"), tea.String(token)
	}
	c, err := credentials.NewCredential(conf)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func client(t *testing.T, cred credentials.Credential, endpoint string) *org.Client {
	t.Helper()
	c, err := org.NewClient(cred, endpoint, org.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error leaks %q: %v", s, err)
		}
	}
}

func apiCode(t *testing.T, err error) *org.APIError {
	t.Helper()
	var ae *org.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %T %v, want *org.APIError", err, err)
	}
	return ae
}

// TestListAccountsPages reads a directory of 3 accounts over 2 pages of a
// server that caps pages at 2, through the real generic client.
func TestListAccountsPages(t *testing.T) {
	isolate(t)
	rm := orgfake.StartResourceManager(coordinator)
	defer rm.Close()
	rm.AddAccounts(
		orgfake.Account{ID: "1000000000000001", DisplayName: "prod"},
		orgfake.Account{ID: "1000000000000002", DisplayName: "staging", Type: "CloudAccount"},
		orgfake.Account{ID: "1000000000000003", DisplayName: "dev", Status: "PromoteVerifying"},
	)
	rm.SetPageLimit(2)
	got, err := org.ListAccounts(context.Background(), client(t, static(t, coordID, coordSecret, ""), rm.URL))
	if err != nil {
		t.Fatal(err)
	}
	want := []org.Account{
		{ID: "1000000000000001", DisplayName: "prod", Status: "CreateSuccess", Type: "ResourceAccount"},
		{ID: "1000000000000002", DisplayName: "staging", Status: "CreateSuccess", Type: "CloudAccount"},
		{ID: "1000000000000003", DisplayName: "dev", Status: "PromoteVerifying", Type: "ResourceAccount"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d accounts %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("account %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	calls := rm.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2: %+v", len(calls), calls)
	}
	for i, c := range calls {
		if c.PageNumber != i+1 || c.PageSize != org.ListAccountsPageSize || c.Caller != "coordinator" || c.Code != "" {
			t.Errorf("call %d = %+v", i, c)
		}
	}
}

// TestListAccountsIncomplete: a listing whose pages do not add up to its
// TotalCount is an error, never a short list.
func TestListAccountsIncomplete(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		name     string
		accounts int
		setup    func(*orgfake.ResourceManager)
		want     string
		calls    int
	}{
		{name: "no TotalCount", accounts: 3, setup: func(s *orgfake.ResourceManager) { s.OmitTotalCount() }, want: "no TotalCount", calls: 1},
		{name: "page adds nothing", accounts: 3, setup: func(s *orgfake.ResourceManager) { s.SetTotalCount(4); s.SetPageLimit(2) }, want: "adds no account, but only 3 of 4", calls: 3},
		{name: "huge TotalCount", accounts: 3, setup: func(s *orgfake.ResourceManager) { s.SetTotalCount(1 << 30) }, want: "more than 200 pages hold", calls: 1},
		{name: "too many pages", accounts: 201, setup: func(s *orgfake.ResourceManager) { s.SetPageLimit(1) }, want: "more than 200 pages", calls: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rm := orgfake.StartResourceManager(coordinator)
			defer rm.Close()
			for i := range tc.accounts {
				rm.AddAccounts(orgfake.Account{ID: fmt.Sprintf("2%015d", i)})
			}
			tc.setup(rm)
			got, err := org.ListAccounts(context.Background(), client(t, static(t, coordID, coordSecret, ""), rm.URL))
			if !errors.Is(err, org.ErrIncompleteListing) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %d accounts, error %v; want ErrIncompleteListing with %q", len(got), err, tc.want)
			}
			if got != nil {
				t.Errorf("got accounts %v with the error", got)
			}
			if n := len(rm.Calls()); n != tc.calls {
				t.Errorf("%d calls, want %d", n, tc.calls)
			}
		})
	}
}

// TestListAccountsErrors: API errors arrive with code, status and request
// id; throttling is retried a bounded number of times, nothing else is.
func TestListAccountsErrors(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		name       string
		fault      orgfake.Fault
		secret     string
		wantCode   string
		wantStatus int
		calls      int
	}{
		{name: "throttled once", fault: orgfake.Fault{Code: "Throttling.User", Times: 1}, calls: 2},
		{name: "throttled on", fault: orgfake.Fault{Code: "Throttling.User"}, wantCode: "Throttling.User", wantStatus: 400, calls: 3},
		{name: "no permission", fault: orgfake.Fault{Code: "NoPermission"}, wantCode: "NoPermission", wantStatus: 403, calls: 1},
		{name: "server error", fault: orgfake.Fault{Code: "InternalError"}, wantCode: "InternalError", wantStatus: 500, calls: 1},
		{name: "wrong secret", secret: "not-the-secret", wantCode: "SignatureDoesNotMatch", wantStatus: 400, calls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rm := orgfake.StartResourceManager(coordinator)
			defer rm.Close()
			rm.AddAccounts(orgfake.Account{ID: "1000000000000001"})
			if tc.fault.Code != "" {
				rm.Inject(tc.fault)
			}
			secret := coordSecret
			if tc.secret != "" {
				secret = tc.secret
			}
			got, err := org.ListAccounts(context.Background(), client(t, static(t, coordID, secret, ""), rm.URL))
			if n := len(rm.Calls()); n != tc.calls {
				t.Errorf("%d calls, want %d", n, tc.calls)
			}
			if tc.wantCode == "" {
				if err != nil || len(got) != 1 {
					t.Fatalf("got %v, %v", got, err)
				}
				return
			}
			ae := apiCode(t, err)
			if ae.Code != tc.wantCode || ae.Status != tc.wantStatus || !strings.HasPrefix(ae.RequestID, "R") {
				t.Errorf("error %+v, want %s HTTP %d with a request id", ae, tc.wantCode, tc.wantStatus)
			}
			if !strings.HasPrefix(err.Error(), "list accounts page 1: "+tc.wantCode) {
				t.Errorf("error text %q", err)
			}
			noSecrets(t, err, coordSecret, "not-the-secret")
		})
	}
}

func TestListAccountsCanceled(t *testing.T) {
	isolate(t)
	rm := orgfake.StartResourceManager(coordinator)
	defer rm.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := org.ListAccounts(ctx, client(t, static(t, coordID, coordSecret, ""), rm.URL))
	if !errors.Is(err, context.Canceled) || len(rm.Calls()) != 0 {
		t.Fatalf("error %v after %d calls, want context.Canceled before any", err, len(rm.Calls()))
	}
}

func TestNewClientEndpoint(t *testing.T) {
	cred := static(t, coordID, coordSecret, "")
	for _, tc := range []struct {
		endpoint string
		ok       bool
	}{
		{org.ResourceManagerEndpoint, true},
		{org.FCEndpoint("1234567890123456", "cn-hangzhou"), true},
		{"http://127.0.0.1:8080", true},
		{"https://resourcemanager.aliyuncs.com/", true},
		{"", false},
		{"ftp://x", false},
		{"http://127.0.0.1:8080/path", false},
		{"http://user@127.0.0.1", false},
	} {
		_, err := org.NewClient(cred, tc.endpoint, org.ClientOptions{})
		if (err == nil) != tc.ok {
			t.Errorf("NewClient(%q) error %v, want ok %v", tc.endpoint, err, tc.ok)
		}
	}
}

// freeAddr is a 127.0.0.1 address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
