package policies

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
)

// KeyID names the one verification key in the bundle reader's key set; a
// bundle's own "kid" is not consulted.
const KeyID = "vpncheck"

// readBundle reads a team bundle with OPA's bundle reader, verifying its
// signature when publicKey is set: then an unsigned bundle, a changed,
// added or missing file, or another key's signature is an error. Without a
// key a signed bundle is refused too: it asks to be verified.
//
// inspectBundle bounds the archive and checks each file against the
// manifest's roots and the signature's file list first, since OPA's reader
// inflates every file into memory before it checks any.
func readBundle(data []byte, publicKey string, caps *ast.Capabilities, tests bool) (*tree, string, error) {
	var vc *bundle.VerificationConfig
	if publicKey != "" {
		var err error
		if vc, err = verificationConfig(publicKey); err != nil {
			return nil, "", err
		}
	}
	var b bundle.Bundle
	err := inspectBundle(data, vc)
	if err == nil {
		r := bundle.NewReader(bytes.NewReader(data)).
			WithRegoVersion(ast.RegoV1).
			WithProcessAnnotations(true).
			WithCapabilities(caps).
			WithSizeLimitBytes(MaxBundleBytes)
		if vc != nil {
			r = r.WithBundleVerificationConfig(vc)
		}
		b, err = r.Read()
	}
	switch {
	case err == nil:
	case publicKey == "" && strings.Contains(err.Error(), "verification key not provided"):
		return nil, "", errors.New("the bundle is signed but no public key is configured to verify it (VPNCHECK_POLICY_PUBLIC_KEY)")
	case publicKey != "" && strings.Contains(err.Error(), "missing .signatures.json"):
		return nil, "", errors.New("the bundle is not signed, and a public key is configured (VPNCHECK_POLICY_PUBLIC_KEY): sign it with policies/bundle.sh --signing-key")
	case publicKey != "" && strings.Contains(err.Error(), "failed to verify JWT signature"):
		return nil, "", fmt.Errorf("signature does not verify with the configured public key (another key, or not %s): %w", algorithmOf(publicKey), err)
	case publicKey != "" && (strings.Contains(err.Error(), "digest mismatch") || strings.Contains(err.Error(), "not included in bundle signature") ||
		strings.Contains(err.Error(), "specified in bundle signatures but not found")):
		return nil, "", fmt.Errorf("contents differ from what was signed: %w", err)
	default:
		return nil, "", err
	}
	if b.Type() != bundle.SnapshotBundleType {
		return nil, "", fmt.Errorf("a %s bundle: want a snapshot bundle", b.Type())
	}
	if len(b.WasmModules) > 0 || len(b.PlanModules) > 0 {
		return nil, "", errors.New("holds Wasm or plan modules: vpncheck loads Rego and data only")
	}
	if err := checkRoots(b.Manifest.Roots); err != nil {
		return nil, "", err
	}
	if err := checkDataPath(nil, b.Data); err != nil {
		return nil, "", fmt.Errorf("data: %v", err)
	}
	t := &tree{modules: map[string]*ast.Module{}, data: b.Data}
	for _, mf := range b.Modules {
		name := strings.TrimPrefix(path.Clean("/"+mf.Path), "/")
		if !tests && isTest(name) {
			continue
		}
		t.modules[name] = mf.Parsed
	}
	return t, b.Manifest.Revision, nil
}

// checkRoots checks the manifest's roots: a team bundle owns its rule
// packages (vpncheck/rules/<name>) and policy data (vpncheck/config), never
// the built-in library or entrypoint. Data is merged over the built-in data
// by vpncheck, not by OPA, so vpncheck/config may be shared.
func checkRoots(roots *[]string) error {
	if roots == nil || len(*roots) == 0 {
		return errors.New(".manifest declares no roots: build the bundle with policies/bundle.sh")
	}
	for _, root := range *roots {
		if strings.Trim(root, "/") == "" {
			// OPA's reader fills in "" (all of data) for a manifest without roots.
			return errors.New(".manifest declares no roots: build the bundle with policies/bundle.sh")
		}
		parts := strings.Split(strings.Trim(root, "/"), "/")
		switch {
		case len(parts) >= 3 && parts[0] == "vpncheck" && parts[1] == "rules" && parts[2] != "":
		case len(parts) >= 2 && parts[0] == "vpncheck" && parts[1] == "config":
		default:
			return fmt.Errorf(".manifest root %q: a team bundle owns only vpncheck/rules/<name> and vpncheck/config", root)
		}
	}
	return nil
}

// verificationConfig builds the reader's verification from a PEM public
// key. The algorithm follows the key: RS256 for RSA (opa sign's default),
// ES256, ES384 or ES512 for an EC key by its curve, EdDSA for Ed25519. A
// private key is refused: the function must never hold one.
func verificationConfig(pemText string) (*bundle.VerificationConfig, error) {
	alg, err := keyAlgorithm(pemText)
	if err != nil {
		return nil, err
	}
	keys := map[string]*bundle.KeyConfig{KeyID: {Key: pemText, Algorithm: alg}}
	return bundle.NewVerificationConfig(keys, KeyID, "", nil), nil
}

func algorithmOf(pemText string) string {
	alg, _ := keyAlgorithm(pemText)
	return alg
}

func keyAlgorithm(pemText string) (string, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return "", errors.New("public key: no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return "", fmt.Errorf("public key: a %q PEM block; want PUBLIC KEY", block.Type)
	}
	if err != nil {
		return "", fmt.Errorf("public key: %w", err)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("public key: RSA key of %d bits, want 2048 or more", k.N.BitLen())
		}
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
		return "", fmt.Errorf("public key: EC curve %s is not supported", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", fmt.Errorf("public key: %T is not supported", key)
}
