package keys

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/trustelem/zxcvbn"
	"github.com/vpncheck/vpncheck/checker/input"
)

// The shortcut (one estimate per distinct key unless a user input could match)
// must give zxcvbn's own answer with the inputs, for every key.
func TestInputsShortcutAgreesWithZxcvbn(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_+=[]{}|<>7134"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	cases := [][2]any{
		{"hq-branch-Secret1", []string{"hq-branch", "1.2.3.4"}},
		{"9-ffo-tfel-nwoD", []string{"Down-left-off-9"}}, // reversed input
		{"p4ssw0rd-branch", []string{"password"}},        // l33t
		{"b1gvpn-abc", []string{"BIGVPN"}},
		{"x", []string{"x"}},
	}
	for range 300 {
		key := word(8 + r.IntN(12))
		inputs := []string{word(3 + r.IntN(8)), word(4)}
		if r.IntN(3) == 0 { // an input that is part of the key
			i := r.IntN(len(key) - 3)
			inputs = append(inputs, key[i:i+3])
		}
		cases = append(cases, [2]any{key, inputs})
	}
	for _, c := range cases {
		key, inputs := c[0].(string), c[1].([]string)
		want := zxcvbn.PasswordStrength(key, inputs).Guesses
		got := zxcvbn.PasswordStrength(key, nil).Guesses
		if inputsMayMatch(key, inputs) {
			got = want // the keyring computes this case with the inputs
		}
		if got != want {
			t.Errorf("key %q inputs %q: shortcut %g, zxcvbn %g", key, inputs, got, want)
		}
	}
}

func TestAnalyzeKeysCountsSharingAcrossTheRun(t *testing.T) {
	a := normalizeJSON(t, `{"Name": "a", "TunnelOptionsSpecification": {"TunnelOptions": [
		{"TunnelId": "t1", "TunnelIkeConfig": {"Psk": "same-key"}},
		{"TunnelId": "t2", "TunnelIkeConfig": {"Psk": "same-key"}}]}}`)
	b := normalizeJSON(t, `{"Name": "b", "IkeConfig": {"Psk": "same-key"}}`)
	c := normalizeJSON(t, `{"Name": "c", "IkeConfig": {"Psk": "other-key"}}`)
	d := normalizeJSON(t, `{"Name": "d", "IkeConfig": {"IkeVersion": "ikev2"}}`)
	secrets, _ := analyzeKeys(context.Background(), []*input.Connection{a, b, c, d}, Policy{})
	for _, tc := range []struct {
		psk  *input.PSK
		want int
	}{{a.Tunnels[0].PSK, 3}, {a.Tunnels[1].PSK, 3}, {b.Tunnels[0].PSK, 3}, {c.Tunnels[0].PSK, 1}} {
		if tc.psk == nil || tc.psk.SharedWith != tc.want {
			t.Errorf("shared_with = %+v, want %d", tc.psk, tc.want)
		}
	}
	if d.Tunnels[0].PSK != nil {
		t.Error("a tunnel without a key has no key facts")
	}
	if secrets.Len() != 2 {
		t.Errorf("secrets = %d, want 2", secrets.Len())
	}
	for _, conn := range []*input.Connection{a, b, c} {
		for _, tun := range conn.Tunnels {
			if tun.Key.Plain != "" {
				t.Error("plaintext key kept after analysis")
			}
		}
	}
}

func TestAnalyzeKeysFacts(t *testing.T) {
	c := normalizeJSON(t, `{"Name": "hq Secret123 link", "Tag": {"Tag": [{"Key": "note", "Value": "psk=Secret123"}, {"Key": "env", "Value": "prod"}]},
		"IkeConfig": {"Psk": "Secret123", "LocalId": "Secret123", "RemoteId": "peer.example.com"}}`)
	analyzeKeys(context.Background(), []*input.Connection{c}, Policy{Banned: []string{"SECRET123"}})
	p := c.Tunnels[0].PSK
	if p.Length != 9 || !p.Banned || p.Guesses == nil || *p.Guesses <= 0 || *p.Guesses >= 1e14 {
		t.Errorf("facts = %+v", p)
	}
	if want := []string{"name", "tag:note", "local_id"}; !reflect.DeepEqual(p.ExposedIn, want) {
		t.Errorf("exposed_in = %q, want %q", p.ExposedIn, want)
	}
	if c.Connection.Name != "hq **** link" || c.Connection.Tags["note"] != "psk=****" || c.Tunnels[0].IKE.LocalID != "****" {
		t.Errorf("key not masked: %+v %+v", c.Connection, c.Tunnels[0].IKE)
	}
}

func TestKeyLengthCountsCharacters(t *testing.T) {
	c := normalizeJSON(t, `{"IkeConfig": {"Psk": "密钥密钥"}}`)
	analyzeKeys(context.Background(), []*input.Connection{c}, Policy{})
	if got := c.Tunnels[0].PSK.Length; got != 4 {
		t.Errorf("length = %d, want 4", got)
	}
}

func TestSecretsScrub(t *testing.T) {
	s := &Secrets{}
	if got := s.Scrub("nothing"); got != "nothing" {
		t.Error(got)
	}
	s.add("abc", "abcdef", "")
	if got := s.Scrub("x abcdef y abc z"); got != "x **** y **** z" {
		t.Errorf("scrub = %q", got)
	}
	var none *Secrets
	if none.Scrub("a") != "a" || none.Len() != 0 {
		t.Error("nil Secrets must be a no-op")
	}
	if strings.Contains(s.Scrub("abcabc"), "abc") {
		t.Error("repeated secret not scrubbed")
	}
}

// Every key of the run is masked in every connection's names, tags, ids
// and exposure facts, whichever connection it belongs to.
func TestAnalyzeKeysMasksEveryKeyInEveryConnection(t *testing.T) {
	const keyA, bgpA = "CANARY-KEY-A-7f3a9", "CANARY-BGP-A-11d2"
	a := normalizeJSON(t, `{"VpnConnectionId": "vco-a", "Name": "a", "IkeConfig": {"Psk": "`+keyA+`"},
		"VpnBgpConfig": {"PeerAsn": "65001", "AuthKey": "`+bgpA+`"}}`)
	b := normalizeJSON(t, `{"VpnConnectionId": "vco-b-`+keyA+`", "Name": "b `+keyA+`", "VpnGatewayId": "vpn-`+bgpA+`",
		"CustomerGatewayId": "cgw-`+keyA+`",
		"Tag": {"Tag": [{"Key": "note", "Value": "x`+keyA+`"}, {"Key": "k-`+keyA+`", "Value": "v"},
			{"Key": "vpncheck:exception", "Value": "psk-weak"}, {"Key": "vpncheck:exception-expires", "Value": "`+keyA+`"}]},
		"TunnelOptionsSpecification": {"TunnelOptions": [{"TunnelId": "tun-`+keyA+`",
			"TunnelIkeConfig": {"Psk": "own-key-of-b-0000", "LocalId": "`+keyA+`", "RemoteId": "r`+bgpA+`"},
			"TunnelBgpConfig": {"LocalAsn": "`+keyA+`", "PeerAsn": "1"}}]}}`)
	c := normalizeJSON(t, `{"VpnConnectionId": "vco-own-key-of-b-0000", "Name": "c", "IkeConfig": {"IkeVersion": "ikev2"}}`)
	analyzeKeys(context.Background(), []*input.Connection{a, b, c}, Policy{})
	out, err := json.Marshal([]*input.Connection{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{keyA, bgpA, "own-key-of-b-0000"} {
		if strings.Contains(string(out), k) {
			t.Errorf("key %q shows in the policy input:\n%s", k, out)
		}
	}
	for _, v := range []*input.Connection{a, b, c} {
		if strings.Contains(v.ASTValue().String(), "CANARY") {
			t.Errorf("a key shows in the OPA input of %s", v.Connection.ID)
		}
	}
	if b.Connection.ID != "vco-b-****" || c.Connection.ID != "vco-****" || b.Tunnels[0].ID != "tun-****" ||
		b.Connection.Tags["vpncheck:exception-expires"] != "****" || b.Tunnels[0].IKE.RemoteID != "r****" {
		t.Errorf("masked wrongly: %s", out)
	}
}

// A key of any length is judged in milliseconds, on its first
// estimate_max_length characters, with finite facts.
func TestAnalyzeKeysLongKeys(t *testing.T) {
	for _, tc := range []struct {
		length, maxLen, wantEstimated int
	}{
		{10_000, 0, DefaultEstimateMaxLength},
		{400, 256, 256},
		{400, 5000, maxEstimateMaxLength},
		{20, 0, 20},
	} {
		key := strings.Repeat("aB3$xYz9", tc.length/8+1)[:tc.length]
		c := normalizeJSON(t, `{"Name": "n", "IkeConfig": {"Psk": "`+key+`"}}`)
		_, errs := analyzeKeys(context.Background(), []*input.Connection{c}, Policy{EstimateMaxLength: tc.maxLen})
		p := c.Tunnels[0].PSK
		if p.Guesses == nil || math.IsInf(*p.Guesses, 0) || *p.Guesses > maxGuesses || p.EstimatedLength != tc.wantEstimated || p.Length != tc.length || len(errs) != 0 {
			t.Errorf("%d characters, max %d: facts %+v (guesses %v), errors %v", tc.length, tc.maxLen, p, p.Guesses, errs)
		}
		if _, err := ast.InterfaceToValue(p); err != nil {
			t.Errorf("facts OPA cannot hold: %v", err)
		}
	}
}

// Keys not estimated before the deadline keep their other facts, and the
// run names their connections.
func TestAnalyzeKeysStopsAtTheDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := normalizeJSON(t, `{"VpnConnectionId": "vco-a", "IkeConfig": {"Psk": "short"}}`)
	b := normalizeJSON(t, `{"VpnConnectionId": "vco-b", "IkeConfig": {"IkeVersion": "ikev2"}}`)
	_, errs := analyzeKeys(ctx, []*input.Connection{a, b}, Policy{Banned: []string{"short"}})
	p := a.Tunnels[0].PSK
	if p == nil || p.Guesses != nil || p.GuessesLog != nil || p.Length != 5 || !p.Banned {
		t.Fatalf("facts %+v", p)
	}
	if len(errs) != 1 || errs[0].Code != CodeKeysNotJudged || !strings.Contains(errs[0].Message, "the keys of 1 connection (vco-a) in cn-test") {
		t.Fatalf("errors %+v", errs)
	}
	b2, _ := json.Marshal(a)
	if strings.Contains(string(b2), "guesses") {
		t.Errorf("an absent estimate shows: %s", b2)
	}
}

// A redacted key from elsewhere (no saved facts) is said to be unjudged;
// facts from saves with different salts cannot be compared for reuse.
func TestAnalyzeKeysSavedFacts(t *testing.T) {
	salt1 := Salt{iter: 10, salt: []byte("0123456789abcdef")}
	salt2 := Salt{iter: 10, salt: []byte("fedcba9876543210")}
	saved := func(id string, salt Salt, key string) *input.Connection {
		c := normalizeJSON(t, `{"VpnConnectionId": "`+id+`", "IkeConfig": {"Psk": "vpncheck:redacted", "VpncheckKeyFacts": {
			"Length": 6, "Guesses": 12.5, "EstimatedLength": 6, "ExposedIn": ["name"],
			"Fingerprint": "`+salt.fingerprint(key)+`", "FoldedFingerprint": "`+salt.fingerprint(strings.ToLower(key))+`"}}}`)
		c.StampSalt(salt.String())
		return c
	}
	a, b := saved("vco-a", salt1, "Secret"), saved("vco-b", salt1, "Secret")
	other := normalizeJSON(t, `{"VpnConnectionId": "vco-x", "IkeConfig": {"Psk": "vpncheck:redacted"}}`)
	_, errs := analyzeKeys(context.Background(), []*input.Connection{a, b, other}, Policy{Banned: []string{"SECRET"}})
	p := a.Tunnels[0].PSK
	if p.Length != 6 || !p.Banned || p.SharedWith != 2 || p.Guesses == nil || *p.Guesses != 12.5 || *p.GuessesLog != 1 ||
		!reflect.DeepEqual(p.ExposedIn, []string{"name"}) {
		t.Errorf("facts %+v", p)
	}
	if other.Tunnels[0].PSK != nil || len(errs) != 1 || !strings.Contains(errs[0].Message, "vco-x") || !strings.Contains(errs[0].Message, "redacted") {
		t.Errorf("unjudged key: %+v, errors %+v", other.Tunnels[0].PSK, errs)
	}

	c, d := saved("vco-c", salt1, "Secret"), saved("vco-d", salt2, "Secret")
	_, errs = analyzeKeys(context.Background(), []*input.Connection{c, d}, Policy{})
	if c.Tunnels[0].PSK.SharedWith != 1 || len(errs) != 1 || !strings.Contains(errs[0].Message, "2 different saves") {
		t.Errorf("two salts: shared %d, errors %+v", c.Tunnels[0].PSK.SharedWith, errs)
	}
}

// BenchmarkLongKey: zxcvbn's cost grows with what it sees, so a key of any
// length at the default cap is judged in milliseconds.
func BenchmarkLongKey(b *testing.B) {
	key := strings.Repeat("aB3$xYz9", 10_000/8)
	for b.Loop() {
		c := normalizeJSON(b, `{"Name": "n", "IkeConfig": {"Psk": "`+key+`"}}`)
		analyzeKeys(context.Background(), []*input.Connection{c}, Policy{})
	}
}
