package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscred "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/loader"

	"github.com/vpncheck/vpncheck/checker/state/ossfake"
)

// teamBundle builds the example team rule into a bundle as
// policies/bundle.sh does (OPA's own bundle writer), signed with key, with
// the rule's required tags set to tags.
func teamBundle(t *testing.T, revision, key string, tags []string) []byte {
	t.Helper()
	res, err := loader.NewFileLoader().WithFS(os.DirFS("../examples/team-policies/custom_rule")).WithRegoVersion(ast.RegoV1).
		Filtered([]string{"."}, func(_ string, info fs.FileInfo, _ int) bool { return strings.HasSuffix(info.Name(), "_test.rego") })
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"vpncheck": map[string]any{"config": map[string]any{
		"custom": map[string]any{"missing-required-tag": map[string]any{"required_tags": tags}},
	}}}
	roots := []string{"vpncheck/rules/missing_required_tag", "vpncheck/config"}
	b := bundle.Bundle{Data: data, Manifest: bundle.Manifest{Revision: revision, Roots: &roots}}
	b.Manifest.Init()
	for name, m := range res.Modules {
		p := strings.TrimPrefix(name, "./")
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: p, Path: p, Raw: m.Raw, Parsed: m.Parsed})
	}
	if key != "" {
		if err := b.GenerateSignature(bundle.NewSigningConfig(key, "RS256", ""), "", false); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func rsaPEM(t *testing.T) (private, public string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(k)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}

// upload puts (or replaces) an object as a team's CI would, with the SDK.
func upload(t *testing.T, f *ossfake.Server, bucket, key string, data []byte) {
	t.Helper()
	c := oss.NewClient(oss.NewConfig().WithRegion("cn-hangzhou").WithEndpoint(f.URL).
		WithCredentialsProvider(osscred.NewStaticCredentialsProvider(fcCreds.AccessKeyID, fcCreds.AccessKeySecret, fcCreds.SecurityToken)))
	if _, err := c.PutObject(t.Context(), &oss.PutObjectRequest{Bucket: &bucket, Key: &key, Body: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
}

// A team bundle in OSS reaches the deployed function: loaded by the first
// invocation, replaced between two invocations and in effect on the
// second, its revision in the Slack footer; a bundle that fails its
// signature leaves the instance without rules, loudly.
func TestFunctionPolicyBundleFromOSS(t *testing.T) {
	t.Parallel() // the binary under fakes of its own
	private, public := rsaPEM(t)
	otherPrivate, _ := rsaPEM(t)
	f := ossfake.New(t, ossfake.Config{AccessKeyID: fcCreds.AccessKeyID, AccessKeySecret: fcCreds.AccessKeySecret,
		SecurityToken: fcCreds.SecurityToken, Buckets: []string{"team-policies"}})
	upload(t, f, "team-policies", "vpncheck/team.tar.gz", teamBundle(t, "rev-1", private, []string{"Owner"}))

	e := startFunction(t, map[string]string{
		"VPNCHECK_POLICY_BUNDLE":     "oss://team-policies/vpncheck/team.tar.gz",
		"VPNCHECK_POLICY_PUBLIC_KEY": public,
		"VPNCHECK_OSS_ENDPOINT":      f.URL,
		"VPNCHECK_REGIONS":           "cn-hangzhou",
	})
	e.vpc.Generate("cn-hangzhou", 1, weakConn)

	lastSlack := func() string {
		reqs := e.slack.Requests()
		if len(reqs) == 0 {
			return ""
		}
		return reqs[len(reqs)-1].Body
	}
	invoke := func(key string) fcOutcome {
		return e.rt.invoke(t, `{"triggerTime": "`+key+`", "triggerName": "hourly", "payload": "{}"}`, e.creds, 60*time.Second)
	}

	out := invoke("2026-11-25T10:05:00Z")
	if out.failed {
		t.Fatalf("first invocation failed: %s", out.body)
	}
	if s := lastSlack(); !strings.Contains(s, "missing-required-tag") || !strings.Contains(s, "rev-1") {
		t.Fatalf("the team rule or its revision is not in Slack: %s", s)
	}
	gets := f.Count("GetObject")

	// Unchanged: one conditional GET (304), same rules.
	if out := invoke("2026-11-25T11:05:00Z"); out.failed {
		t.Fatalf("second invocation failed: %s", out.body)
	}
	if n := f.Count("GetObject"); n != gets+1 {
		t.Errorf("an unchanged bundle cost %d reads, want 1", n-gets)
	}

	// Replaced: the next invocation runs the new bundle, no redeploy.
	upload(t, f, "team-policies", "vpncheck/team.tar.gz", teamBundle(t, "rev-2", private, []string{"CostCenter"}))
	if out := invoke("2026-11-25T12:05:00Z"); out.failed {
		t.Fatalf("third invocation failed: %s", out.body)
	}
	if s := lastSlack(); !strings.Contains(s, "rev-2") || !strings.Contains(s, "CostCenter") {
		t.Fatalf("the replaced bundle is not in effect: %s", s)
	}

	// Signed by another key: refused, every invocation fails and says why;
	// never the built-in rules alone in silence.
	upload(t, f, "team-policies", "vpncheck/team.tar.gz", teamBundle(t, "rev-3", otherPrivate, []string{"Owner"}))
	out = invoke("2026-11-25T13:05:00Z")
	if !out.failed || !strings.Contains(string(out.body), "team.tar.gz") {
		t.Fatalf("a bundle signed by another key was accepted: %s", out.body)
	}
	var msg struct{ ErrorMessage string }
	json.Unmarshal(out.body, &msg)
	if !strings.Contains(strings.ToLower(msg.ErrorMessage+string(out.body)), "sign") {
		t.Errorf("the failure does not say the signature is wrong: %s", out.body)
	}
	if s := lastSlack(); !strings.Contains(s, "VPN check failed") {
		t.Errorf("the failure was not posted to Slack: %s", s)
	}
	e.assertNoSecrets(t, out)
}
