package remote_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/state"
	"github.com/vpncheck/vpncheck/checker/state/ossfake"
	"github.com/vpncheck/vpncheck/policies/remote"
)

// A bundle in OSS is read whole once, then re-checked with a conditional
// GET that answers 304 until it changes.
func TestFetchConditional(t *testing.T) {
	f := ossfake.New(t, ossfake.Config{AccessKeyID: keyID, AccessKeySecret: secret, SecurityToken: token, Buckets: []string{bkt}})
	c := cred(t, keyID, secret, token)
	store, err := state.Open(t.Context(), "oss://"+bkt, state.Options{Region: "cn-hangzhou", Endpoint: f.URL, Credential: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Create(t.Context(), "policies/team.tar.gz", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	opt := state.Options{Region: "cn-hangzhou", Endpoint: f.URL, Credential: c}
	url := "oss://" + bkt + "/policies/team.tar.gz"
	data, etag, err := remote.Fetch(t.Context(), url, opt, "")
	if err != nil || string(data) != "v1" || etag == "" {
		t.Fatalf("first fetch: %q %q %v", data, etag, err)
	}
	if _, same, err := remote.Fetch(t.Context(), url, opt, etag); !errors.Is(err, remote.ErrNotModified) || same != etag {
		t.Fatalf("re-check of an unchanged object: %q %v, want ErrNotModified", same, err)
	}
	// Replaced (a delete and a create stand in for an overwriting upload).
	if err := store.Delete(t.Context(), "policies/team.tar.gz"); err != nil {
		t.Fatal(err)
	}
	if err := store.Create(t.Context(), "policies/team.tar.gz", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	data, etag2, err := remote.Fetch(t.Context(), url, opt, etag)
	if err != nil || string(data) != "v2" || etag2 == etag {
		t.Fatalf("fetch after a change: %q %q %v", data, etag2, err)
	}
	if _, _, err := remote.Fetch(t.Context(), "oss://"+bkt+"/missing", opt, ""); err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("missing object: %v", err)
	}
}

const (
	keyID = "LTAItestKeyID"
	// Canaries: these must never appear in an error.
	secret = "CANARY-secret-5f1e9a"
	token  = "CANARY-token-c0ffee"
	bkt    = "vpncheck-state"
)

func cred(t *testing.T, id, sk, tok string) credentials.Credential {
	t.Helper()
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	typ := "sts"
	conf := &credentials.Config{Type: &typ, AccessKeyId: &id, AccessKeySecret: &sk, SecurityToken: &tok}
	c, err := credentials.NewCredential(conf)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
