package configrule_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/acsfake"
	"github.com/vpncheck/vpncheck/checker/configfake"
	"github.com/vpncheck/vpncheck/checker/configrule"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/report"
)

var known = []string{"psk-weak", "ike-v1", "dpd-disabled", "subnet-any"}

func TestParse(t *testing.T) {
	item := `{"accountId":1234567890123456,"regionId":"cn-hangzhou","resourceId":"vco-1","resourceName":"branch","resourceType":"ACS::VPN::VpnConnection","configuration":"{\"VpnConnectionId\":\"vco-1\"}"}`
	for _, tc := range []struct {
		name, body string
		check      func(*configrule.Event) string
		wantErr    string
	}{
		{name: "change, invokingEvent as an object",
			body: `{"resultToken":"tok","orderingTimestamp":1764064800000,"invokingEvent":{"messageType":"ConfigurationItemChangeNotification","configurationItem":` + item + `},"ruleParameters":{"min_severity":"high","rules":"psk-weak, ike-v1"}}`,
			check: func(e *configrule.Event) string {
				it := e.Item
				if it == nil || it.AccountID != "1234567890123456" || it.ResourceID != "vco-1" || string(it.Configuration) != `{"VpnConnectionId":"vco-1"}` || it.Oversize ||
					e.OrderingTimestamp != 1764064800000 || e.Parameters.MinSeverity != report.High || strings.Join(e.Parameters.Rules, ",") != "psk-weak,ike-v1" {
					return fmt.Sprintf("%+v %+v", e, it)
				}
				return ""
			}},
		{name: "change, invokingEvent as a string, oversized",
			body: `{"resultToken":"tok","orderingTimestamp":1,"invokingEvent":"{\"messageType\":\"ConfigurationItemChangeNotification\",\"configurationType\":\"OVERSIZE\",\"configurationItem\":{\"accountId\":1,\"regionId\":\"cn-x\",\"resourceId\":\"vco-2\",\"resourceType\":\"ACS::VPN::VpnConnection\"}}","ruleParameters":"{\"rules\":[\"dpd-disabled\"]}"}`,
			check: func(e *configrule.Event) string {
				if !e.Item.Oversize || e.Item.Configuration != nil || e.Parameters.Rules[0] != "dpd-disabled" || e.Parameters.MinSeverity != report.Low {
					return fmt.Sprintf("%+v %+v", e, e.Item)
				}
				return ""
			}},
		{name: "scheduled", body: `{"resultToken":"tok","invokingEvent":{"messageType":"ScheduledNotification"}}`,
			check: func(e *configrule.Event) string {
				if e.Item != nil || e.MessageType != configrule.MessageScheduled {
					return fmt.Sprintf("%+v", e)
				}
				return ""
			}},
		{name: "no token", body: `{"resultToken":"","invokingEvent":{"messageType":"ScheduledNotification"}}`, wantErr: "no resultToken"},
		{name: "unknown message", body: `{"resultToken":"t","invokingEvent":{"messageType":"OversizedConfigurationItemChangeNotification"}}`, wantErr: "messageType"},
		{name: "change without item", body: `{"resultToken":"t","invokingEvent":{"messageType":"ConfigurationItemChangeNotification"}}`, wantErr: "without a configurationItem"},
		{name: "unknown rule", body: `{"resultToken":"t","invokingEvent":{"messageType":"ScheduledNotification"},"ruleParameters":{"rules":["psk-weak","nope"]}}`, wantErr: `"nope" is not a rule id`},
		{name: "bad severity", body: `{"resultToken":"t","invokingEvent":{"messageType":"ScheduledNotification"},"ruleParameters":{"min_severity":"urgent"}}`, wantErr: "min_severity"},
		{name: "unknown parameter", body: `{"resultToken":"t","invokingEvent":{"messageType":"ScheduledNotification"},"ruleParameters":{"severity":"high"}}`, wantErr: `unknown parameter "severity"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := configrule.Parse([]byte(tc.body), known, report.Low)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, configrule.ErrEvent) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(e); msg != "" {
				t.Error(msg)
			}
		})
	}
	if !configrule.IsEvent([]byte(`{"resultToken":"t","invokingEvent":{}}`)) || configrule.IsEvent([]byte(`{"triggerTime":"x","payload":"{}"}`)) {
		t.Error("IsEvent")
	}
}

func TestEvaluate(t *testing.T) {
	f := func(conn, rule string, sev report.Severity) report.Finding {
		return report.Finding{Region: "cn-x", ConnectionID: conn, Rule: rule, Severity: sev}
	}
	judged := []configrule.Connection{{"cn-x", "vco-1", "a"}, {"cn-x", "vco-2", "b"}, {"cn-x", "vco-3", "c"}}
	findings := []report.Finding{f("vco-1", "psk-weak", report.Critical), f("vco-1", "ike-v1", report.Low), f("vco-1", "ike-v1", report.Low),
		f("vco-2", "dpd-disabled", report.Medium), f("vco-9", "psk-weak", report.Critical)}
	for _, tc := range []struct {
		name string
		p    configrule.Parameters
		want []string
	}{
		{"all", configrule.Parameters{}, []string{"NON_COMPLIANT vpncheck critical: psk-weak, ike-v1", "NON_COMPLIANT vpncheck medium: dpd-disabled", "COMPLIANT "}},
		{"min high", configrule.Parameters{MinSeverity: report.High}, []string{"NON_COMPLIANT vpncheck critical: psk-weak", "COMPLIANT ", "COMPLIANT "}},
		{"rules", configrule.Parameters{Rules: []string{"ike-v1", "dpd-disabled"}}, []string{"NON_COMPLIANT vpncheck low: ike-v1", "NON_COMPLIANT vpncheck medium: dpd-disabled", "COMPLIANT "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := configrule.Evaluate(judged, findings, tc.p, "1234567890123456", 42)
			if len(evs) != 3 {
				t.Fatalf("%d evaluations for 3 connections", len(evs))
			}
			for i, e := range evs {
				if got := e.ComplianceType + " " + e.Annotation; got != tc.want[i] {
					t.Errorf("%s: %q, want %q", e.ComplianceResourceID, got, tc.want[i])
				}
				if e.AccountID != "1234567890123456" || e.OrderingTimestamp != 42 || e.ComplianceResourceType != "ACS::VPN::VpnConnection" || e.ComplianceRegionID != "cn-x" {
					t.Errorf("%+v", e)
				}
			}
		})
	}
}

// Many rules: the annotation stays within the limit and says how many
// more fired.
func TestAnnotationLimit(t *testing.T) {
	var fs []*report.Finding
	for i := range 40 {
		fs = append(fs, &report.Finding{Rule: fmt.Sprintf("team-rule-with-a-long-name-%02d", i), Severity: report.Medium})
	}
	fs = append(fs, &report.Finding{Rule: "psk-weak", Severity: report.Critical})
	a := configrule.Annotation(fs)
	if n := utf8.RuneCountInString(a); n > configrule.MaxAnnotation || !strings.HasPrefix(a, "vpncheck critical: psk-weak, team-rule") || !strings.Contains(a, "more)") {
		t.Errorf("%d characters: %q", n, a)
	}
}

// Put through the real SDK client against the fake: the signature, the
// token and the evaluations' shape are checked; 250 evaluations go in three
// calls, DeleteMode only on the last.
func TestPut(t *testing.T) {
	cred := acsfake.Credential{AccessKeyID: "STS.PUTKEY", AccessKeySecret: "canary-put-secret-1a2b", SecurityToken: "canary-put-token-3c4d"}
	fake := configfake.Start(cred)
	defer fake.Close()
	fake.AddToken("tok-1")
	c, err := org.NewClient(staticCred(t, cred), fake.URL, org.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var evs []configrule.Evaluation
	for i := range 250 {
		evs = append(evs, configrule.Evaluation{AccountID: "1234567890123456", ComplianceResourceID: fmt.Sprintf("vco-%03d", i),
			ComplianceResourceType: configrule.ResourceType, ComplianceRegionID: "cn-x", ComplianceType: configrule.Compliant, OrderingTimestamp: 7})
	}
	if err := configrule.Put(context.Background(), c, "tok-1", evs, true); err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls()
	if len(calls) != 3 || calls[0].DeleteMode || calls[1].DeleteMode || !calls[2].DeleteMode || calls[2].Evaluations != 50 {
		t.Errorf("calls %+v", calls)
	}
	if got := fake.Evaluations("tok-1"); len(got) != 250 || got[249].ComplianceResourceID != "vco-249" {
		t.Errorf("%d evaluations recorded", len(got))
	}

	err = configrule.Put(context.Background(), c, "tok-unknown", evs[:1], false)
	var apiErr *org.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "InvalidParameter.ResultToken" {
		t.Errorf("unknown token: %v", err)
	}
	bad, _ := org.NewClient(staticCred(t, acsfake.Credential{AccessKeyID: cred.AccessKeyID, AccessKeySecret: "wrong", SecurityToken: cred.SecurityToken}), fake.URL, org.ClientOptions{})
	if err := configrule.Put(context.Background(), bad, "tok-1", evs[:1], false); !errors.As(err, &apiErr) || apiErr.Code != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v", err)
	}
	if strings.Contains(fmt.Sprint(err), "canary-put") {
		t.Errorf("an error holds the secret: %v", err)
	}
	long := evs[0]
	long.Annotation = strings.Repeat("x", configrule.MaxAnnotation+1)
	if err := configrule.Put(context.Background(), c, "tok-1", []configrule.Evaluation{long}, false); !errors.As(err, &apiErr) || apiErr.Code != "InvalidParameter.Evaluations" {
		t.Errorf("over-long annotation: %v", err)
	}
	b, _ := json.Marshal(evs[0])
	if !strings.Contains(string(b), `"accountId":1234567890123456`) {
		t.Errorf("accountId is not a number: %s", b)
	}
}
