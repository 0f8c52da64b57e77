package report

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func finding(account, region, conn, rule string, sev Severity) Finding {
	return Finding{Rule: rule, Severity: sev, AccountID: account, Region: region, ConnectionID: conn, Status: StatusNew}
}

// accountReport is one account's report as run.Execute leaves it.
func accountReport(account string, regions, failed []string, conns int, fs ...Finding) *Report {
	r := New()
	r.AccountID = account
	r.Findings = append(r.Findings, fs...)
	r.Summary.Connections, r.Summary.Tunnels, r.Summary.New = conns, conns, len(fs)
	r.Summary.RegionsScan = append(r.Summary.RegionsScan, regions...)
	r.Summary.RegionsFailed = append(r.Summary.RegionsFailed, failed...)
	r.Finish()
	return r
}

func TestMerge(t *testing.T) {
	const a, b, c = "1000000000000001", "1000000000000002", "1000000000000003"
	denied := ErrorEntry{Code: CodeAccountUnavailable, Message: "assume role vpncheck-reader in account " + b + ": NoPermission", RequestID: "S1"}
	forbidden := ErrorEntry{Region: "cn-shanghai", Code: "Forbidden.RAM", Message: "describe vpn connections in cn-shanghai: Forbidden.RAM", RequestID: "V9"}
	withErr := func(r *Report, e ErrorEntry) *Report { r.Errors = append(r.Errors, e); return r }
	held := func(r *Report, regions ...string) *Report {
		r.Lifecycle = Lifecycle{Stateful: true, Held: regions, Unchanged: 2, OldestOpen: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
		return r
	}

	for _, tc := range []struct {
		name  string
		parts []AccountPart
		// want
		findings      string // "account/region/conn/rule/account_name" worst first
		errors        string // "account:code" in order
		accounts      string // "id=status:connections/findings/errors" by id
		regions       string
		regionsFailed string
		bySeverity    map[string]int
		connections   int
		failed        bool
		held          string
	}{
		{name: "none", accounts: "", bySeverity: map[string]int{}},
		{
			name: "two accounts checked",
			parts: []AccountPart{
				{AccountID: b, DisplayName: "prod", Report: accountReport(b, []string{"cn-hangzhou", "cn-beijing"}, nil, 3,
					finding(b, "cn-hangzhou", "vco-b1", "ike-weak-integrity", Medium), finding(b, "cn-beijing", "vco-b2", "psk-weak", Critical))},
				{AccountID: a, Report: accountReport(a, []string{"cn-hangzhou"}, nil, 2, finding(a, "cn-hangzhou", "vco-a1", "psk-weak", Critical))},
			},
			findings:    a + "/cn-hangzhou/vco-a1/psk-weak/ " + b + "/cn-beijing/vco-b2/psk-weak/prod " + b + "/cn-hangzhou/vco-b1/ike-weak-integrity/prod",
			accounts:    a + "=checked:2/1/0 " + b + "=checked:3/2/0",
			regions:     "cn-beijing,cn-hangzhou",
			bySeverity:  map[string]int{"critical": 2, "medium": 1},
			connections: 5,
		},
		{
			name: "one denied, the other checked",
			parts: []AccountPart{
				{AccountID: a, Report: accountReport(a, []string{"cn-hangzhou"}, nil, 1, finding(a, "cn-hangzhou", "vco-a1", "dpd-disabled", Low))},
				{AccountID: b, DisplayName: "dev", Errors: []ErrorEntry{denied}},
			},
			findings:    a + "/cn-hangzhou/vco-a1/dpd-disabled/",
			errors:      b + ":AccountUnavailable",
			accounts:    a + "=checked:1/1/0 " + b + "=unavailable:0/0/1",
			regions:     "cn-hangzhou",
			bySeverity:  map[string]int{"low": 1},
			connections: 1,
			failed:      true,
		},
		{
			name: "a region failed in one account only",
			parts: []AccountPart{
				{AccountID: a, Report: held(withErr(accountReport(a, []string{"cn-hangzhou"}, []string{"cn-shanghai"}, 1), forbidden), "cn-shanghai")},
				{AccountID: b, Report: accountReport(b, []string{"cn-hangzhou", "cn-shanghai"}, nil, 4)},
			},
			errors:        a + ":Forbidden.RAM",
			accounts:      a + "=checked:1/0/1 " + b + "=checked:4/0/0",
			regions:       "cn-hangzhou,cn-shanghai",
			regionsFailed: "cn-shanghai",
			bySeverity:    map[string]int{},
			connections:   5,
			failed:        true,
			held:          a + "/cn-shanghai",
		},
		{
			name: "a check that did not complete, and one handed off",
			parts: []AccountPart{
				{AccountID: c, Errors: []ErrorEntry{{Code: CodeAccountFailed, Message: "no region could be scanned"}}},
				{AccountID: a, Status: AccountStarted},
			},
			errors:     c + ":AccountFailed",
			accounts:   a + "=started:0/0/0 " + c + "=failed:0/0/1",
			bySeverity: map[string]int{},
			failed:     true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := json.Marshal(tc.parts)
			got := Merge(tc.parts)
			if after, _ := json.Marshal(tc.parts); string(after) != string(before) {
				t.Error("Merge modified its parts")
			}

			var fs []string
			for _, f := range got.Findings {
				fs = append(fs, strings.Join([]string{f.AccountID, f.Region, f.ConnectionID, f.Rule, f.AccountName}, "/"))
			}
			var es []string
			for _, e := range got.Errors {
				es = append(es, e.AccountID+":"+e.Code)
			}
			var as []string
			for _, id := range sortedKeys(keysOf(got.Summary.Accounts)) {
				s := got.Summary.Accounts[id]
				as = append(as, id+"="+s.Status+":"+strconv.Itoa(s.Connections)+"/"+strconv.Itoa(s.Findings)+"/"+strconv.Itoa(s.Errors))
			}
			for _, c := range []struct{ what, got, want string }{
				{"findings", strings.Join(fs, " "), tc.findings},
				{"errors", strings.Join(es, " "), tc.errors},
				{"accounts", strings.Join(as, " "), tc.accounts},
				{"regions scanned", strings.Join(got.Summary.RegionsScan, ","), tc.regions},
				{"regions failed", strings.Join(got.Summary.RegionsFailed, ","), tc.regionsFailed},
				{"held", strings.Join(got.Lifecycle.Held, ","), tc.held},
			} {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
			if !reflect.DeepEqual(got.Summary.BySeverity, tc.bySeverity) || got.Summary.Findings != len(got.Findings) {
				t.Errorf("by severity %v (findings %d), want %v", got.Summary.BySeverity, got.Summary.Findings, tc.bySeverity)
			}
			if got.Summary.Connections != tc.connections {
				t.Errorf("connections %d, want %d", got.Summary.Connections, tc.connections)
			}
			if got.Failed() != tc.failed {
				t.Errorf("Failed() = %v, want %v", got.Failed(), tc.failed)
			}
			if got.AccountID != "" {
				t.Errorf("a merged report names one account: %q", got.AccountID)
			}
			// The lists encode as arrays, never null.
			b, _ := json.Marshal(got)
			for _, k := range []string{`"findings":null`, `"errors":null`, `"regions_scanned":null`, `"regions_failed":null`, `"by_severity":null`} {
				if strings.Contains(string(b), k) {
					t.Errorf("report encodes %s: %s", k, b)
				}
			}
		})
	}
}

// TestFailedCountsAccountErrors: an account that could not be entered, or
// whose check did not complete, fails the report (--fail-on); an account's
// ordinary finding or a suppressed exception tag does not.
func TestFailedCountsAccountErrors(t *testing.T) {
	for _, tc := range []struct {
		code string
		want bool
	}{
		{CodeAccountUnavailable, true}, {CodeAccountFailed, true}, {CodeInvalidException, false}, {CodeIncompleteResponse, true},
	} {
		r := New()
		r.Summary.RegionsScan = []string{"cn-hangzhou"}
		r.Errors = []ErrorEntry{{Code: tc.code, AccountID: "1000000000000001"}}
		if got := r.Failed(); got != tc.want {
			t.Errorf("%s: Failed() = %v, want %v", tc.code, got, tc.want)
		}
	}
}

func keysOf(m map[string]AccountSummary) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// An organisation-wide report names the policies its accounts were judged
// by (one engine judges them all), even when the first account has no
// report.
func TestMergeKeepsThePolicyRevision(t *testing.T) {
	a := accountReport("1001", []string{"cn-hangzhou"}, nil, 1)
	a.PolicyRevision = "built-in 7caa9c575875"
	out := Merge([]AccountPart{
		{AccountID: "1000", Errors: []ErrorEntry{{Code: CodeAccountUnavailable, Message: "no role"}}},
		{AccountID: "1001", Report: a},
	})
	if out.PolicyRevision != "built-in 7caa9c575875" {
		t.Errorf("merged policy_revision = %q", out.PolicyRevision)
	}
}

// An organisation-wide report counts the connections judged afresh over
// its accounts; none of them saying leaves it unsaid.
func TestMergeJudgedAfresh(t *testing.T) {
	n := func(v int) *int { return &v }
	withAfresh := func(r *Report, v *int) *Report { r.Summary.JudgedAfresh = v; return r }
	part := func(id string, v *int) AccountPart {
		return AccountPart{AccountID: id, Report: withAfresh(accountReport(id, []string{"cn-hangzhou"}, nil, 5), v)}
	}
	if got := Merge([]AccountPart{part("1", n(2)), part("2", n(0)), part("3", nil)}).Summary.JudgedAfresh; got == nil || *got != 2 {
		t.Errorf("judged afresh %v, want 2", got)
	}
	if got := Merge([]AccountPart{part("1", nil)}).Summary.JudgedAfresh; got != nil {
		t.Errorf("judged afresh %d, want unsaid", *got)
	}
}
