package acsfake_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/vpncheck/vpncheck/checker/acsfake"
)

var (
	alice = acsfake.Credential{AccessKeyID: "LTAIalice", AccessKeySecret: "alice-secret", Label: "111"}
	bob   = acsfake.Credential{AccessKeyID: "STS.bob", AccessKeySecret: "bob-secret", SecurityToken: "bob-token", Label: "222"}
)

// recorder verifies every request and keeps it for replay.
type recorder struct {
	v    *acsfake.Verifier
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
	got  []string // label or error code per request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	label, e := rec.v.Verify(r, body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, r.Clone(r.Context()))
	rec.body = append(rec.body, body)
	if e != nil {
		rec.got = append(rec.got, e.Code)
	} else {
		rec.got = append(rec.got, label)
	}
	rec.mu.Unlock()
	if e != nil {
		acsfake.WriteError(w, r, "REQ-1", e)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"RequestId":"REQ-0"}`)
}

func call(t *testing.T, url string, c acsfake.Credential, style string, body []byte) error {
	t.Helper()
	conf := &openapiutil.Config{
		AccessKeyId: tea.String(c.AccessKeyID), AccessKeySecret: tea.String(c.AccessKeySecret),
		Endpoint: tea.String(strings.TrimPrefix(url, "http://")), Protocol: tea.String("HTTP"),
		ReadTimeout: tea.Int(5000), ConnectTimeout: tea.Int(5000),
	}
	if c.SecurityToken != "" {
		conf.SecurityToken = tea.String(c.SecurityToken)
	}
	cl, err := openapi.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	params := &openapiutil.Params{
		Action: tea.String("Do"), Version: tea.String("2020-01-01"), Protocol: tea.String("HTTP"),
		Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"),
		Style: tea.String(style), ReqBodyType: tea.String("json"), BodyType: tea.String("json"),
	}
	req := &openapiutil.OpenApiRequest{Query: map[string]*string{"Name": tea.String("a b*~ü"), "Page": tea.String("1")}}
	if style == "ROA" {
		params.Pathname = tea.String("/2020-01-01/things/x-1/run")
		params.ReqBodyType = tea.String("byte")
		req.Body = body
	}
	_, err = cl.CallApi(params, req, &dara.RuntimeOptions{})
	return err
}

// TestVerify: the generic client's RPC and ROA requests pass for each of
// several credentials, labelled; a wrong secret, key or token does not.
func TestVerify(t *testing.T) {
	rec := &recorder{v: acsfake.NewVerifier(alice, bob)}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	for _, tc := range []struct {
		name  string
		cred  acsfake.Credential
		style string
		want  string
	}{
		{"alice rpc", alice, "RPC", "111"},
		{"alice roa", alice, "ROA", "111"},
		{"bob sts", bob, "RPC", "222"},
		{"wrong secret", acsfake.Credential{AccessKeyID: "LTAIalice", AccessKeySecret: "x"}, "RPC", "SignatureDoesNotMatch"},
		{"unknown key", acsfake.Credential{AccessKeyID: "LTAIcarol", AccessKeySecret: "alice-secret"}, "RPC", "InvalidAccessKeyId.NotFound"},
		{"bob without token", acsfake.Credential{AccessKeyID: "STS.bob", AccessKeySecret: "bob-secret"}, "RPC", "MissingSecurityToken"},
		{"alice with token", acsfake.Credential{AccessKeyID: "LTAIalice", AccessKeySecret: "alice-secret", SecurityToken: "t"}, "RPC", "InvalidSecurityToken.Malformed"},
		{"bob other token", acsfake.Credential{AccessKeyID: "STS.bob", AccessKeySecret: "bob-secret", SecurityToken: "t"}, "RPC", "InvalidSecurityToken.MismatchWithAccessKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := call(t, srv.URL, tc.cred, tc.style, []byte(`{"binary":"\u0000\u00ff"}`))
			got := rec.got[len(rec.got)-1]
			if got != tc.want {
				t.Fatalf("verified as %q, want %q (client error %v)", got, tc.want, err)
			}
			if (err == nil) != (got == "111" || got == "222") {
				t.Errorf("client error %v", err)
			}
		})
	}
}

// TestReplay: a request replayed as it was is refused for its nonce; with
// its date moved it is refused for the date; with its body changed, for
// the payload hash.
func TestReplay(t *testing.T) {
	rec := &recorder{v: acsfake.NewVerifier(alice)}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	if err := call(t, srv.URL, alice, "ROA", []byte("payload")); err != nil {
		t.Fatal(err)
	}
	orig, body := rec.reqs[0], rec.body[0]
	for _, tc := range []struct {
		name   string
		change func(r *http.Request) []byte
		want   string
	}{
		{"as is", func(*http.Request) []byte { return body }, "SignatureNonceUsed"},
		{"old date", func(r *http.Request) []byte {
			r.Header.Set("x-acs-date", time.Now().Add(-20*time.Minute).UTC().Format("2006-01-02T15:04:05Z"))
			return body
		}, "InvalidTimeStamp.Expired"},
		{"other body", func(*http.Request) []byte { return []byte("payloaD") }, "SignatureDoesNotMatch"},
		{"unsigned x-acs header", func(r *http.Request) []byte { r.Header.Set("x-acs-extra", "1"); return body }, "IncompleteSignature"},
		{"other path", func(r *http.Request) []byte {
			r.URL.Path = "/2020-01-01/things/x-2/run"
			return body
		}, "SignatureDoesNotMatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := orig.Clone(orig.Context())
			r.Header = orig.Header.Clone()
			b := tc.change(r)
			if _, e := rec.v.Verify(r, b); e == nil || e.Code != tc.want {
				t.Fatalf("got %v, want %s", e, tc.want)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "http://vpc.example/", nil)
	acsfake.WriteError(w, r, "REQ-9", &acsfake.Error{Status: 403, Code: "Forbidden.RAM", Message: "no"})
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"RequestId": "REQ-9", "HostId": "vpc.example", "Code": "Forbidden.RAM", "Message": "no",
		"Recommend": "https://api.aliyun.com/troubleshoot?q=Forbidden.RAM"}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %q, want %q", k, body[k], v)
		}
	}
	if w.Code != 403 || w.Header().Get("x-acs-request-id") != "REQ-9" || len(body) != len(want) {
		t.Errorf("status %d, headers %v, body %v", w.Code, w.Header(), body)
	}
}

// TestVerifyRPCMessage documents why clients must redact STS's signature
// error: its message holds the string to sign, security token included.
func TestVerifyRPCMessage(t *testing.T) {
	v := acsfake.NewVerifier(bob)
	form := "AccessKeyId=STS.bob&SecurityToken=bob-token&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0" +
		"&SignatureNonce=n1&Timestamp=" + time.Now().UTC().Format("2006-01-02T15:04:05Z") + "&Signature=wrong&Action=AssumeRole"
	r := httptest.NewRequest("POST", "https://sts.example/", bytes.NewBufferString(form))
	p, _ := url.ParseQuery(form)
	_, e := v.VerifyRPC(r, p)
	if e == nil || e.Code != "SignatureDoesNotMatch" || !strings.Contains(e.Message, "bob-token") {
		t.Fatalf("got %+v, want SignatureDoesNotMatch whose message holds the token", e)
	}
}
