package change

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse: Parse never panics, keeps its invariants, and is blind to
// secrets. The last is tested as non-interference: replacing every value in a
// secret-bearing place (request parameters other than the connection and
// tunnel ids, response elements other than the connection id, the access key
// id) with a canary must not change Parse's result at all, and so no canary
// can show up in it.
func FuzzParse(f *testing.F) {
	for _, name := range sampleNames(f) {
		f.Add(readSample(f, name))
	}
	f.Add([]byte(`{"id":"e","source":"s","specversion":"1.0","type":"vpc:ActionTrail:ApiCall","aliyunaccountid":"1",` +
		`"data":"{\"eventName\":\"ModifyTunnelAttribute\",\"acsRegion\":\"cn-hangzhou\",\"eventTime\":\"2025-01-01T00:00:00Z\",` +
		`\"requestParameters\":\"{\\\"vpnconnectionid\\\":\\\"vco-1\\\",\\\"TunnelId\\\":\\\"t-1\\\",\\\"TunnelOptionsSpecification.TunnelIkeConfig.Psk\\\":\\\"k\\\"}\"}"}`))
	// Shapes the samples lack: ids spelt in another case (twice), a data
	// object held in a string with leading space, parameters as an array.
	f.Add([]byte(`{"id":"e","source":"s","specversion":"1.0","type":"vpc:ActionTrail:ApiCall","aliyunaccountid":"1",` +
		`"data":" {\"eventName\":\"ModifyVpnConnectionAttribute\",\"acsRegion\":\"cn-hangzhou\",\"eventTime\":\"2025-01-01T00:00:00Z\",` +
		`\"requestParameters\":{\"VPNCONNECTIONID\":\"vco-a\",\"vpnConnectionId\":\"vco-b\",\"IkeConfig\":\"{\\\"Psk\\\":1}\"}}"}`))
	f.Add([]byte(`{"id":"e","source":"s","specversion":"1.0","type":"vpc:ActionTrail:ApiCall","aliyunaccountid":"1","aliyunregionid":"r",` +
		`"data":{"eventName":"DeleteVpnAttachment","eventTime":"2025-01-01T00:00:00Z","requestParameters":["k"],"responseElements":[]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Parse(body)
		checkInvariants(t, ev, err)

		plain, redacted, ok := redactedPair(body)
		if !ok {
			return
		}
		evA, errA := Parse(plain)
		evB, errB := Parse(redacted)
		if fmt.Sprint(errA) != fmt.Sprint(errB) || !reflect.DeepEqual(evA, evB) {
			t.Fatalf("a secret value changed the result:\nplain    %s\n -> %+v, %v\nredacted %s\n -> %+v, %v",
				plain, evA, errA, redacted, evB, errB)
		}
		if !bytes.Contains(plain, []byte(fuzzCanary)) {
			out := fmt.Sprint(errB)
			if evB != nil {
				out += fmt.Sprintf("%#v %s %s", *evB, evB.ActorString(), evB.DedupeKey())
			}
			if strings.Contains(out, fuzzCanary) {
				t.Fatalf("canary reached the output: %s", out)
			}
		}
	})
}

func checkInvariants(t *testing.T, ev *Event, err error) {
	t.Helper()
	if err != nil {
		if ev != nil {
			t.Fatalf("both an event and an error: %v", err)
		}
		if !utf8.ValidString(err.Error()) || len(err.Error()) > 200 {
			t.Fatalf("error not short, valid text: %q", err)
		}
		return
	}
	if ev == nil {
		t.Fatal("nil event without an error")
	}
	for _, s := range []string{ev.ID, ev.Source, ev.Type} {
		if s == "" || len(s) > maxText {
			t.Fatalf("envelope field %q empty or too long", s)
		}
	}
	for _, s := range []string{ev.Name, ev.RequestID, ev.SourceIP, ev.UserAgent, ev.ErrorCode, ev.Actor.Type, ev.Actor.Name,
		ev.Actor.PrincipalID, ev.Actor.AccountID, ev.Actor.SessionName, ev.ID, ev.Source, ev.Type} {
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxText {
			t.Fatalf("unbounded or invalid text %q", s)
		}
	}
	if ev.Region != "" && !regionPattern.MatchString(ev.Region) {
		t.Fatalf("region %q", ev.Region)
	}
	if ev.AccountID != "" && !accountPattern.MatchString(ev.AccountID) {
		t.Fatalf("account %q", ev.AccountID)
	}
	if ev.TunnelID != "" && !idPattern.MatchString(ev.TunnelID) {
		t.Fatalf("tunnel %q", ev.TunnelID)
	}
	if ev.Relevant {
		if !idPattern.MatchString(ev.ConnectionID) || ev.Region == "" || ev.AccountID == "" || ev.Time.IsZero() || ev.ErrorCode != "" {
			t.Fatalf("relevant event incomplete: %+v", ev)
		}
		spec := apis[ev.Name]
		if ev.Deleted != spec.deleted {
			t.Fatalf("Deleted %v for %s", ev.Deleted, ev.Name)
		}
		for i, c := range ev.Changed {
			if !slices.Contains(spec.params, c) || (i > 0 && ev.Changed[i-1] >= c) {
				t.Fatalf("Changed %v for %s", ev.Changed, ev.Name)
			}
		}
	} else if ev.ConnectionID != "" || ev.Changed != nil || ev.Deleted || ev.TunnelID != "" {
		t.Fatalf("irrelevant event with call details: %+v", ev)
	}
}

const fuzzCanary = "CANARY-FUZZ-7e1d"

// redactedPair re-encodes body twice from one decoded tree: as it is, and with
// every secret-bearing value replaced by a canary of the same kind (null
// stays null, "" stays "", objects keep their keys, a string holding a JSON
// object stays one). ok is false when body is not a JSON object.
func redactedPair(body []byte) (plain, redacted []byte, ok bool) {
	if !json.Valid(body) || len(body) > MaxBody/4 {
		return nil, nil, false
	}
	top, isObj := decodeAny(body).(map[string]any)
	if !isObj {
		return nil, nil, false
	}
	plain, err := json.Marshal(top)
	if err != nil {
		return nil, nil, false
	}
	red := deepCopy(top).(map[string]any)
	red["data"] = inObject(red["data"], redactData)
	redacted, err = json.Marshal(red)
	if err != nil {
		return nil, nil, false
	}
	return plain, redacted, true
}

func decodeAny(b []byte) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	return v
}

// inObject applies fn to v if it is an object, or to the object a string
// holds, classified exactly as Parse classifies it.
func inObject(v any, fn func(map[string]any)) any {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		return x
	case string:
		raw, _ := json.Marshal(x)
		m, err := decodeObject(raw)
		if err != nil || m == nil {
			return x
		}
		inner, isObj := decodeAny([]byte(x)).(map[string]any)
		if !isObj {
			return x
		}
		fn(inner)
		b, err := json.Marshal(inner)
		if err != nil {
			return x
		}
		return string(b)
	}
	return v
}

func redactData(data map[string]any) {
	for _, name := range []string{"requestParameters", "requestParameterJson"} {
		if v, present := data[name]; present {
			data[name] = redactMembers(v, "VpnConnectionId", "TunnelId")
		}
	}
	if v, present := data["responseElements"]; present {
		data["responseElements"] = redactMembers(v, "VpnConnectionId")
	}
	if ui, isObj := data["userIdentity"].(map[string]any); isObj {
		for k, v := range ui {
			if strings.EqualFold(k, "accessKeyId") {
				ui[k] = redactLeaf(v)
			}
		}
	}
}

// redactMembers redacts every member of an object (or of the object a string
// holds) except the named ones; any other shape is redacted as a leaf, which
// keeps its kind and so Parse's verdict on it.
func redactMembers(v any, keep ...string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if !slices.ContainsFunc(keep, func(n string) bool { return strings.EqualFold(n, k) }) {
				x[k] = redactLeaf(val)
			}
		}
		return x
	case string:
		out := inObject(x, func(m map[string]any) { redactMembers(m, keep...) })
		if s, isStr := out.(string); isStr && s == x && strings.TrimSpace(x) != "" && !strings.HasPrefix(strings.TrimSpace(x), "{") {
			return fuzzCanary // a non-object string stays a non-object string
		}
		return out
	}
	return redactLeaf(v)
}

func redactLeaf(v any) any {
	switch x := v.(type) {
	case string:
		if x == "" {
			return x
		}
		return fuzzCanary
	case json.Number:
		return json.Number("31337")
	case bool:
		return !x
	case map[string]any:
		for k, val := range x {
			x[k] = redactLeaf(val)
		}
		return x
	case []any:
		for i, val := range x {
			x[i] = redactLeaf(val)
		}
		return x
	}
	return v
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[k] = deepCopy(val)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, val := range x {
			l[i] = deepCopy(val)
		}
		return l
	}
	return v
}

// TestRedactionReachesSecrets keeps FuzzParse's property meaningful: on the
// samples, the redacted twin has lost every planted secret, yet parses to the
// same result (checked by the fuzz target's seed run).
func TestRedactionReachesSecrets(t *testing.T) {
	for _, name := range []string{"api-modify-weakens.json", "api-create-dual-tunnel.json", "api-modify-tunnel.json"} {
		plain, redacted, ok := redactedPair(readSample(t, name))
		if !ok {
			t.Fatalf("%s: no redacted pair", name)
		}
		if !canary.Match(plain) || canary.Match(redacted) || !bytes.Contains(redacted, []byte(fuzzCanary)) {
			t.Errorf("%s: redaction missed a secret:\n%s", name, redacted)
		}
		if !bytes.Contains(redacted, []byte("vco-test")) {
			t.Errorf("%s: redaction removed the connection id", name)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	body := readSample(b, "api-create-dual-tunnel.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}
