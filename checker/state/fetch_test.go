package state_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/state"
)

// A bundle in OSS is read whole once, then re-checked with a conditional
// GET that answers 304 until it changes.
func TestFetchConditional(t *testing.T) {
	f := fake(t, token, 0)
	c := cred(t, keyID, secret, token)
	store, err := openOSS(t, f, "oss://"+bkt, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Create(t.Context(), "policies/team.tar.gz", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	opt := state.Options{Region: "cn-hangzhou", Endpoint: f.URL, Credential: c}
	url := "oss://" + bkt + "/policies/team.tar.gz"
	data, etag, err := state.Fetch(t.Context(), url, opt, "")
	if err != nil || string(data) != "v1" || etag == "" {
		t.Fatalf("first fetch: %q %q %v", data, etag, err)
	}
	if _, same, err := state.Fetch(t.Context(), url, opt, etag); !errors.Is(err, state.ErrNotModified) || same != etag {
		t.Fatalf("re-check of an unchanged object: %q %v, want ErrNotModified", same, err)
	}
	// Replaced (a delete and a create stand in for an overwriting upload).
	if err := store.Delete(t.Context(), "policies/team.tar.gz"); err != nil {
		t.Fatal(err)
	}
	if err := store.Create(t.Context(), "policies/team.tar.gz", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	data, etag2, err := state.Fetch(t.Context(), url, opt, etag)
	if err != nil || string(data) != "v2" || etag2 == etag {
		t.Fatalf("fetch after a change: %q %q %v", data, etag2, err)
	}
	if _, _, err := state.Fetch(t.Context(), "oss://"+bkt+"/missing", opt, ""); err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("missing object: %v", err)
	}
}
