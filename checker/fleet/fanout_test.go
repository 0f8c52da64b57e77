package fleet

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/orgfake"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/notify"
)

var caller = acsfake.Credential{AccessKeyID: "LTAIfleetCaller", AccessKeySecret: "CANARY-FLEET-SECRET", Label: "coordinator"}

func callerCred(t *testing.T) credentials.Credential {
	t.Helper()
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	c, err := credentials.NewCredential(&credentials.Config{
		Type: tea.String("access_key"), AccessKeyId: tea.String(caller.AccessKeyID), AccessKeySecret: tea.String(caller.AccessKeySecret),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// directory is a resource directory of three ready accounts over two
// pages, and one not ready.
func directory(t *testing.T) *orgfake.ResourceManager {
	t.Helper()
	rm := orgfake.StartResourceManager(caller)
	t.Cleanup(rm.Close)
	rm.SetPageLimit(2)
	rm.AddAccounts(orgfake.Account{ID: acctSandbox, DisplayName: "sandbox"}, orgfake.Account{ID: acctProd, DisplayName: "prod"},
		orgfake.Account{ID: acctDev, DisplayName: "dev"}, orgfake.Account{ID: "1000000000000004", DisplayName: "new", Status: "CreateVerifying"})
	return rm
}

func TestTargets(t *testing.T) {
	cred := callerCred(t)
	rm := directory(t)
	for _, tc := range []struct {
		name  string
		s     Settings
		want  string // the ids, or the error's words
		calls int    // ListAccounts calls
	}{
		{"all, sorted, less the excluded", Settings{All: true, Exclude: []string{acctDev}, RMEndpoint: rm.URL},
			acctProd + "," + acctSandbox + ",1000000000000004", 2},
		{"named: no listing", Settings{Accounts: []string{acctSandbox, acctProd}, RMEndpoint: rm.URL}, acctProd + "," + acctSandbox, 0},
		{"every one excluded", Settings{Accounts: []string{acctProd}, Exclude: []string{acctProd}}, "no account to check", 0},
		{"bad endpoint", Settings{All: true, RMEndpoint: "ftp://x"}, "VPNCHECK_RESOURCEMANAGER_ENDPOINT", 0},
	} {
		before := len(rm.Calls())
		got, err := Targets(context.Background(), tc.s, cred)
		var ids []string
		for _, a := range got {
			ids = append(ids, a.ID)
		}
		if s := strings.Join(ids, ","); (err == nil && s != tc.want) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, %v; want %s", tc.name, ids, err, tc.want)
		}
		if n := len(rm.Calls()) - before; n != tc.calls {
			t.Errorf("%s: %d ListAccounts calls, want %d", tc.name, n, tc.calls)
		}
	}

	rm.Inject(orgfake.Fault{Code: "NoPermission"})
	if _, err := Targets(context.Background(), Settings{All: true, RMEndpoint: rm.URL}, cred); err == nil ||
		!strings.Contains(err.Error(), "resource directory: list accounts page 1") || !strings.Contains(err.Error(), "NoPermission") {
		t.Errorf("directory not listable: %v", err)
	}
}

func TestSettingsAllows(t *testing.T) {
	for _, tc := range []struct {
		s       Settings
		enabled bool
		allowed string
	}{
		{Settings{}, false, ""},
		{Settings{All: true, Exclude: []string{acctDev}}, true, acctProd + "," + acctSandbox},
		{Settings{Accounts: []string{acctProd, acctDev}, Exclude: []string{acctDev}}, true, acctProd},
	} {
		var allowed []string
		for _, a := range []string{acctProd, acctDev, acctSandbox} {
			if tc.s.Allows(a) {
				allowed = append(allowed, a)
			}
		}
		if tc.s.Enabled() != tc.enabled || strings.Join(allowed, ",") != tc.allowed {
			t.Errorf("%+v: enabled %v, allows %v", tc.s, tc.s.Enabled(), allowed)
		}
	}
}

// notifier records what it is told.
type notifier struct {
	mu       sync.Mutex
	failures []string
	runs     []notify.Run
}

func (n *notifier) NotifyReport(context.Context, notify.Run, *report.Report) (notify.Delivery, error) {
	return notify.Delivery{}, errors.New("not expected")
}

func (n *notifier) NotifyFailure(_ context.Context, r notify.Run, reason string) (notify.Delivery, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.failures, n.runs = append(n.failures, reason), append(n.runs, r)
	return notify.Delivery{Messages: 1, Posted: 1}, nil
}

// TestFanOut: one invocation per ready account, under task ids of the run
// key and the account, with the event Event makes; the account not ready
// is told in one message; a retried fan-out starts none again; an FC that
// cannot start them fails the fan-out; no notifier is NoNotifier's error.
func TestFanOut(t *testing.T) {
	cred := callerCred(t)
	rm := directory(t)
	fc := orgfake.StartFC(caller)
	defer fc.Close()
	fc.AddFunction("vpncheck")
	n := &notifier{}
	c := Coordinator{Settings: Settings{All: true, RMEndpoint: rm.URL, FCEndpoint: fc.URL}, Credential: cred,
		Function: org.Function{Name: "vpncheck"}, AccountID: "1999999999999999", Region: "cn-hangzhou", RunKey: "hourly@2026-11-25T10:05:00Z",
		Event: func(account string) ([]byte, error) { return []byte(`{"payload":"` + account + `"}`), nil }, Notifier: n}

	st, err := FanOut(context.Background(), c)
	if err != nil || st.Err != nil {
		t.Fatalf("fan-out: %v, %v", err, st.Err)
	}
	if st.Accounts != 4 || st.Started != 3 || st.AlreadyStarted != 0 || st.NotStarted != 0 || st.Unavailable != 1 {
		t.Errorf("counts %+v", st)
	}
	invs := fc.Invocations()
	if len(invs) != 3 {
		t.Fatalf("%d invocations, want 3", len(invs))
	}
	for _, inv := range invs {
		account := strings.TrimSuffix(strings.TrimPrefix(string(inv.Payload), `{"payload":"`), `"}`)
		if inv.Type != "Async" || inv.Function != "vpncheck" || inv.Caller != "coordinator" || inv.TaskID != org.TaskID(c.RunKey, account) {
			t.Errorf("invocation %+v", inv)
		}
	}
	acc := st.Report.Summary.Accounts
	if acc[acctProd].Status != report.AccountStarted || acc["1000000000000004"].Status != report.AccountUnavailable || len(st.Report.Errors) != 1 {
		t.Errorf("summary.accounts %+v, errors %+v", acc, st.Report.Errors)
	}
	if len(n.failures) != 1 || !strings.Contains(n.failures[0], "1000000000000004 (new)") || !strings.Contains(n.failures[0], "CreateVerifying") ||
		n.runs[0].Key != c.RunKey || n.runs[0].AccountID != c.AccountID || st.Delivery == nil || st.Delivery.Posted != 1 {
		t.Errorf("told %q as %+v, delivery %+v", n.failures, n.runs, st.Delivery)
	}

	// Retried: every task id is refused, nothing starts twice.
	st, err = FanOut(context.Background(), c)
	if err != nil || st.Err != nil || st.AlreadyStarted != 3 || st.Started != 0 || len(fc.Invocations()) != 3 {
		t.Errorf("retried fan-out: %v, %+v, %d invocations", err, st, len(fc.Invocations()))
	}

	// The function is not there: the invocations are not started, which
	// fails the fan-out; with no notifier, NoNotifier is said too.
	none := orgfake.StartFC(caller)
	defer none.Close()
	c.Settings.FCEndpoint, c.Notifier, c.NoNotifier = none.URL, nil, errors.New("told no one")
	st, err = FanOut(context.Background(), c)
	if err != nil || st.NotStarted != 3 || st.Err == nil || !strings.Contains(st.Err.Error(), "3 of 4 account invocations could not be started") ||
		!strings.Contains(st.Err.Error(), "told no one") || st.Delivery != nil {
		t.Errorf("FC without the function: %v, %+v", err, st)
	}
	for _, e := range st.Report.Errors {
		if e.Code == report.CodeAccountFailed && (!strings.Contains(e.Message, "FunctionNotFound") || e.RequestID == "") {
			t.Errorf("errors entry %+v", e)
		}
	}

	// An FC endpoint that cannot be used, or a directory that cannot be
	// listed, starts nothing.
	c.Settings.FCEndpoint = "ftp://x"
	if _, err := FanOut(context.Background(), c); err == nil || !strings.Contains(err.Error(), "VPNCHECK_FC_ENDPOINT") {
		t.Errorf("bad FC endpoint: %v", err)
	}
}
