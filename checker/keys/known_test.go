package keys

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/vpncheck/vpncheck/checker/input"
)

// A key the last run's estimates know takes its estimate from them, not
// from zxcvbn (the stored value is one zxcvbn would never give), and,
// with a pepper, its fingerprint; estimates of another salt, pepper or
// estimator are not taken.
func TestKnownKeysTakeTheirEstimate(t *testing.T) {
	const conn = `{"VpnConnectionId": "vco-1", "Name": "a", "IkeConfig": {"Psk": "Qx7!known-key-Zr2#"}}`
	run := func(pepper []byte, known *KeyPrints, prev *Estimates) (*input.Connection, Analysis) {
		c := normalizeJSON(t, conn)
		return c, AnalyzeWith(context.Background(), []*input.Connection{c}, Policy{Pepper: pepper}, known, prev)
	}
	for _, pepper := range [][]byte{nil, pepperA} {
		_, first := run(pepper, &KeyPrints{}, nil)
		if first.Estimates == nil || len(first.Estimates.Keys) != 1 {
			t.Fatalf("pepper %t: estimates %+v, want one key", pepper != nil, first.Estimates)
		}
		salt := first.Prints.Salt
		planted := func() *Estimates {
			e := *first.Estimates
			e.Keys = map[string]Estimate{}
			for tag, k := range first.Estimates.Keys {
				k.Guesses = 4242
				e.Keys[tag] = k
			}
			// As the next run reads them from the state.
			raw, err := json.Marshal(&e)
			if err != nil {
				t.Fatal(err)
			}
			var back Estimates
			if err := json.Unmarshal(raw, &back); err != nil || !reflect.DeepEqual(back, e) {
				t.Fatalf("estimates read back %+v (%v), want %+v", back, err, e)
			}
			return &back
		}
		c, again := run(pepper, &KeyPrints{Salt: salt}, planted())
		if g := c.Tunnels[0].PSK.Guesses; g == nil || *g != 4242 {
			t.Errorf("pepper %t: guesses %v, want the known 4242", pepper != nil, g)
		}
		for place, fp := range first.Prints.Tunnels {
			if again.Prints.Tunnels[place] != fp {
				t.Errorf("pepper %t: print %q, want %q", pepper != nil, again.Prints.Tunnels[place], fp)
			}
		}
		var tag, print string
		for tag = range again.Estimates.Keys {
		}
		for _, print = range first.Prints.Tunnels {
		}
		if (pepper == nil) != (tag == print) {
			t.Errorf("pepper %t: tag %q: without a pepper the tag is the fingerprint, with one it is not", pepper != nil, tag)
		}
		otherEstimator := planted()
		otherEstimator.Estimator += "x"
		for name, tc := range map[string]struct {
			pepper []byte
			known  *KeyPrints
			prev   *Estimates
		}{
			"another salt":      {pepper, &KeyPrints{}, planted()},
			"another pepper":    {pepperB, &KeyPrints{Salt: salt}, planted()},
			"another estimator": {pepper, &KeyPrints{Salt: salt}, otherEstimator},
		} {
			c, _ := run(tc.pepper, tc.known, tc.prev)
			if g := c.Tunnels[0].PSK.Guesses; g == nil || *g == 4242 {
				t.Errorf("pepper %t, %s: guesses %v, want zxcvbn's", pepper != nil, name, g)
			}
		}
	}
}
