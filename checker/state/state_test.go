package state_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/state"
	"github.com/vpncheck/vpncheck/checker/state/ossfake"
	"github.com/vpncheck/vpncheck/checker/state/storetest"
)

const (
	keyID = "LTAItestKeyID"
	// Canaries: these must never appear in an error.
	secret = "CANARY-secret-5f1e9a"
	token  = "CANARY-token-c0ffee"
	bkt    = "vpncheck-state"
)

func cred(t *testing.T, id, sk, tok string) credentials.Credential {
	t.Helper() // TestMain disabled the metadata service
	conf := &credentials.Config{Type: ptr("access_key"), AccessKeyId: &id, AccessKeySecret: &sk}
	if tok != "" {
		conf.Type, conf.SecurityToken = ptr("sts"), &tok
	}
	c, err := credentials.NewCredential(conf)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ptr(s string) *string { return &s }

func fake(t *testing.T, tok string, pageSize int) *ossfake.Server {
	return ossfake.New(t, ossfake.Config{AccessKeyID: keyID, AccessKeySecret: secret, SecurityToken: tok, Buckets: []string{bkt}, PageSize: pageSize})
}

func openOSS(t *testing.T, f *ossfake.Server, spec string, c credentials.Credential) (state.Store, error) {
	return state.Open(t.Context(), spec, state.Options{Region: "cn-hangzhou", Endpoint: f.URL, Credential: c})
}

func TestDirStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) state.Store {
		s, err := state.Open(t.Context(), filepath.Join(t.TempDir(), "state"), state.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOSSStore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, tok string }{{"static", ""}, {"sts", token}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each its own fake
			storetest.Run(t, func(t *testing.T) state.Store {
				f := fake(t, tc.tok, 3) // small pages: List must follow continuation tokens
				s, err := openOSS(t, f, "oss://"+bkt+"/some/prefix", cred(t, keyID, secret, tc.tok))
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}

func TestOSSLayout(t *testing.T) {
	f := fake(t, "", 2)
	s, err := openOSS(t, f, "oss://"+bkt+"/some/prefix/", cred(t, keyID, secret, ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "oss://vpncheck-state/some/prefix" {
		t.Errorf("String() = %q", got)
	}
	for _, k := range []string{"a/1", "a/2", "a/3", "a/4", "a/5", "b"} {
		if err := s.Create(t.Context(), k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if data, _, ok := f.Object(bkt, "some/prefix/a/1"); !ok || string(data) != "a/1" {
		t.Errorf("a/1 is not stored under the spec's prefix")
	}
	before := f.Count("ListObjectsV2")
	keys, err := s.List(t.Context(), "a/")
	if err != nil || len(keys) != 5 || keys[0] != "a/1" {
		t.Fatalf("List = %q, %v", keys, err)
	}
	if n := f.Count("ListObjectsV2") - before; n != 3 {
		t.Errorf("List of 5 keys in pages of 2 took %d requests, want 3", n)
	}
	for _, r := range f.Requests() {
		if r.Op == "PutObject" && r.Code != "" {
			t.Errorf("request %+v", r)
		}
	}
}

func TestOSSVersionedBucketRefused(t *testing.T) {
	for _, status := range []string{"Enabled", "Suspended"} {
		t.Run(status, func(t *testing.T) {
			f := fake(t, "", 0)
			f.SetVersioning(bkt, status)
			_, err := openOSS(t, f, "oss://"+bkt+"/p", cred(t, keyID, secret, ""))
			if !errors.Is(err, state.ErrVersioned) {
				t.Fatalf("Open: error %v, want ErrVersioned", err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "versioning was never enabled") || !strings.Contains(msg, status) {
				t.Errorf("message %q: want one line naming the status and the remedy", msg)
			}
		})
	}
}

func TestOSSCredentialErrors(t *testing.T) {
	tests := []struct {
		name                  string
		serverTok             string
		id, sk, tok, wantCode string
	}{
		{"wrong secret", "", keyID, secret + "-wrong", "", "SignatureDoesNotMatch"},
		{"unknown key", "", "LTAIunknown", secret, "", "InvalidAccessKeyId"},
		{"wrong token", token, keyID, secret, token + "-wrong", "InvalidSecurityToken"},
		{"wrong secret with token", token, keyID, secret + "-wrong", token, "SignatureDoesNotMatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fake(t, tt.serverTok, 0)
			_, err := openOSS(t, f, "oss://"+bkt+"/p", cred(t, tt.id, tt.sk, tt.tok))
			if err == nil {
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			for _, canary := range []string{secret, token} {
				if strings.Contains(msg, canary) {
					t.Errorf("error carries a secret: %s", msg)
				}
			}
			if !strings.Contains(msg, tt.wantCode) || !strings.Contains(msg, "oss://"+bkt+"/p") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s and the store", msg, tt.wantCode)
			}
			if n := f.Count("GetBucketVersioning"); n != 1 {
				t.Errorf("%d attempts; an authentication error must not be retried", n)
			}
		})
	}
}

func TestOSSRetries(t *testing.T) {
	t.Parallel() // mostly the SDK's backoff
	f := fake(t, "", 0)
	s, err := openOSS(t, f, "oss://"+bkt, cred(t, keyID, secret, ""))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if got := s.String(); got != "oss://vpncheck-state/" {
		t.Errorf("String() = %q", got)
	}

	// 5xx is retried, within a bound.
	f.Inject(ossfake.Fault{Op: "PutObject", Count: 2, Status: 503, Code: "ServiceUnavailable"})
	if err := s.Create(ctx, "k", []byte("v")); err != nil {
		t.Fatalf("Create after two 503s: %v", err)
	}
	f.Inject(ossfake.Fault{Op: "GetObject", Count: 5, Status: 500, Code: "InternalError"})
	if _, err := s.Get(ctx, "k"); err == nil || !strings.Contains(err.Error(), "500 InternalError") {
		t.Errorf("Get through five 500s: error %v", err)
	}
	if n := f.Count("GetObject"); n != 3 {
		t.Errorf("%d GetObject attempts, want 3", n)
	}

	// 404 and 409 are answers, not retried.
	if _, err := s.Get(ctx, "missing"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Get missing: %v", err)
	}
	if err := s.Create(ctx, "k", []byte("other")); !errors.Is(err, state.ErrExists) {
		t.Errorf("Create existing: %v", err)
	}
	counts := map[string]int{}
	for _, r := range f.Requests() {
		if r.Code == "NoSuchKey" || r.Code == "FileAlreadyExists" {
			counts[r.Code]++
		}
	}
	if counts["NoSuchKey"] != 1 || counts["FileAlreadyExists"] != 1 {
		t.Errorf("404/409 answers %v, want one each", counts)
	}

	// The object was stored but the answer lost: the SDK retries, meets
	// 409, and Create recognises its own write instead of reporting a
	// lost race.
	f.Inject(ossfake.Fault{Op: "PutObject", Count: 1, Status: 500, Code: "InternalError", AfterApply: true})
	if err := s.Create(ctx, "claim", []byte("mine")); err != nil {
		t.Fatalf("Create with a lost answer: %v", err)
	}
	if err := s.Create(ctx, "claim", []byte("theirs")); !errors.Is(err, state.ErrExists) {
		t.Errorf("a second writer: %v, want ErrExists", err)
	}

	// A failed attempt, then 409 for another writer's object: a lost race.
	f.Inject(ossfake.Fault{Op: "PutObject", Count: 1, Status: 503, Code: "ServiceUnavailable"})
	if err := s.Create(ctx, "claim", []byte("late")); !errors.Is(err, state.ErrExists) {
		t.Errorf("Create after a failed attempt, key taken: %v, want ErrExists", err)
	}
	// ... and when the object cannot be read back, nobody can tell.
	f.Inject(ossfake.Fault{Op: "PutObject", Count: 1, Status: 503, Code: "ServiceUnavailable"})
	f.Inject(ossfake.Fault{Op: "HeadObject", Count: 1, Status: 404, Code: "NoSuchKey"})
	err = s.Create(ctx, "claim", []byte("late"))
	if err == nil || errors.Is(err, state.ErrExists) || !strings.Contains(err.Error(), "outcome unknown") {
		t.Errorf("Create whose outcome is unknown: %v", err)
	}
	if data, _, _ := f.Object(bkt, "claim"); string(data) != "mine" {
		t.Errorf("claim holds %q, want the first writer's", data)
	}
}

func TestOpenErrors(t *testing.T) {
	f := fake(t, "", 0)
	c := cred(t, keyID, secret, "")
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec     string
		opt      state.Options
		want     string
		location bool // a location that can never work: ErrLocation
	}{
		{"", state.Options{}, "empty", true},
		{"s3://bucket/p", state.Options{}, "unsupported scheme", true},
		{"file:///x", state.Options{}, "unsupported scheme", true},
		{file, state.Options{}, "not a directory", true},
		{filepath.Join(file, "sub"), state.Options{}, "a parent is not a directory", true},
		{"oss://", state.Options{Region: "cn-hangzhou", Credential: c}, "invalid bucket name", true},
		{"oss://Bad_Bucket/p", state.Options{Region: "cn-hangzhou", Credential: c}, "invalid bucket name", true},
		{"oss://" + bkt + "//p", state.Options{Region: "cn-hangzhou", Credential: c}, "invalid key", false},
		{"oss://" + bkt + "/../p", state.Options{Region: "cn-hangzhou", Credential: c}, "invalid key", false},
		{"oss://" + bkt + "/p", state.Options{Credential: c, Endpoint: f.URL}, "no OSS region", true},
		{"oss://" + bkt, state.Options{Credential: c, Endpoint: f.URL}, "no OSS region", true},
		{"oss://" + bkt + "/p", state.Options{Region: "cn-hangzhou", Endpoint: f.URL}, "no credential", false},
		{"oss://nosuchbucket/p", state.Options{Region: "cn-hangzhou", Credential: c, Endpoint: f.URL}, "404 NoSuchBucket", true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := state.Open(t.Context(), tt.spec, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%q): error %v, want %q", tt.spec, err, tt.want)
			}
			if errors.Is(err, state.ErrLocation) != tt.location {
				t.Errorf("Open(%q): error %v, ErrLocation %v, want %v", tt.spec, err, errors.Is(err, state.ErrLocation), tt.location)
			}
			// What can be told offline is told by CheckLocation alone.
			if cerr := state.CheckLocation(tt.spec); tt.location && !strings.Contains(tt.want, "NoSuchBucket") && !strings.Contains(tt.want, "region") && cerr == nil {
				t.Errorf("CheckLocation(%q) = nil", tt.spec)
			}
		})
	}
	for _, ok := range []string{filepath.Join(t.TempDir(), "new", "state"), t.TempDir(), "oss://" + bkt, "oss://" + bkt + "/a/b/"} {
		if err := state.CheckLocation(ok); err != nil {
			t.Errorf("CheckLocation(%q) = %v", ok, err)
		}
	}
}

func TestDirLayout(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "state")
	s, err := state.Open(t.Context(), root, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "dir "+root {
		t.Errorf("String() = %q", got)
	}
	for _, k := range []string{"x/y/z.json", "top"} {
		if err := s.Create(t.Context(), k, []byte("data")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Create(t.Context(), "x/y", []byte("data")); err == nil || errors.Is(err, state.ErrExists) {
		t.Errorf("Create of a key that is a directory of keys: %v, want a plain error", err)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(d.Name(), "."):
			t.Errorf("temporary file left: %s", p)
		case d.IsDir() && fi.Mode().Perm() != 0o700, !d.IsDir() && fi.Mode().Perm() != 0o600:
			t.Errorf("%s has mode %v", p, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(root, "x", "y", "z.json")); err != nil || string(data) != "data" {
		t.Errorf("x/y/z.json is not a plain file under the root: %q, %v", data, err)
	}
}
