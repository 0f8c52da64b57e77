package org_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/orgfake"
)

// TestInvokeAsync starts one task per account, then retries them all as a
// restarted coordinator would: every repeat is ErrAlreadyStarted, and FC
// holds exactly one invocation per account.
func TestInvokeAsync(t *testing.T) {
	isolate(t)
	fc := orgfake.StartFC(coordinator)
	defer fc.Close()
	fc.AddFunction("vpncheck")
	c := client(t, static(t, coordID, coordSecret, ""), fc.URL)
	fn := org.Function{Name: "vpncheck", Qualifier: "prod"}
	accounts := []string{acctA, acctB, "1000000000000003"}
	ctx := context.Background()

	for _, a := range accounts {
		payload := fmt.Appendf(nil, `{"account":%q}`, a)
		if err := org.InvokeAsync(ctx, c, fn, payload, org.TaskID("2025-06-01T02:00:00Z", a)); err != nil {
			t.Fatalf("account %s: %v", a, err)
		}
	}
	for _, a := range accounts {
		err := org.InvokeAsync(ctx, c, fn, []byte(`{}`), org.TaskID("2025-06-01T02:00:00Z", a))
		t.Log(err)
		if !errors.Is(err, org.ErrAlreadyStarted) {
			t.Fatalf("repeat for %s: %v, want ErrAlreadyStarted", a, err)
		}
		if ae := apiCode(t, err); ae.Status != 409 || ae.RequestID == "" {
			t.Errorf("repeat error %+v, want HTTP 409 with a request id", ae)
		}
	}

	invs := fc.Invocations()
	if len(invs) != len(accounts) {
		t.Fatalf("%d invocations, want %d", len(invs), len(accounts))
	}
	seen := map[string]bool{}
	for i, inv := range invs {
		want := fmt.Sprintf(`{"account":%q}`, accounts[i])
		if inv.Type != "Async" || inv.Function != "vpncheck" || inv.Qualifier != "prod" || inv.Caller != "coordinator" || string(inv.Payload) != want {
			t.Errorf("invocation %d = %+v %s", i, inv, inv.Payload)
		}
		if seen[inv.TaskID] {
			t.Errorf("task id %s used twice", inv.TaskID)
		}
		seen[inv.TaskID] = true
	}
}

func TestInvokeAsyncRefused(t *testing.T) {
	isolate(t)
	fc := orgfake.StartFC(coordinator)
	defer fc.Close()
	fc.AddFunction("vpncheck")
	ctx := context.Background()
	good := client(t, static(t, coordID, coordSecret, ""), fc.URL)
	for _, tc := range []struct {
		name     string
		c        *org.Client
		fn       string
		payload  []byte
		taskID   string
		wantCode string // "" for a refusal before sending
		wantText string
	}{
		{name: "largest payload", c: good, fn: "vpncheck", payload: bytes.Repeat([]byte("x"), org.MaxAsyncPayload), taskID: "t_largest"},
		{name: "payload too big", c: good, fn: "vpncheck", payload: bytes.Repeat([]byte("x"), org.MaxAsyncPayload+1), taskID: "t1", wantText: "over FC's asynchronous limit"},
		{name: "bad task id", c: good, fn: "vpncheck", taskID: "1starts-with-digit", wantText: "invalid task id"},
		{name: "bad function", c: good, fn: "../x", taskID: "t2", wantText: "invalid function name"},
		{name: "no such function", c: good, fn: "other", taskID: "t3", wantCode: "FunctionNotFound"},
		{name: "wrong secret", c: client(t, static(t, coordID, "canary-wrong-secret", ""), fc.URL), fn: "vpncheck", taskID: "t4", wantCode: "SignatureDoesNotMatch"},
		{name: "unknown key", c: client(t, static(t, "LTAIother", coordSecret, ""), fc.URL), fn: "vpncheck", taskID: "t5", wantCode: "InvalidAccessKeyId.NotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, refused := len(fc.Invocations()), fc.Refused()
			err := org.InvokeAsync(ctx, tc.c, org.Function{Name: tc.fn}, tc.payload, tc.taskID)
			t.Log(err)
			switch {
			case tc.wantCode == "" && tc.wantText == "":
				if err != nil || len(fc.Invocations()) != before+1 {
					t.Fatalf("error %v", err)
				}
			case tc.wantCode == "":
				if err == nil || !strings.Contains(err.Error(), tc.wantText) {
					t.Fatalf("error %v, want %q", err, tc.wantText)
				}
				if fc.Refused() != refused || len(fc.Invocations()) != before {
					t.Error("the request reached FC")
				}
			default:
				if ae := apiCode(t, err); ae.Code != tc.wantCode {
					t.Fatalf("error %v, want %s", err, tc.wantCode)
				}
				if errors.Is(err, org.ErrAlreadyStarted) || len(fc.Invocations()) != before {
					t.Errorf("error %v counted as started", err)
				}
				noSecrets(t, err, coordSecret, "canary-wrong-secret")
			}
		})
	}
}

func TestTaskID(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,127}$`)
	long := strings.Repeat("run/ü:", 100)
	ids := map[string][2]string{}
	for _, in := range [][2]string{
		{"2025-06-01T02:00:00Z", acctA},
		{"2025-06-01T02:00:00Z", acctB},
		{"2025-06-01T02:00:01Z", acctA},
		{"a-b", "c"},
		{"a", "b-c"},
		{"a b", "c"},
		{"a:b", "c"},
		{long, acctA},
		{long + "x", acctA},
		{"", ""},
	} {
		id := org.TaskID(in[0], in[1])
		if !valid.MatchString(id) {
			t.Errorf("TaskID(%q, %q) = %q: not a valid FC task id", in[0], in[1], id)
		}
		if id != org.TaskID(in[0], in[1]) {
			t.Errorf("TaskID(%q, %q) is not deterministic", in[0], in[1])
		}
		if prev, dup := ids[id]; dup {
			t.Errorf("TaskID(%q, %q) = TaskID(%q, %q) = %q", in[0], in[1], prev[0], prev[1], id)
		}
		ids[id] = in
	}
	if id := org.TaskID("2025-06-01T02:00:00Z", acctA); !strings.HasPrefix(id, "vpncheck-2025-06-01T02-00-00Z-"+acctA+"-") {
		t.Errorf("TaskID = %q, want the run and account readable in it", id)
	}
}
