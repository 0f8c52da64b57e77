package policies_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/vpncheck/vpncheck/policies"
)

// keyPair is a signing key and its public key, both PEM.
type keyPair struct{ private, public string }

var (
	keysOnce      sync.Once
	rsaKey, ecKey keyPair
)

// testKeys makes an RSA and an EC key pair once per test binary.
func testKeys(t *testing.T) (keyPair, keyPair) {
	t.Helper()
	keysOnce.Do(func() {
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		rsaKey = pair(rk, &rk.PublicKey)
		ecKey = pair(ek, &ek.PublicKey)
	})
	return rsaKey, ecKey
}

func pair(private, public any) keyPair {
	pk, err := x509.MarshalPKCS8PrivateKey(private)
	if err != nil {
		panic(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		panic(err)
	}
	return keyPair{
		private: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})),
		public:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
	}
}

// build is what policies/bundle.sh does, with OPA's own Go packages: the
// team's files (tests left out) with a manifest of revision and roots,
// signed with signingKey (PEM, "" for none) over the files as they are, and
// written by OPA's bundle writer. change, when not nil, alters the bundle
// after signing.
func build(t *testing.T, fsys fs.FS, revision string, roots []string, signingKey, alg string, change func(*bundle.Bundle)) []byte {
	t.Helper()
	res, err := loader.NewFileLoader().WithFS(fsys).WithRegoVersion(ast.RegoV1).
		Filtered([]string{"."}, func(_ string, info fs.FileInfo, _ int) bool { return strings.HasSuffix(info.Name(), "_test.rego") })
	if err != nil {
		t.Fatal(err)
	}
	b := bundle.Bundle{Data: res.Documents, Manifest: bundle.Manifest{Revision: revision}}
	if roots != nil {
		b.Manifest.Roots = &roots
	}
	b.Manifest.Init()
	for name, m := range res.Modules {
		p := strings.TrimPrefix(name, "./")
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: p, Path: p, Raw: m.Raw, Parsed: m.Parsed})
	}
	if signingKey != "" {
		if err := b.GenerateSignature(bundle.NewSigningConfig(signingKey, alg, ""), "", false); err != nil {
			t.Fatal(err)
		}
	}
	if change != nil {
		change(&b)
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var exampleRoots = []string{"vpncheck/rules/missing_required_tag", "vpncheck/config"}

// findings evaluates the entrypoint as the engine does, on one input.
func findings(t *testing.T, set *policies.Set, input map[string]any) map[string]int {
	t.Helper()
	q, err := rego.New(rego.Query(policies.Query), rego.Compiler(set.Compiler), rego.Store(set.NewStore()), rego.StrictBuiltinErrors(true)).
		PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := q.Eval(context.Background(), rego.EvalInput(input))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, f := range rs[0].Expressions[0].Value.([]any) {
		out[f.(map[string]any)["rule"].(string)]++
	}
	return out
}

// The worked example, built into a signed bundle by OPA's own writer and
// signer, loads with the public key, reports its revision and fires.
func TestExampleBundleLoadsAndFires(t *testing.T) {
	rk, ek := testKeys(t)
	for _, tc := range []struct {
		name string
		key  keyPair
		alg  string
	}{{"RSA", rk, "RS256"}, {"EC", ek, "ES256"}} {
		t.Run(tc.name, func(t *testing.T) {
			b := build(t, os.DirFS("../examples/team-policies/custom_rule"), "git-3f2a9c1", exampleRoots, tc.key.private, tc.alg, nil)
			set := load(t, policies.Options{Bundle: b, Source: "oss://team/policies.tar.gz", PublicKey: tc.key.public})
			if set.Revision != "git-3f2a9c1" {
				t.Errorf("revision %q", set.Revision)
			}
			got := findings(t, set, map[string]any{"connection": map[string]any{"tags": map[string]any{"Owner": "net"}}, "tunnels": []any{}})
			if got["missing-required-tag"] != 1 {
				t.Errorf("findings %v: want one missing-required-tag (CostCenter, from the bundle's data)", got)
			}
			if len(set.Rules) != 20 {
				t.Errorf("%d rules: want the built-in 19 and the team's", len(set.Rules))
			}
		})
	}
	// Unsigned, without a key configured: loads (a team trying it out).
	set := load(t, policies.Options{Bundle: build(t, os.DirFS("../examples/team-policies/custom_rule"), "dev", exampleRoots, "", "", nil)})
	if set.Revision != "dev" {
		t.Errorf("revision %q", set.Revision)
	}
}

func TestBundleRefused(t *testing.T) {
	rk, ek := testKeys(t)
	example := os.DirFS("../examples/team-policies/custom_rule")
	other := mustRSA(t)
	otherRSA := pair(other, &other.PublicKey)
	signed := func(change func(*bundle.Bundle)) []byte {
		return build(t, example, "r1", exampleRoots, rk.private, "RS256", change)
	}
	for _, tc := range []struct {
		name   string
		bundle []byte
		key    string
		want   string
	}{
		{"unsigned with a key configured", build(t, example, "r1", exampleRoots, "", "", nil), rk.public,
			"the bundle is not signed, and a public key is configured"},
		{"signed by another key", build(t, example, "r1", exampleRoots, ek.private, "ES256", nil), rk.public,
			"signature does not verify with the configured public key"},
		{"signed by another RSA key", signed(nil), otherRSA.public,
			"signature does not verify with the configured public key"},
		{"a rule changed after signing", signed(func(b *bundle.Bundle) {
			b.Modules[0].Raw = bytes.Replace(b.Modules[0].Raw, []byte("some tag in"), []byte("some tag in []; some tag in"), 1)
		}), rk.public, "contents differ from what was signed"},
		{"data changed after signing", signed(func(b *bundle.Bundle) {
			b.Data["vpncheck"].(map[string]any)["config"].(map[string]any)["disabled_rules"] = []any{"psk-weak"}
		}), rk.public, "contents differ from what was signed"},
		{"a rule added after signing", signed(func(b *bundle.Bundle) {
			b.Modules = append(b.Modules, bundle.ModuleFile{URL: "vpncheck/rules/x/x.rego", Path: "vpncheck/rules/x/x.rego", Raw: []byte("package vpncheck.rules.x\n")})
		}), rk.public, "contents differ from what was signed"},
		{"a rule removed after signing", signed(func(b *bundle.Bundle) { b.Modules = nil }), rk.public,
			"contents differ from what was signed"},
		{"the manifest changed after signing", signed(func(b *bundle.Bundle) { b.Manifest.Revision = "r2" }), rk.public,
			"contents differ from what was signed"},
		{"signed, no key configured", signed(nil), "",
			"the bundle is signed but no public key is configured to verify it"},
		{"a private key for a public key", signed(nil), rk.private,
			`public key: a "PRIVATE KEY" PEM block; want PUBLIC KEY`},
		{"no roots", build(t, example, "r1", nil, "", "", nil), "",
			".manifest declares no roots"},
		{"a root over the built-in library", build(t, example, "r1", []string{"vpncheck"}, "", "", nil), "",
			`.manifest root "vpncheck": a team bundle owns only vpncheck/rules/<name> and vpncheck/config`},
		{"data outside vpncheck.config", build(t, files("data.json", `{"psk": {"min_length": 20}}`), "r1", []string{"psk"}, "", "", nil), "",
			`.manifest root "psk"`},
		{"data under a rule's root", build(t, files("vpncheck/rules/x/data.json", `{"psk": {"min_length": 20}}`), "r1", []string{"vpncheck/rules/x"}, "", "", nil), "",
			`data: it puts "rules" at data.vpncheck.rules, outside data.vpncheck.config`},
		{"a package outside vpncheck.rules", build(t, files("vpncheck/rules/team/x.rego", strings.Replace(teamRule, "package vpncheck.rules.name_missing", "package team.x", 1)), "r1", []string{"vpncheck/rules/team"}, "", "", nil), "",
			"manifest roots [vpncheck/rules/team] do not permit 'package team.x'"},
		{"a rule file outside the roots", build(t, files("team/x.rego", strings.Replace(teamRule, "package vpncheck.rules.name_missing", "package vpncheck.rules.team", 1)), "r1", []string{"vpncheck/rules/team"}, "", "", nil), "",
			"team/x.rego lies outside the manifest's roots (vpncheck/rules/team)"},
		{"not a bundle", []byte("PK\x03\x04 a zip"), "", "archive read failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policies.Load(context.Background(), policies.Options{Bundle: tc.bundle, Source: "team.tar.gz", PublicKey: tc.key})
			if err == nil {
				t.Fatal("loaded")
			}
			if !errors.Is(err, policies.ErrPolicy) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n %s\nwant ErrPolicy containing\n %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "PRIVATE KEY-----") {
				t.Errorf("error is not one line, or shows the key: %q", err)
			}
		})
	}
}

// With a key configured, a directory (which carries no signature) is refused.
func TestDirectoryRefusedWithAKey(t *testing.T) {
	rk, _ := testKeys(t)
	_, err := policies.Load(context.Background(), policies.Options{Custom: os.DirFS("../examples/team-policies/custom_rule"), Source: "examples/custom_rule", PublicKey: rk.public})
	if !errors.Is(err, policies.ErrPolicy) || !strings.Contains(err.Error(), "policies examples/custom_rule: a directory carries no signature") {
		t.Errorf("err = %v", err)
	}
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
