package checker

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/trustelem/zxcvbn"
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
	secrets, _ := analyzeKeys(context.Background(), []*Connection{a, b, c, d}, keyPolicy{})
	for _, tc := range []struct {
		psk  *PSK
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
	for _, conn := range []*Connection{a, b, c} {
		for _, tun := range conn.Tunnels {
			if tun.key.psk != "" {
				t.Error("plaintext key kept after analysis")
			}
		}
	}
}

func TestAnalyzeKeysFacts(t *testing.T) {
	c := normalizeJSON(t, `{"Name": "hq Secret123 link", "Tag": {"Tag": [{"Key": "note", "Value": "psk=Secret123"}, {"Key": "env", "Value": "prod"}]},
		"IkeConfig": {"Psk": "Secret123", "LocalId": "Secret123", "RemoteId": "peer.example.com"}}`)
	analyzeKeys(context.Background(), []*Connection{c}, keyPolicy{banned: []string{"SECRET123"}})
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
	analyzeKeys(context.Background(), []*Connection{c}, keyPolicy{})
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
