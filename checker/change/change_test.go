package change

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	vpc "github.com/alibabacloud-go/vpc-20160428/v6/client"
)

// samplesDir holds the adapted event samples; its README names their sources.
const samplesDir = "../../testdata/events"

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sampleNames(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(samplesDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatal("no samples")
	}
	return names
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

const acct = "1000000000000001"

// wantEvents is what Parse must make of each well-formed sample, field by field.
var wantEvents = map[string]*Event{
	"api-modify-weakens.json": {
		ID: "7c1f6a2e-0d4b-4e1a-9b7a-000000000001", Source: "acs.actiontrail", Type: "vpc:ActionTrail:ApiCall",
		Time: utc("2025-03-04T08:15:30Z"), AccountID: acct, Region: "cn-hangzhou",
		Name: "ModifyVpnConnectionAttribute", Relevant: true, ConnectionID: "vco-testmodify0001",
		RequestID: "5A1B2C3D-0000-4000-8000-000000000001",
		Actor:     Actor{Type: "ram-user", Name: "alice", PrincipalID: "200000000000000101", AccountID: acct},
		SourceIP:  "203.0.113.10", UserAgent: "AlibabaCloud (linux; amd64) Go/1.22.5 Core/0.01 TeaDSL/1",
		Changed: []string{"EffectImmediately", "EnableDpd", "IkeConfig", "IpsecConfig"},
	},
	"api-create.json": {
		ID: "8d2e7b3f-1e5c-4f2b-8c8b-000000000002", Source: "acs.actiontrail", Type: "vpc:ActionTrail:ApiCall",
		Time: utc("2025-03-05T01:02:03Z"), AccountID: acct, Region: "cn-shanghai",
		Name: "CreateVpnConnection", Relevant: true, ConnectionID: "vco-testcreate0002",
		RequestID: "6B2C3D4E-0000-4000-8000-000000000002",
		Actor:     Actor{Type: "root-account", Name: "root", PrincipalID: acct, AccountID: acct},
		SourceIP:  "198.51.100.23", UserAgent: "Aliyun-CLI/v3.0.204",
		Changed: []string{"BgpConfig", "CustomerGatewayId", "EffectImmediately", "EnableDpd", "EnableNatTraversal",
			"HealthCheckConfig", "IkeConfig", "IpsecConfig", "LocalSubnet", "Name", "RemoteSubnet", "Tags"},
	},
	"api-create-dual-tunnel.json": {
		ID: "9e3f8c40-2f6d-4a3c-9d9c-000000000003", Source: "acs.actiontrail", Type: "vpc:ActionTrail:ApiCall",
		Time: utc("2025-03-06T12:00:00.512Z"), AccountID: acct, Region: "ap-southeast-1",
		Name: "CreateVpnConnection", Relevant: true, ConnectionID: "vco-testdual0003",
		RequestID: "7C3D4E5F-0000-4000-8000-000000000003",
		Actor:     Actor{Type: "ram-user", Name: "terraform-ci", PrincipalID: "200000000000000202", AccountID: acct},
		SourceIP:  "192.0.2.44", UserAgent: "Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-alicloud/1.240.0",
		Changed: []string{"EnableTunnelsBgp", "LocalSubnet", "Name", "RemoteSubnet", "TunnelOptionsSpecification"},
	},
	"api-delete.json": {
		ID: "a04f9d51-3a7e-4b4d-8eae-000000000004", Source: "acs.actiontrail", Type: "vpc:ActionTrail:ApiCall",
		Time: utc("2025-03-07T09:29:59Z"), AccountID: acct, Region: "cn-hangzhou",
		Name: "DeleteVpnConnection", Relevant: true, Deleted: true, ConnectionID: "vco-testdelete0004",
		RequestID: "8D4E5F60-0000-4000-8000-000000000004",
		Actor: Actor{Type: "assumed-role", Name: "terraform-deployer", PrincipalID: "300000000000000303:ci-pipeline-42",
			AccountID: acct, SessionName: "ci-pipeline-42"},
		SourceIP: "192.0.2.45", UserAgent: "Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-alicloud/1.240.0",
	},
	"api-modify-tunnel.json": {
		ID: "b1509e62-4b8f-4c5e-9fbf-000000000005", Source: "acs.actiontrail", Type: "vpc:ActionTrail:ApiCall",
		Time: utc("2025-03-08T14:45:10Z"), AccountID: acct, Region: "cn-hangzhou",
		Name: "ModifyTunnelAttribute", Relevant: true, ConnectionID: "vco-testtunnel0005", TunnelID: "tun-testtunnel0005a",
		RequestID: "9E5F6071-0000-4000-8000-000000000005",
		Actor:     Actor{Type: "ram-user", Name: "bob", PrincipalID: "200000000000000404", AccountID: acct},
		SourceIP:  "203.0.113.77",
		UserAgent: "aliyun-python-sdk-core/2.15.1 python/3.11.9 Linux/6.8.0 alibabacloud-vpc20160428/6.10.0",
		Changed:   []string{"TunnelOptionsSpecification"},
	},
	"api-attachment-create.json": {
		ID: "c261af73-5ca0-4d6f-80c0-000000000006", Source: "acs.actiontrail", Type: "vpc:ActionTrail:ApiCall",
		Time: utc("2025-03-09T03:09:59Z"), AccountID: acct, Region: "cn-beijing",
		Name: "CreateVpnAttachment", Relevant: true, ConnectionID: "vco-testattach0006",
		RequestID: "AF607182-0000-4000-8000-000000000006",
		Actor:     Actor{Type: "ram-user", Name: "cen-automation", PrincipalID: "200000000000000505", AccountID: acct},
		SourceIP:  "198.51.100.90", UserAgent: "AlibabaCloud (linux; amd64) Go/1.23.2 Core/0.01 TeaDSL/1",
		Changed: []string{"AutoConfigRoute", "BgpConfig", "CustomerGatewayId", "EffectImmediately", "IkeConfig",
			"IpsecConfig", "LocalSubnet", "Name", "NetworkType", "RemoteSubnet", "ResourceGroupId"},
	},
	"console-modify-assumed-role.json": {
		ID: "d372b084-6db1-4e70-81d1-000000000007", Source: "acs.actiontrail", Type: "vpc:ActionTrail:ConsoleOperation",
		Time: utc("2025-03-10T06:00:04Z"), AccountID: acct, Region: "cn-hangzhou",
		Name: "ModifyVpnConnectionAttribute", Relevant: true, ConnectionID: "vco-testconsole0007",
		RequestID: "B0718293-0000-4000-8000-000000000007",
		Actor: Actor{Type: "assumed-role", Name: "vpn-admin", PrincipalID: "300000000000000707:bob@example.com",
			AccountID: acct, SessionName: "bob@example.com"},
		SourceIP:  "192.0.2.200",
		UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		Console:   true,
		Changed:   []string{"EnableNatTraversal", "IkeConfig", "Name", "RemoteSubnet"},
	},
	"api-attachment-modify-console-agent.json": {
		ID: "e483c195-7ec2-4f81-92e2-000000000008", Source: "acs.actiontrail", Type: "vpc:ActionTrail:ApiCall",
		Time: utc("2025-03-11T10:20:29Z"), AccountID: acct, Region: "cn-beijing", // aliyunregionid: no acsRegion
		Name: "ModifyVpnAttachmentAttribute", Relevant: true, ConnectionID: "vco-testattach0006",
		RequestID: "C1829304-0000-4000-8000-000000000008",
		Actor:     Actor{Type: "ram-user", Name: "carol", PrincipalID: "200000000000000808", AccountID: acct},
		SourceIP:  "192.0.2.201", UserAgent: "vpc.console.aliyun.com", Console: true,
		Changed: []string{"EnableDpd", "IkeConfig", "IpsecConfig"}, // Name is null: not set
	},
	"api-attachment-delete.json": {
		ID: "f594d2a6-8fd3-4092-a3f3-000000000009", Source: "acs.actiontrail", Type: "vpc:ActionTrail:ApiCall",
		Time: utc("2025-03-12T00:00:01Z"), AccountID: acct, Region: "cn-beijing",
		Name: "DeleteVpnAttachment", Relevant: true, Deleted: true, ConnectionID: "vco-testattach0006",
		RequestID: "D2930415-0000-4000-8000-000000000009",
		Actor:     Actor{Type: "ram-user", Name: "cen-automation", PrincipalID: "200000000000000505", AccountID: acct},
		SourceIP:  "198.51.100.90", UserAgent: "AlibabaCloud (linux; amd64) Go/1.23.2 Core/0.01 TeaDSL/1",
	},
	"service-delete-system.json": {
		ID: "0a6e5f17-90e4-41a3-b404-000000000010", Source: "acs.actiontrail", Type: "vpc:ActionTrail:AliyunServiceEvent",
		Time: utc("2025-03-13T15:59:58Z"), AccountID: acct, Region: "cn-hangzhou",
		Name: "DeleteVpnConnection", Relevant: true, Deleted: true, ConnectionID: "vco-testrelease0010", // from referencedResources
		RequestID: "E3A41526-0000-4000-8000-000000000010",
		Actor:     Actor{Type: "system", Name: "vpc.aliyuncs.com"},
		SourceIP:  "vpc.aliyuncs.com", UserAgent: "vpc.aliyuncs.com",
	},
	"unrelated-create-vswitch.json": {
		ID: "1b7f6028-a1f5-42b4-a515-000000000011", Source: "acs.actiontrail", Type: "vpc:ActionTrail:ApiCall",
		Time: utc("2025-03-14T07:07:06Z"), AccountID: acct, Region: "cn-hangzhou",
		Name: "CreateVSwitch", RequestID: "F4B52637-0000-4000-8000-000000000011",
		Actor:    Actor{Type: "ram-user", Name: "alice", PrincipalID: "200000000000000101", AccountID: acct},
		SourceIP: "203.0.113.10", UserAgent: "AlibabaCloud (linux; amd64) Go/1.22.5 Core/0.01 TeaDSL/1",
	},
	"failed-modify-forbidden.json": {
		ID: "2c807139-b206-43c5-b626-000000000012", Source: "acs.actiontrail", Type: "vpc:ActionTrail:ApiCall",
		Time: utc("2025-03-15T11:11:11Z"), AccountID: acct, Region: "cn-hangzhou",
		Name: "ModifyVpnConnectionAttribute", RequestID: "05C63748-0000-4000-8000-000000000012",
		Actor:    Actor{Type: "ram-user", Name: "intern", PrincipalID: "200000000000000909", AccountID: acct},
		SourceIP: "203.0.113.99", UserAgent: "AlibabaCloud (linux; amd64) Go/1.22.5 Core/0.01 TeaDSL/1",
		ErrorCode: "Forbidden.RAM",
	},
	"not-actiontrail-oss.json": {
		ID: "3d91824a-c317-44d6-8737-000000000013", Source: "acs.oss", Type: "oss:ObjectCreated:PutObject",
	},
}

func init() {
	// The redelivery is the same event: only aliyunpublishtime differs.
	wantEvents["api-modify-weakens-redelivered.json"] = wantEvents["api-modify-weakens.json"]
}

// wantErrors: the malformed samples, and the field each error must name.
var wantErrors = map[string]FieldError{
	"malformed-missing-id.json":           {"id", "missing"},
	"malformed-data-array.json":           {"data", "not an object"},
	"malformed-event-name-number.json":    {"data.eventName", "not a string"},
	"malformed-user-identity-string.json": {"data.userIdentity", "not an object"},
	"malformed-bad-account.json":          {"aliyunaccountid", "not an account id"},
	"malformed-connection-id-object.json": {"data.requestParameters.VpnConnectionId", "not a string or number"},
	"malformed-no-region.json":            {"data.acsRegion", "missing"},
	"malformed-create-without-id.json":    {"data.responseElements.VpnConnectionId", "missing"},
	"timer-event.json":                    {"specversion", "missing"},
}

// Not JSON at all: no field to name.
var wantSyntaxError = map[string]bool{"malformed-truncated.json": true}

func TestEverySampleHasAnExpectation(t *testing.T) {
	for _, name := range sampleNames(t) {
		_, ok1 := wantEvents[name]
		_, ok2 := wantErrors[name]
		if !ok1 && !ok2 && !wantSyntaxError[name] {
			t.Errorf("%s: no expectation in the tests", name)
		}
	}
	for name := range wantEvents {
		readSample(t, name)
	}
	for name := range wantErrors {
		readSample(t, name)
	}
}

func TestParseSamples(t *testing.T) {
	for name, want := range wantEvents {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(readSample(t, name))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse:\n got %+v\nwant %+v", *got, *want)
			}
		})
	}
}

func TestParseMalformedSamples(t *testing.T) {
	for name, want := range wantErrors {
		t.Run(name, func(t *testing.T) {
			ev, err := Parse(readSample(t, name))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse = %+v, %v; want a FieldError", ev, err)
			}
			if *fe != want {
				t.Errorf("error %+v, want %+v", *fe, want)
			}
			if !strings.Contains(err.Error(), want.Field) {
				t.Errorf("error %q does not name %s", err, want.Field)
			}
		})
	}
	for name := range wantSyntaxError {
		_, err := Parse(readSample(t, name))
		if err == nil || !strings.HasPrefix(err.Error(), "event: not valid JSON") {
			t.Errorf("%s: error %v, want a JSON syntax error", name, err)
		}
	}
}

// TestParseShapes covers the shapes the samples do not: tolerated spellings
// and wrong types that must be errors.
func TestParseShapes(t *testing.T) {
	const env = `{"id":"e1","source":"acs.actiontrail","specversion":"1.0","type":"vpc:ActionTrail:ApiCall",` +
		`"time":"2025-01-02T03:04:05+08:00","aliyunaccountid":"1000000000000001","aliyunregionid":"cn-hangzhou","data":%s}`
	data := func(s string) string { return fmt.Sprintf(env, s) }
	const modify = `"eventName":"ModifyVpnConnectionAttribute"`

	tests := []struct {
		name    string
		body    string
		wantErr string // substring of the error; "" for success
		check   func(*testing.T, *Event)
	}{
		{name: "empty", body: ``, wantErr: "event: not valid JSON"},
		{name: "array", body: `[]`, wantErr: "event: not a JSON object"},
		{name: "null", body: `null`, wantErr: "event: not a JSON object"},
		{name: "string", body: `"x"`, wantErr: "event: not a JSON object"},
		{name: "empty id", body: `{"id":"","source":"s","specversion":"1.0","type":"t"}`, wantErr: "event field id: empty"},
		{name: "numeric id", body: `{"id":5,"source":"s","specversion":"1.0","type":"t"}`, wantErr: "event field id: not a string"},
		{name: "long id", body: `{"id":"` + strings.Repeat("a", 300) + `","source":"s","specversion":"1.0","type":"t"}`,
			wantErr: "event field id: too long"},
		{name: "no data", body: `{"id":"e","source":"s","specversion":"1.0","type":"vpc:ActionTrail:ApiCall"}`,
			wantErr: "event field data: missing"},
		{name: "data as JSON string", body: data(`"{\"eventName\":\"CreateVSwitch\"}"`),
			check: func(t *testing.T, e *Event) {
				if e.Name != "CreateVSwitch" || e.Relevant {
					t.Errorf("got %+v", e)
				}
			}},
		{name: "data string not an object", body: data(`"[1]"`), wantErr: "event field data: not an object"},
		{name: "no eventName", body: data(`{}`), wantErr: "event field data.eventName: missing"},
		{name: "userAgent number", body: data(`{"eventName":"CreateVSwitch","userAgent":7}`),
			wantErr: "event field data.userAgent: not a string"},
		{name: "principalId object", body: data(`{"eventName":"CreateVSwitch","userIdentity":{"principalId":{}}}`),
			wantErr: "event field data.userIdentity.principalId: not a string or number"},
		{name: "requestParameters as JSON string, envelope time fallback",
			body: data(`{` + modify + `,"requestParameters":"{\"VpnConnectionId\":\"vco-1\",\"EnableDpd\":\"true\"}"}`),
			check: func(t *testing.T, e *Event) {
				if !e.Relevant || e.ConnectionID != "vco-1" || !slices.Equal(e.Changed, []string{"EnableDpd"}) {
					t.Errorf("got %+v", e)
				}
				if !e.Time.Equal(utc("2025-01-01T19:04:05Z")) || e.Time.Location() != time.UTC {
					t.Errorf("time %v, want the envelope time in UTC", e.Time)
				}
			}},
		{name: "requestParameters array", body: data(`{` + modify + `,"requestParameters":[1]}`),
			wantErr: "event field data.requestParameters: not an object"},
		{name: "requestParameters empty array, id in response",
			body: data(`{` + modify + `,"requestParameters":[],"responseElements":{"VpnConnectionId":"vco-2"}}`),
			check: func(t *testing.T, e *Event) {
				if e.ConnectionID != "vco-2" || e.Changed != nil {
					t.Errorf("got %+v", e)
				}
			}},
		{name: "requestParameterJson fallback",
			body: data(`{` + modify + `,"requestParameterJson":"{\"VpnConnectionId\":\"vco-3\",\"Name\":\"n\"}"}`),
			check: func(t *testing.T, e *Event) {
				if e.ConnectionID != "vco-3" || !slices.Equal(e.Changed, []string{"Name"}) {
					t.Errorf("got %+v", e)
				}
			}},
		{name: "parameter names in another case",
			body: data(`{` + modify + `,"requestParameters":{"vpnConnectionId":"vco-4","ikeconfig":"x","ENABLEDPD":"false","Psk":"p"}}`),
			check: func(t *testing.T, e *Event) {
				if e.ConnectionID != "vco-4" || !slices.Equal(e.Changed, []string{"EnableDpd", "IkeConfig"}) {
					t.Errorf("got %+v", e)
				}
			}},
		{name: "connection id with a path in it",
			body:    data(`{` + modify + `,"requestParameters":{"VpnConnectionId":"vco-1/../x"}}`),
			wantErr: "event field data.requestParameters.VpnConnectionId: not a connection id"},
		{name: "tunnel id wrong type",
			body:    data(`{"eventName":"ModifyTunnelAttribute","requestParameters":{"VpnConnectionId":"vco-1","TunnelId":[]}}`),
			wantErr: "event field data.requestParameters.TunnelId: not a string or number"},
		{name: "no time anywhere",
			body: `{"id":"e","source":"s","specversion":"1.0","type":"vpc:ActionTrail:ApiCall","aliyunaccountid":"1","aliyunregionid":"cn-hangzhou",` +
				`"data":{` + modify + `,"eventTime":"yesterday","requestParameters":{"VpnConnectionId":"vco-1"}}}`,
			wantErr: "event field data.eventTime: missing or not an RFC 3339 time"},
		{name: "no account anywhere",
			body: `{"id":"e","source":"s","specversion":"1.0","type":"vpc:ActionTrail:ApiCall","aliyunregionid":"cn-hangzhou",` +
				`"data":{` + modify + `,"eventTime":"2025-01-01T00:00:00Z","requestParameters":{"VpnConnectionId":"vco-1"}}}`,
			wantErr: "event field aliyunaccountid: missing"},
		{name: "account from userIdentity",
			body: `{"id":"e","source":"s","specversion":"1.0","type":"vpc:ActionTrail:ApiCall","aliyunregionid":"cn-hangzhou",` +
				`"data":{` + modify + `,"eventTime":"2025-01-01T00:00:00Z","userIdentity":{"accountId":42},"requestParameters":{"VpnConnectionId":"vco-1"}}}`,
			check: func(t *testing.T, e *Event) {
				if e.AccountID != "42" {
					t.Errorf("got %+v", e)
				}
			}},
		{name: "bad region", body: data(`{` + modify + `,"acsRegion":"cn hangzhou","requestParameters":{"VpnConnectionId":"vco-1"}}`),
			wantErr: "event field data.acsRegion: not a region id"},
		{name: "irrelevant event with odd region and account is no error",
			body: `{"id":"e","source":"s","specversion":"1.0","type":"vpc:ActionTrail:ApiCall","aliyunaccountid":"x",` +
				`"data":{"eventName":"CreateVSwitch","acsRegion":"Nowhere Land"}}`,
			check: func(t *testing.T, e *Event) {
				if e.Relevant || e.Region != "" || e.AccountID != "" {
					t.Errorf("got %+v", e)
				}
			}},
		{name: "create with its id in the response",
			body: data(`{"eventName":"CreateVpnConnection","requestParameters":{},"responseElements":{"VpnConnectionId":"vco-9"}}`),
			check: func(t *testing.T, e *Event) {
				if !e.Relevant || e.ConnectionID != "vco-9" || e.Changed != nil {
					t.Errorf("got %+v", e)
				}
			}},
		{name: "same name from another product is not relevant",
			body: strings.Replace(data(`{"eventName":"CreateVpnConnection"}`), `"vpc:`, `"smartag:`, 1),
			check: func(t *testing.T, e *Event) {
				if e.Relevant {
					t.Errorf("smartag event relevant: %+v", e)
				}
			}},
		{name: "actiontrail prefix with the Vpc service",
			body: strings.Replace(data(`{`+modify+`,"serviceName":"Vpc","requestParameters":{"VpnConnectionId":"vco-5"}}`), `"vpc:`, `"actiontrail:`, 1),
			check: func(t *testing.T, e *Event) {
				if !e.Relevant || e.ConnectionID != "vco-5" {
					t.Errorf("got %+v", e)
				}
			}},
		{name: "actiontrail prefix with another service",
			body: strings.Replace(data(`{`+modify+`,"serviceName":"Ecs"}`), `"vpc:`, `"actiontrail:`, 1),
			check: func(t *testing.T, e *Event) {
				if e.Relevant {
					t.Errorf("got %+v", e)
				}
			}},
		{name: "serviceName not a string", body: data(`{"eventName":"CreateVSwitch","serviceName":["Vpc"]}`),
			wantErr: "event field data.serviceName: not a string"},
		{name: "too large", body: `{"id":"` + strings.Repeat("a", MaxBody) + `"}`, wantErr: "event: larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse = %+v, %v; want error containing %q", ev, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.check(t, ev)
		})
	}
}

// canary matches the secret placeholders planted in the samples: pre-shared
// keys, BGP auth keys and access key ids.
var canary = regexp.MustCompile(`CANARY-EVT-[A-Z]+-[0-9a-z]+`)

// TestNoSecretReachesEvent: no pre-shared key, auth key or access key id of
// any sample reaches any field of the Event, ActorString, DedupeKey or an
// error.
func TestNoSecretReachesEvent(t *testing.T) {
	planted := 0
	for _, name := range sampleNames(t) {
		body := readSample(t, name)
		secrets := canary.FindAllString(string(body), -1)
		planted += len(secrets)
		ev, err := Parse(body)
		var out string
		if err != nil {
			out = err.Error()
		} else {
			out = fmt.Sprintf("%#v %s %s", *ev, ev.ActorString(), ev.DedupeKey())
		}
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s: secret %s reached the output: %s", name, s, out)
			}
		}
		if strings.Contains(out, "CANARY") || strings.Contains(out, "LTAI") {
			t.Errorf("%s: part of a secret reached the output: %s", name, out)
		}
	}
	if planted < 20 {
		t.Fatalf("only %d canaries planted in the samples", planted)
	}
}

func TestIsCloudEvent(t *testing.T) {
	notCloudEvents := map[string]bool{"timer-event.json": true, "malformed-missing-id.json": true, "malformed-truncated.json": true}
	for _, name := range sampleNames(t) {
		if got := IsCloudEvent(readSample(t, name)); got == notCloudEvents[name] {
			t.Errorf("IsCloudEvent(%s) = %v", name, got)
		}
	}
	for _, body := range []string{``, `{}`, `[]`, `null`, `{"triggerTime":"x"}`, `{"id":"1","source":"s","type":"t"}`,
		`{"id":"1","source":"s","type":"t","specversion":1}`, `{"id":" ","source":"s","type":"t","specversion":"1.0"}`} {
		if IsCloudEvent([]byte(body)) {
			t.Errorf("IsCloudEvent(%s) = true", body)
		}
	}
	if !IsCloudEvent([]byte(` {"id":"1","source":"s","type":"t","specversion":"1.0"}`)) {
		t.Error("IsCloudEvent of a minimal CloudEvent = false")
	}
}

func TestDedupeKey(t *testing.T) {
	a, err := Parse(readSample(t, "api-modify-weakens.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(readSample(t, "api-modify-weakens-redelivered.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a.DedupeKey() != b.DedupeKey() || a.DedupeKey() != "acs.actiontrail/7c1f6a2e-0d4b-4e1a-9b7a-000000000001" {
		t.Errorf("redelivery keys %q and %q", a.DedupeKey(), b.DedupeKey())
	}
	seen := map[string]string{}
	for name := range wantEvents {
		if name == "api-modify-weakens-redelivered.json" {
			continue
		}
		ev, err := Parse(readSample(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if other, dup := seen[ev.DedupeKey()]; dup {
			t.Errorf("%s and %s share a dedupe key", name, other)
		}
		seen[ev.DedupeKey()] = name
	}
}

// A redelivery has the digest of the first delivery; the same id over
// another call or connection has another.
func TestDigest(t *testing.T) {
	parse := func(body []byte) *Event {
		t.Helper()
		ev, err := Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	first := parse(readSample(t, "api-modify-weakens.json"))
	again := parse(readSample(t, "api-modify-weakens-redelivered.json"))
	if first.Digest() == "" || first.Digest() != again.Digest() {
		t.Errorf("a redelivery's digest %q differs from the first's %q", again.Digest(), first.Digest())
	}
	other := parse(bytes.ReplaceAll(readSample(t, "api-modify-weakens.json"), []byte("vco-testmodify0001"), []byte("vco-testmodify0009")))
	if other.DedupeKey() != first.DedupeKey() || other.Digest() == first.Digest() {
		t.Errorf("another connection under the same id: key %q digest %q, first %q %q", other.DedupeKey(), other.Digest(), first.DedupeKey(), first.Digest())
	}
	// The key in the request changes no digest: none is kept.
	otherKey := parse(bytes.ReplaceAll(readSample(t, "api-modify-weakens.json"), []byte("CANARY-EVT-PSK-1a2b3c"), []byte("CANARY-EVT-PSK-other")))
	if otherKey.Digest() != first.Digest() {
		t.Error("the digest depends on the request's key")
	}
}

func TestActorString(t *testing.T) {
	tests := []struct {
		actor Actor
		want  string
	}{
		{Actor{Type: "ram-user", Name: "alice"}, "RAM user alice"},
		{Actor{Type: "assumed-role", Name: "vpn-admin", SessionName: "bob"}, "role vpn-admin (session bob)"},
		{Actor{Type: "assumed-role", Name: "vpn-admin"}, "role vpn-admin"},
		{Actor{Type: "root-account", Name: "root", AccountID: acct}, "root account " + acct},
		{Actor{Type: "root-account", PrincipalID: acct}, "root account " + acct},
		{Actor{Type: "root-account"}, "root account"},
		{Actor{Type: "system", Name: "vpc.aliyuncs.com"}, "Alibaba Cloud service vpc.aliyuncs.com"},
		{Actor{Type: "saml-user", Name: "dave"}, "saml-user dave"},
		{Actor{Type: "ram-user"}, "RAM user (unnamed)"},
		{Actor{Name: "someone"}, "someone"},
		{Actor{}, "unknown caller"},
	}
	for _, tt := range tests {
		e := &Event{Actor: tt.actor}
		if got := e.ActorString(); got != tt.want {
			t.Errorf("ActorString(%+v) = %q, want %q", tt.actor, got, tt.want)
		}
	}
	// From the samples, end to end.
	for name, want := range map[string]string{
		"console-modify-assumed-role.json": "role vpn-admin (session bob@example.com)",
		"api-create.json":                  "root account " + acct,
		"service-delete-system.json":       "Alibaba Cloud service vpc.aliyuncs.com",
	} {
		ev, err := Parse(readSample(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.ActorString(); got != want {
			t.Errorf("%s: ActorString = %q, want %q", name, got, want)
		}
	}
}

func TestAssumedRoleWithoutSessionInUserName(t *testing.T) {
	body := `{"id":"e","source":"s","specversion":"1.0","type":"vpc:ActionTrail:ApiCall","data":{"eventName":"CreateVSwitch",` +
		`"userIdentity":{"type":"assumed-role","userName":"ops","principalId":"3000:deploy-7"}}}`
	ev, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Actor.Name != "ops" || ev.Actor.SessionName != "deploy-7" {
		t.Errorf("actor %+v", ev.Actor)
	}
}

// TestTextIsBounded: untrusted text is kept as-is but cut at 256 runes,
// without splitting a character.
func TestTextIsBounded(t *testing.T) {
	long := strings.Repeat("é", 300) + `\u001b[31m`
	body := `{"id":"e","source":"s","specversion":"1.0","type":"vpc:ActionTrail:ApiCall","data":{"eventName":"CreateVSwitch",` +
		`"userAgent":"` + long + `","sourceIpAddress":"` + long + `","requestId":"` + long + `",` +
		`"userIdentity":{"type":"ram-user","userName":"` + long + `"}}}`
	ev, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{ev.UserAgent, ev.SourceIP, ev.RequestID, ev.Actor.Name} {
		if n := utf8.RuneCountInString(s); n != maxText || !utf8.ValidString(s) || strings.ContainsRune(s, 0x1b) {
			t.Errorf("kept %d runes (valid %v)", n, utf8.ValidString(s))
		}
	}
	short := "tab\there"
	if got := bound(short); got != short {
		t.Errorf("bound(%q) = %q", short, got)
	}
}

// TestParamsMatchSDK keeps the parameter lists behind Changed in step with
// the VPC SDK's request structs: every top-level request field is either
// named in Changed or deliberately left out as an identifier.
func TestParamsMatchSDK(t *testing.T) {
	identifiers := []string{"ClientToken", "DryRun", "OwnerAccount", "OwnerId", "RegionId", "ResourceOwnerAccount",
		"ResourceOwnerId", "TunnelId", "VpnConnectionId", "VpnGatewayId"}
	requests := map[string]any{
		"CreateVpnConnection":          vpc.CreateVpnConnectionRequest{},
		"ModifyVpnConnectionAttribute": vpc.ModifyVpnConnectionAttributeRequest{},
		"ModifyTunnelAttribute":        vpc.ModifyTunnelAttributeRequest{},
		"DeleteVpnConnection":          vpc.DeleteVpnConnectionRequest{},
		"CreateVpnAttachment":          vpc.CreateVpnAttachmentRequest{},
		"ModifyVpnAttachmentAttribute": vpc.ModifyVpnAttachmentAttributeRequest{},
		"DeleteVpnAttachment":          vpc.DeleteVpnAttachmentRequest{},
	}
	if !slices.Equal(slices.Sorted(maps.Keys(requests)), Names()) {
		t.Fatalf("Names() = %v, want %v", Names(), slices.Sorted(maps.Keys(requests)))
	}
	for name, req := range requests {
		var want []string
		tp := reflect.TypeOf(req)
		for i := range tp.NumField() {
			field, _, _ := strings.Cut(tp.Field(i).Tag.Get("json"), ",")
			if field != "" && !slices.Contains(identifiers, field) {
				want = append(want, field)
			}
		}
		slices.Sort(want)
		got := slices.Sorted(slices.Values(apis[name].params))
		if !slices.Equal(got, want) {
			t.Errorf("%s: params %v, SDK has %v", name, got, want)
		}
	}
}
