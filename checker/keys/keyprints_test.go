package keys

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/lifecycle"
)

func keyConn(t *testing.T, id, psk string) *input.Connection {
	t.Helper()
	return normalizeJSON(t, `{"VpnConnectionId": "`+id+`", "Name": "n-`+id+`", "IkeConfig": {"Psk": "`+psk+`"}}`)
}

// A run asked for key prints fingerprints every tunnel's key with the
// known salt (a new one when there is none), by tunnel place; never a key.
func TestKeyPrintsOfARun(t *testing.T) {
	dual := normalizeJSON(t, `{"VpnConnectionId": "vco-a", "TunnelOptionsSpecification": {"TunnelOptions": [
		{"TunnelId": "t1", "TunnelIkeConfig": {"Psk": "CANARY-PRINT-1"}},
		{"TunnelId": "t2", "TunnelIkeConfig": {"Psk": "CANARY-PRINT-1"}}]}}`)
	conns := []*input.Connection{dual, keyConn(t, "vco-b", "CANARY-PRINT-2"), normalizeJSON(t, `{"VpnConnectionId": "vco-c"}`)}
	_, _, prints := Analyze(context.Background(), conns, Policy{}, &KeyPrints{})
	salt, ok := parseSalt(prints.Salt, nil)
	if !ok || salt.iter != kdfIterations {
		t.Fatalf("salt %q", prints.Salt)
	}
	want := map[string]string{
		lifecycle.TunnelPlace("cn-test", "vco-a", "t1"): salt.fingerprint("CANARY-PRINT-1"),
		lifecycle.TunnelPlace("cn-test", "vco-a", "t2"): salt.fingerprint("CANARY-PRINT-1"),
		lifecycle.TunnelPlace("cn-test", "vco-b", "#0"): salt.fingerprint("CANARY-PRINT-2"),
	}
	if len(prints.Tunnels) != len(want) {
		t.Errorf("prints %v", prints.Tunnels)
	}
	for p, fp := range want {
		if prints.Tunnels[p] != fp {
			t.Errorf("%s: %q, want %q", p, prints.Tunnels[p], fp)
		}
	}
	b, _ := json.Marshal(prints)
	if strings.Contains(string(b), "CANARY") {
		t.Errorf("a key in the prints: %s", b)
	}

	// The same salt again: the prints compare with the first run's.
	again := []*input.Connection{keyConn(t, "vco-b", "CANARY-PRINT-2")}
	_, _, p2 := Analyze(context.Background(), again, Policy{}, &KeyPrints{Salt: prints.Salt})
	if p2.Salt != prints.Salt || p2.Tunnels[lifecycle.TunnelPlace("cn-test", "vco-b", "#0")] != want[lifecycle.TunnelPlace("cn-test", "vco-b", "#0")] {
		t.Errorf("second run %+v", p2)
	}
	// No known keys asked: no prints.
	if _, _, none := Analyze(context.Background(), []*input.Connection{keyConn(t, "vco-b", "k")}, Policy{}, nil); none != nil {
		t.Errorf("prints without known keys: %+v", none)
	}
}

// A change event's run counts the tunnels of the other connections the
// state knows to share its key; its own connection's old entries do not
// count.
func TestKnownKeysCountInSharing(t *testing.T) {
	full := []*input.Connection{keyConn(t, "vco-b", "CANARY-K1"), keyConn(t, "vco-x", "CANARY-K1"), keyConn(t, "vco-c", "CANARY-K2"),
		normalizeJSON(t, `{"VpnConnectionId": "vco-d", "TunnelOptionsSpecification": {"TunnelOptions": [
		{"TunnelId": "t1", "TunnelIkeConfig": {"Psk": "CANARY-K2"}}, {"TunnelId": "t2", "TunnelIkeConfig": {"Psk": "CANARY-K3"}}]}}`)}
	_, _, known := Analyze(context.Background(), full, Policy{}, &KeyPrints{})

	for _, tc := range []struct {
		name, key string
		want      int
		known     *KeyPrints
	}{
		{name: "b's key", key: "CANARY-K1", want: 2, known: known},         // x and b; x's old entry left out
		{name: "c's and d's key", key: "CANARY-K2", want: 3, known: known}, // x, c, d/t1
		{name: "a key of its own", key: "CANARY-K9", want: 1, known: known},
		{name: "prints of another salt", key: "CANARY-K1", want: 1,
			known: &KeyPrints{Salt: Salt{iter: kdfIterations, salt: []byte("0123456789abcdef")}.String(), Tunnels: known.Tunnels}},
		{name: "a corrupt salt", key: "CANARY-K1", want: 1, known: &KeyPrints{Salt: "md5:1:00", Tunnels: known.Tunnels}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := keyConn(t, "vco-x", tc.key)
			_, errs, prints := Analyze(context.Background(), []*input.Connection{x}, Policy{}, tc.known)
			if got := x.Tunnels[0].PSK.SharedWith; got != tc.want {
				t.Errorf("shared with %d, want %d", got, tc.want)
			}
			if len(errs) != 0 {
				t.Errorf("errors %+v", errs)
			}
			if len(prints.Tunnels) != 1 {
				t.Errorf("prints %+v", prints)
			}
		})
	}
}

// A saved inventory's keys are known by the save's fingerprints: a whole
// run of saved files takes the save's salt, and an event replayed from the
// same save compares with it.
func TestKeyPrintsOfASavedInventory(t *testing.T) {
	s := Salt{iter: 10, salt: []byte("saltsaltsalt")}
	saved := func(id, key string) *input.Connection {
		c := keyConn(t, id, "x")
		c.Tunnels[0].Key = input.TunnelKey{Saved: &apiwire.KeyFacts{Salt: s.String(), Length: apiwire.Int{Value: 20, Known: true},
			Guesses: apiwire.Float{Value: 1e20, Known: true}, Fingerprint: apiwire.String(s.fingerprint(key)),
			FoldedFingerprint: apiwire.String(s.fingerprint(strings.ToLower(key)))}}
		return c
	}
	_, _, known := Analyze(context.Background(), []*input.Connection{saved("vco-b", "K1"), saved("vco-c", "K2")}, Policy{}, &KeyPrints{Salt: "pbkdf2-sha256:1000:00112233445566778899aabbccddeeff"})
	if known.Salt != s.String() || len(known.Tunnels) != 2 {
		t.Fatalf("prints %+v", known)
	}
	x := saved("vco-x", "K1")
	_, errs, _ := Analyze(context.Background(), []*input.Connection{x}, Policy{}, known)
	if x.Tunnels[0].PSK.SharedWith != 2 || len(errs) != 0 {
		t.Errorf("shared with %d, errors %+v", x.Tunnels[0].PSK.SharedWith, errs)
	}
	// A key read in clear compares too, with the save's salt.
	y := keyConn(t, "vco-y", "K2")
	Analyze(context.Background(), []*input.Connection{y}, Policy{}, known)
	if y.Tunnels[0].PSK.SharedWith != 2 {
		t.Errorf("clear key shared with %d", y.Tunnels[0].PSK.SharedWith)
	}
	// Another save's fingerprints cannot be compared: said, not counted.
	s = Salt{iter: 10, salt: []byte("othersaltsalt")}
	z := saved("vco-z", "K1")
	_, errs, _ = Analyze(context.Background(), []*input.Connection{z}, Policy{}, known)
	if z.Tunnels[0].PSK.SharedWith != 1 || len(errs) != 1 || !strings.Contains(errs[0].Message, "(vco-z)") || !strings.Contains(errs[0].Message, "cannot be compared") {
		t.Errorf("shared with %d, errors %+v", z.Tunnels[0].PSK.SharedWith, errs)
	}
}

// The cost a run with a state pays per distinct key for its prints.
func BenchmarkKeyPrint(b *testing.B) {
	s := Salt{iter: kdfIterations, salt: []byte("0123456789abcdef")}
	for b.Loop() {
		s.fingerprint("Vt8#qL2m!Zr5wX9p$Kd3nB7cF1hJ6sQ4")
	}
}
