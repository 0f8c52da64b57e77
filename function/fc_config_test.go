package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/configfake"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

// configEvent is a Config rule event: a change of item (with its
// configuration, or oversized without it) or, with item nil, a periodic run.
func configEvent(t *testing.T, token string, item map[string]any, oversize bool, params string) string {
	t.Helper()
	inv := map[string]any{"messageType": "ScheduledNotification", "notificationCreationTimestamp": 1764064800000}
	if item != nil {
		inv["messageType"] = "ConfigurationItemChangeNotification"
		inv["configurationItem"] = item
		if oversize {
			inv["configurationType"] = "OVERSIZE"
			delete(item, "configuration")
		}
	}
	ie, _ := json.Marshal(inv)
	ev := map[string]any{"version": "1.0", "resultToken": token, "orderingTimestamp": 1764064800123, "invokingEvent": string(ie)}
	if params != "" {
		ev["ruleParameters"] = json.RawMessage(params)
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

func connItem(conn any) map[string]any {
	c := conn.(map[string]any)
	cfg, _ := json.Marshal(c)
	return map[string]any{"accountId": 1234567890123456, "regionId": "cn-hangzhou", "resourceId": c["VpnConnectionId"],
		"resourceName": c["Name"], "resourceType": "ACS::VPN::VpnConnection", "configuration": string(cfg), "configurationType": "COMMON"}
}

type configOutcome struct {
	Config *configResult `json:"config"`
}

// A Config rule event through the compiled binary under the fake FC
// runtime: the right evaluations reach the fake Config endpoint for a
// change with its configuration, a resource type vpncheck does not judge,
// an oversized item (described live by id), a periodic run (DeleteMode),
// and a periodic run with a failed region (nothing for that region, no
// DeleteMode, the invocation fails). Nothing goes to Slack; no key leaks.
func TestFunctionConfigRule(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	cfg := configfake.Start(acsfake.Credential{AccessKeyID: fcCreds.AccessKeyID, AccessKeySecret: fcCreds.AccessKeySecret,
		SecurityToken: fcCreds.SecurityToken, Label: "function"})
	t.Cleanup(cfg.Close)
	e := startFunction(t, map[string]string{"VPNCHECK_CONFIG_ENDPOINT": cfg.URL})
	e.vpc.Generate("cn-hangzhou", 2, weakConn)
	e.vpc.Generate("cn-shanghai", 1, vpcfake.Connection)

	invoke := func(token, body string) (fcOutcome, []configfake.Evaluation) {
		t.Helper()
		cfg.AddToken(token)
		out := e.rt.invoke(t, body, e.creds, 60*time.Second)
		e.assertNoSecrets(t, out)
		evs := cfg.Evaluations(token)
		for _, ev := range evs {
			for _, s := range e.secrets() {
				if strings.Contains(fmt.Sprintf("%+v", ev), s) {
					t.Errorf("an evaluation holds %s", s)
				}
			}
		}
		return out, evs
	}
	one := func(t *testing.T, evs []configfake.Evaluation, id, typ, compliance, annotation string) {
		t.Helper()
		if len(evs) != 1 {
			t.Fatalf("%d evaluations, want 1: %+v", len(evs), evs)
		}
		ev := evs[0]
		if ev.ComplianceResourceID != id || ev.ComplianceResourceType != typ || ev.ComplianceType != compliance ||
			!strings.HasPrefix(ev.Annotation, annotation) || ev.ComplianceRegionID != "cn-hangzhou" ||
			ev.AccountID != "1234567890123456" || ev.OrderingTimestamp != "1764064800123" {
			t.Errorf("evaluation %+v, want %s %s %q...", ev, id, compliance, annotation)
		}
	}
	weak := weakConn("cn-hangzhou", 7)
	strong := vpcfake.Connection("cn-hangzhou", 8)

	t.Run("change with configuration", func(t *testing.T) {
		out, evs := invoke("tok-change", configEvent(t, "tok-change", connItem(weak), false, ""))
		one(t, evs, "vco-cn-hangzhou-00007", "ACS::VPN::VpnConnection", "NON_COMPLIANT", "vpncheck high: ")
		t.Logf("annotation: %s", evs[0].Annotation)
		for _, rule := range []string{"ike-weak-integrity", "ike-weak-dh-group", "ipsec-weak-dh-group"} {
			if !strings.Contains(evs[0].Annotation, rule) {
				t.Errorf("annotation %q lacks %s", evs[0].Annotation, rule)
			}
		}
		var r configOutcome
		if out.failed || json.Unmarshal(out.body, &r) != nil || r.Config == nil || r.Config.NonCompliant != 1 || r.Config.DeleteMode {
			t.Errorf("result %s", out.body)
		}
		_, evs = invoke("tok-strong", configEvent(t, "tok-strong", connItem(strong), false, ""))
		one(t, evs, "vco-cn-hangzhou-00008", "ACS::VPN::VpnConnection", "COMPLIANT", "")
		// Narrowed to rules that do not fire: compliant.
		_, evs = invoke("tok-narrow", configEvent(t, "tok-narrow", connItem(weak), false, `{"rules":"subnet-any,bgp-down","min_severity":"low"}`))
		one(t, evs, "vco-cn-hangzhou-00007", "ACS::VPN::VpnConnection", "COMPLIANT", "")
		if n := e.vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou"); n != 0 {
			t.Errorf("an item with its configuration made %d API calls", n)
		}
	})

	t.Run("not applicable", func(t *testing.T) {
		item := map[string]any{"accountId": 1234567890123456, "regionId": "cn-hangzhou", "resourceId": "i-abc", "resourceType": "ACS::ECS::Instance", "configuration": "{}"}
		_, evs := invoke("tok-ecs", configEvent(t, "tok-ecs", item, false, ""))
		one(t, evs, "i-abc", "ACS::ECS::Instance", "NOT_APPLICABLE", "vpncheck judges IPsec-VPN connections")
	})

	t.Run("oversized item", func(t *testing.T) {
		item := connItem(weakConn("cn-hangzhou", 1)) // the API holds the same (Generate above)
		_, evs := invoke("tok-big", configEvent(t, "tok-big", item, true, ""))
		one(t, evs, "vco-cn-hangzhou-00001", "ACS::VPN::VpnConnection", "NON_COMPLIANT", "vpncheck high: ")
		if n := e.vpc.Calls(vpcfake.ActionDescribeVpnConnections, "cn-hangzhou"); n != 1 {
			t.Errorf("the oversized item was described %d times, want once", n)
		}
	})

	t.Run("periodic", func(t *testing.T) {
		out, evs := invoke("tok-periodic", configEvent(t, "tok-periodic", nil, false, ""))
		got := map[string]string{}
		for _, ev := range evs {
			got[ev.ComplianceResourceID] = ev.ComplianceType
		}
		want := map[string]string{"vco-cn-hangzhou-00000": "NON_COMPLIANT", "vco-cn-hangzhou-00001": "NON_COMPLIANT", "vco-cn-shanghai-00000": "COMPLIANT"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("evaluations %v, want %v", got, want)
		}
		calls := cfg.Calls()
		if last := calls[len(calls)-1]; out.failed || last.ResultToken != "tok-periodic" || !last.DeleteMode || last.Caller != "function" {
			t.Errorf("outcome %s; last call %+v", out.body, last)
		}
	})

	t.Run("failed region", func(t *testing.T) {
		e.vpc.Inject("cn-shanghai", vpcfake.Forbidden())
		out, evs := invoke("tok-failed", configEvent(t, "tok-failed", nil, false, ""))
		if !out.failed || !strings.Contains(string(out.body), "cn-shanghai") || !strings.Contains(string(out.body), "no evaluation for what it could not read") {
			t.Errorf("outcome %v %s", out.failed, out.body)
		}
		if len(evs) != 2 {
			t.Errorf("%d evaluations, want the 2 of cn-hangzhou: %+v", len(evs), evs)
		}
		for _, ev := range evs {
			if ev.ComplianceRegionID != "cn-hangzhou" {
				t.Errorf("an evaluation for a region not read: %+v", ev)
			}
		}
		calls := cfg.Calls()
		if last := calls[len(calls)-1]; last.DeleteMode {
			t.Error("DeleteMode after a failed region would drop its evaluations")
		}
	})

	t.Run("put refused", func(t *testing.T) {
		cfg.Inject(acsfake.Fault{Code: "NoPermission", Times: 1})
		out, evs := invoke("tok-refused", configEvent(t, "tok-refused", connItem(weak), false, ""))
		if !out.failed || !strings.Contains(string(out.body), "NoPermission") || !strings.Contains(string(out.body), "config:PutEvaluations") || len(evs) != 0 {
			t.Errorf("outcome %v %s, %d evaluations", out.failed, out.body, len(evs))
		}
	})

	if n := len(e.slack.Requests()); n != 0 {
		t.Errorf("a Config rule event posted %d Slack requests", n)
	}
}

// A bad rule parameter fails the invocation naming it; nothing is put.
func TestFunctionConfigRuleBadParameter(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	cfg := configfake.Start(acsfake.Credential{AccessKeyID: fcCreds.AccessKeyID, AccessKeySecret: fcCreds.AccessKeySecret, SecurityToken: fcCreds.SecurityToken})
	t.Cleanup(cfg.Close)
	e := startFunction(t, map[string]string{"VPNCHECK_CONFIG_ENDPOINT": cfg.URL})
	cfg.AddToken("tok")
	out := e.rt.invoke(t, configEvent(t, "tok", nil, false, `{"rules":["no-such-rule"]}`), e.creds, 30*time.Second)
	if !out.failed || !strings.Contains(string(out.body), `ruleParameters.rules: \"no-such-rule\" is not a rule id`) {
		t.Errorf("outcome %v %s", out.failed, out.body)
	}
	if len(cfg.Calls()) != 0 {
		t.Errorf("evaluations were put: %+v", cfg.Calls())
	}
}
