package fix_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	vpc "github.com/alibabacloud-go/vpc-20160428/v6/client"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/alibaba"
	"github.com/vpncheck/vpncheck/checker/fix"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
	"github.com/vpncheck/vpncheck/policies"
)

const (
	fakeAK     = "LTAI5tFixTest"
	fakeSecret = "fix-test-secret-91c2"
)

// The test inventories, and the region each is read in.
var inventories = []struct{ path, region string }{
	{"../../testdata/weak.json", ""},
	{"../../testdata/sample.json", "cn-hangzhou"},
	{"../../testdata/canary.json", ""},
}

var (
	engineOnce sync.Once
	engine     *checker.Engine
	engineErr  error
)

func builtin(t *testing.T) *checker.Engine {
	engineOnce.Do(func() {
		engine, engineErr = checker.NewEngine(context.Background(), checker.Policies{Builtin: policies.FS})
	})
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return engine
}

// seed starts a fake VPC API holding the inventory's connections, in the
// region a check of the file reads them in.
func seed(t *testing.T, path, region string) (*vpcfake.Server, string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		RegionId       string
		VpnConnections struct{ VpnConnection []json.RawMessage }
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		t.Fatal(err)
	}
	if page.RegionId != "" {
		region = page.RegionId
	}
	s := vpcfake.Start(vpcfake.Credentials{AccessKeyID: fakeAK, AccessKeySecret: fakeSecret})
	t.Cleanup(s.Close)
	for _, c := range page.VpnConnections.VpnConnection {
		s.AddConnections(region, c)
	}
	return s, region
}

func isolate(t *testing.T) {
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	t.Setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
	t.Setenv("HOME", t.TempDir())
}

// check collects the fake's region with the real collector and judges it.
func check(t *testing.T, s *vpcfake.Server, region, planFor string) *checker.Result {
	t.Helper()
	cred, err := alibaba.StaticCredential(fakeAK, fakeSecret, "")
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.New()
	src := alibaba.Live{Config: alibaba.CollectorConfig{Credential: cred, Endpoint: s.URL, Concurrency: 1}, Regions: []string{region}}
	if err := src.Collect(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	res, err := builtin(t).Check(context.Background(), inv, checker.Options{PlanFor: planFor})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Report.Errors) > 0 {
		t.Fatalf("check errors: %+v", res.Report.Errors)
	}
	return res
}

// newKey is what KeyCommand makes: 32 random bytes in base64.
func newKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// apply sends a fix's call through the real SDK client: its parameters,
// new keys filled in as the user's shell would, decoded into the SDK's own
// request model (a parameter the model lacks fails here), then validated
// again by the fake.
func apply(t *testing.T, s *vpcfake.Server, fx *report.Fix) {
	t.Helper()
	b, err := json.Marshal(fx.API.Parameters)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"NEW_PSK", "NEW_PSK_1", "NEW_PSK_2"} {
		b = bytes.ReplaceAll(b, []byte(fix.Placeholder(name)), []byte(newKey()))
	}
	decode := func(v any) {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("%s parameters do not fit the SDK's request model: %v\n%s", fx.API.Action, err, b)
		}
	}
	c, err := vpc.NewClient(&openapiutil.Config{AccessKeyId: tea.String(fakeAK), AccessKeySecret: tea.String(fakeSecret),
		Endpoint: tea.String(s.Host()), Protocol: tea.String("HTTP"), RegionId: tea.String(fx.API.Region),
		ReadTimeout: tea.Int(5000), ConnectTimeout: tea.Int(5000)})
	if err != nil {
		t.Fatal(err)
	}
	rt := &dara.RuntimeOptions{}
	switch fx.API.Action {
	case fix.ActionModifyConnection:
		var req vpc.ModifyVpnConnectionAttributeRequest
		decode(&req)
		_, err = c.ModifyVpnConnectionAttributeWithOptions(&req, rt)
	case fix.ActionModifyTunnel:
		var req vpc.ModifyTunnelAttributeRequest
		decode(&req)
		_, err = c.ModifyTunnelAttributeWithOptions(&req, rt)
	default:
		t.Fatalf("unknown action %s", fx.API.Action)
	}
	if err != nil {
		t.Fatalf("%s refused: %v\n%s", fx.API.Action, err, b)
	}
}

// place names a finding: connection, tunnel, rule.
func place(f report.Finding) string { return f.ConnectionID + "/" + f.TunnelID + "/" + f.Rule }

func places(fs []report.Finding, conn string) []string {
	var out []string
	for _, f := range fs {
		if f.ConnectionID == conn {
			out = append(out, place(f))
		}
	}
	slices.Sort(out)
	return out
}

// Each fixable finding's own fix, applied through the real SDK to the fake
// VPC API, clears that finding on the next check and adds none.
func TestEachFixClearsItsFinding(t *testing.T) {
	isolate(t)
	seen := map[string]bool{}
	for _, inv := range inventories {
		s, region := seed(t, inv.path, inv.region)
		before := check(t, s, region, "").Report.Findings
		s.Close()
		for _, f := range before {
			fx := f.FixNow()
			if fx == nil {
				if fix.Fixable(f.Rule) {
					t.Errorf("%s: fixable, but no fix", place(f))
				}
				continue
			}
			seen[f.Rule] = true
			t.Run(inv.path[strings.LastIndex(inv.path, "/")+1:]+"/"+place(f), func(t *testing.T) {
				s, region := seed(t, inv.path, inv.region)
				apply(t, s, fx)
				after := check(t, s, region, "").Report.Findings
				was := places(before, f.ConnectionID)
				for _, p := range places(after, f.ConnectionID) {
					if p == place(f) {
						t.Errorf("%s is still there after its fix:\n%s", p, fx.CLI)
					}
					if !slices.Contains(was, p) {
						t.Errorf("the fix of %s brought %s", place(f), p)
					}
				}
			})
		}
	}
	for _, rule := range fix.Rules() {
		if !seen[rule] {
			t.Errorf("no test inventory has a %s finding: its fix is untested", rule)
		}
	}
}

// A connection's combined plan is one call that clears every fixable
// finding of the connection at once.
func TestCombinedPlanClearsTheConnection(t *testing.T) {
	isolate(t)
	for _, inv := range inventories {
		s, region := seed(t, inv.path, inv.region)
		conns := map[string]bool{}
		for _, f := range check(t, s, region, "").Report.Findings {
			if f.FixNow() != nil {
				conns[f.ConnectionID] = true
			}
		}
		s.Close()
		for id := range conns {
			t.Run(id, func(t *testing.T) {
				s, region := seed(t, inv.path, inv.region)
				res := check(t, s, region, id)
				if len(res.Plans) != 1 || res.Plans[0].Fix == nil {
					t.Fatalf("plans: %+v", res.Plans)
				}
				apply(t, s, res.Plans[0].Fix)
				for _, f := range check(t, s, region, "").Report.Findings {
					if f.ConnectionID == id && fix.Fixable(f.Rule) {
						t.Errorf("%s is still there after the plan", place(f))
					}
				}
				if n := len(s.Log()); n < 1 {
					t.Errorf("no call made")
				}
				calls := 0
				for _, c := range s.Log() {
					if strings.HasPrefix(c.Action, "Modify") {
						calls++
					}
				}
				if calls != 1 {
					t.Errorf("%d modify calls, want one", calls)
				}
			})
		}
	}
}
