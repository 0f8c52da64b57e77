package keys

import (
	"context"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/input"
)

var (
	pepperA = []byte("CANARY-PEPPER-A-3f9e1c7d2b")
	pepperB = []byte("CANARY-PEPPER-B-8a4c6e0f15")
)

// A pepper keys the fingerprint and marks the salt's text without showing
// itself; a salt is the run's only with the same pepper (or none on both
// sides).
func TestPepperKeysTheFingerprint(t *testing.T) {
	raw := []byte("0123456789abcdef")
	plain := Salt{iter: kdfIterations, salt: raw}
	a := Salt{iter: kdfIterations, salt: raw, pepper: pepperA}
	b := Salt{iter: kdfIterations, salt: raw, pepper: pepperB}
	if fp := plain.fingerprint("123456"); fp == a.fingerprint("123456") || a.fingerprint("123456") == b.fingerprint("123456") || len(a.fingerprint("123456")) != 64 {
		t.Errorf("fingerprints: none %s, A %s, B %s", fp, a.fingerprint("123456"), b.fingerprint("123456"))
	}
	if plain.String() == a.String() || a.String() == b.String() || !strings.HasPrefix(a.String(), "pbkdf2-sha256-hmac:1000:") {
		t.Errorf("salts: %q %q %q", plain, a, b)
	}
	if strings.Contains(a.String(), "CANARY") || strings.Contains(a.String(), "PEPPER") {
		t.Errorf("the salt shows the pepper: %q", a)
	}
	for _, tc := range []struct {
		salt   Salt
		pepper []byte
		ok     bool
	}{
		{plain, nil, true}, {a, pepperA, true}, {b, pepperB, true},
		{plain, pepperA, false}, {a, nil, false}, {a, pepperB, false}, {b, pepperA, false},
	} {
		got, ok := parseSalt(tc.salt.String(), tc.pepper)
		if ok != tc.ok {
			t.Errorf("parseSalt(%q, pepper %q) ok %v, want %v", tc.salt, tc.pepper, ok, tc.ok)
		}
		if ok && got.fingerprint("k") != tc.salt.fingerprint("k") {
			t.Errorf("%q read back prints differently", tc.salt)
		}
		if otherPepper(tc.salt.String(), tc.pepper) == tc.ok {
			t.Errorf("otherPepper(%q, %q) = %v", tc.salt, tc.pepper, !tc.ok)
		}
	}
	if otherPepper("md5:1:00", pepperA) {
		t.Error("a corrupt salt reads as another pepper's")
	}
}

// Prints the state kept without a pepper (or with another) never match a
// peppered run's: the run draws a salt of its own pepper, as it would for
// another salt, and counts no reuse it cannot see.
func TestPepperedPrintsNeverMatchOthers(t *testing.T) {
	whole := func(pepper []byte) *KeyPrints {
		conns := []*input.Connection{keyConn(t, "vco-b", "123456"), keyConn(t, "vco-c", "CANARY-K2")}
		_, _, prints := Analyze(context.Background(), conns, Policy{Pepper: pepper}, &KeyPrints{})
		return prints
	}
	for _, tc := range []struct {
		name          string
		state, run    []byte
		shared        int
		sameSaltAfter bool
	}{
		{"none then none", nil, nil, 2, true},
		{"A then A", pepperA, pepperA, 2, true},
		{"none then A", nil, pepperA, 1, false},
		{"A then none", pepperA, nil, 1, false},
		{"A then B", pepperA, pepperB, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			known := whole(tc.state)
			x := keyConn(t, "vco-x", "123456") // b's key: reuse, if the prints compare
			_, errs, prints := Analyze(context.Background(), []*input.Connection{x}, Policy{Pepper: tc.run}, known)
			if got := x.Tunnels[0].PSK.SharedWith; got != tc.shared {
				t.Errorf("shared with %d, want %d", got, tc.shared)
			}
			if (prints.Salt == known.Salt) != tc.sameSaltAfter {
				t.Errorf("run salt %q, state salt %q", prints.Salt, known.Salt)
			}
			if _, ok := parseSalt(prints.Salt, tc.run); !ok {
				t.Errorf("the run's prints are not of its pepper: %q", prints.Salt)
			}
			if len(errs) != 0 {
				t.Errorf("errors %+v", errs)
			}
		})
	}
}

// A saved inventory's facts made with a pepper are judged only with it:
// without, the banned list and reuse cannot judge them, and the run says so.
func TestSavedFactsOfAnotherPepper(t *testing.T) {
	s := Salt{iter: 10, salt: []byte("saltsaltsalt"), pepper: pepperA}
	saved := func(id, key string) *input.Connection {
		c := keyConn(t, id, "x")
		c.Tunnels[0].Key = input.TunnelKey{Saved: &apiwire.KeyFacts{Salt: s.String(), Length: apiwire.Int{Value: 6, Known: true},
			Guesses: apiwire.Float{Value: 2, Known: true}, Fingerprint: apiwire.String(s.fingerprint(key)),
			FoldedFingerprint: apiwire.String(s.fingerprint(strings.ToLower(key)))}}
		return c
	}
	policy := Policy{Banned: []string{"123456"}, Pepper: pepperA}
	a, b := saved("vco-a", "123456"), saved("vco-b", "123456")
	if _, errs := analyzeKeys(context.Background(), []*input.Connection{a, b}, policy); len(errs) != 0 || !a.Tunnels[0].PSK.Banned || a.Tunnels[0].PSK.SharedWith != 2 {
		t.Errorf("same pepper: banned %v, shared %d, errors %+v", a.Tunnels[0].PSK.Banned, a.Tunnels[0].PSK.SharedWith, errs)
	}
	for _, pepper := range [][]byte{nil, pepperB} {
		policy.Pepper = pepper
		a, b := saved("vco-a", "123456"), saved("vco-b", "123456")
		_, errs := analyzeKeys(context.Background(), []*input.Connection{a, b}, policy)
		if a.Tunnels[0].PSK.Banned || a.Tunnels[0].PSK.SharedWith != 1 {
			t.Errorf("pepper %q: banned %v, shared %d", pepper, a.Tunnels[0].PSK.Banned, a.Tunnels[0].PSK.SharedWith)
		}
		if len(errs) != 1 || errs[0].Code != CodeKeysNotJudged || !strings.Contains(errs[0].Message, "another key pepper") || !strings.Contains(errs[0].Message, "vco-a, vco-b") {
			t.Errorf("pepper %q: errors %+v", pepper, errs)
		}
		for _, e := range errs {
			if strings.Contains(e.Message, "CANARY") {
				t.Errorf("an error shows the pepper: %s", e.Message)
			}
		}
	}
}
