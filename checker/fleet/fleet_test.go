package fleet

import (
	"fmt"
	"strings"
	"testing"
)

const (
	acctProd    = "1000000000000001"
	acctDev     = "1000000000000002"
	acctSandbox = "1000000000000003"
)

func TestSessionNameAndStatus(t *testing.T) {
	for key, want := range map[string]string{
		"hourly@2026-11-25T10:05:00Z/1000000000000001": "vpncheck-hourly@2026-11-25T10-05-00Z-1000000000000001",
		"cli-20260101T000000Z":                         "vpncheck-cli-20260101T000000Z",
		strings.Repeat("x", 100):                       "vpncheck-" + strings.Repeat("x", 55),
		"a b/":                                         "vpncheck-a-b",
	} {
		if got := SessionName(key); got != want || len(got) > 64 {
			t.Errorf("SessionName(%q) = %q, want %q", key, got, want)
		}
	}
	for status, ready := range map[string]bool{
		"CreateSuccess": true, "InviteSuccess": true, "PromoteVerifying": true, "PromoteSuccess": true, "": true, "SomethingNew": true,
		"CreateVerifying": false, "CreateFailed": false, "CreateExpired": false, "Suspended": false, "Deleting": false, "Closed": false,
	} {
		if got := notReady(status) == ""; got != ready {
			t.Errorf("status %q: ready %v, want %v", status, got, ready)
		}
	}
}

func TestAccountTrouble(t *testing.T) {
	var many []trouble
	for i := range 12 {
		many = append(many, trouble{account: fmt.Sprint(2000 + i), why: "invocation not started: Throttling"})
	}
	for _, tc := range []struct {
		lost  []trouble
		total int
		want  string
	}{
		{[]trouble{{acctProd, "prod", "role vpncheck-reader not assumed: NoPermission: You are not authorized"},
			{acctDev, "", "role vpncheck-reader not assumed: NoPermission: You are not authorized"},
			{acctSandbox, "sandbox", "not ready: its status in the resource directory is CreateVerifying"}}, 5,
			"3 member accounts of 5 not checked. role vpncheck-reader not assumed: NoPermission: You are not authorized: " +
				acctProd + " (prod), " + acctDev + ". not ready: its status in the resource directory is CreateVerifying: " + acctSandbox + " (sandbox)."},
		{many, 12, "12 member accounts of 12 not checked. invocation not started: Throttling: 2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007, 2008, 2009 and 2 more (see the errors)."},
	} {
		if got := accountTrouble(tc.lost, tc.total); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}
