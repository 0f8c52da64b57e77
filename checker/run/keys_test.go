package run

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/lifecycle"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/state"
)

const (
	keyA = "CANARY-RUN-KEY-A-Vt8#qL2m!Zr5wX9p"
	keyB = "CANARY-RUN-KEY-B-Kd3nB7cF1hJ6sQ4z"
	keyC = "CANARY-RUN-KEY-C-Wq5%tY8u@Ep3rN6m"
)

// withKeys writes the sample with the connections' keys set by id (a
// connection not named is left out).
func withKeys(t *testing.T, keys map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var keep []any
	for _, c := range doc["VpnConnections"].(map[string]any)["VpnConnection"].([]any) {
		m := c.(map[string]any)
		if k, ok := keys[m["VpnConnectionId"].(string)]; ok {
			m["IkeConfig"].(map[string]any)["Psk"] = k
			keep = append(keep, m)
		}
	}
	b, _ = json.Marshal(map[string]any{"RegionId": "cn-hangzhou", "TotalCount": len(keep), "VpnConnections": map[string]any{"VpnConnection": keep}})
	p := filepath.Join(t.TempDir(), "inventory.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func reused(rep *report.Report) map[string]string {
	m := map[string]string{}
	for _, f := range rep.Findings {
		if f.Rule == "psk-reused" {
			m[f.ConnectionID] = string(f.Status) + ": " + f.Message
		}
	}
	return m
}

// A change event's run tells psk-reused at once: a whole run leaves the
// fingerprints of every key in the state, and the event compares its
// connection's key with the others'. No key is ever in the state.
func TestChangeEventFindsAReusedKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := state.Open(ctx, dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, n := engine(t), &fakeNotifier{failPart: -1}
	event := func(key string, at time.Duration, file string) Outcome {
		p := plan(t, eng, store, n, key, at, file)
		p.Scope = &Scope{Region: "cn-hangzhou", ConnectionID: connA}
		p.Change = &report.Change{Event: "ModifyVpnConnectionAttribute", ConnectionID: connA, Region: "cn-hangzhou"}
		return Execute(ctx, p)
	}
	keys := func() map[string]string {
		_, g, err := newLedger(store, "1234", time.Now).latest(ctx)
		if err != nil || g.State.Keys == nil {
			t.Fatalf("state: %v, %+v", err, g.State)
		}
		return g.State.Keys.Tunnels
	}

	full := Execute(ctx, plan(t, eng, store, n, "hourly@10", 0, withKeys(t, map[string]string{connA: keyA, connB: keyB})))
	if full.Err != nil || len(reused(full.Report)) != 0 {
		t.Fatalf("full run: %v, reused %v", full.Err, reused(full.Report))
	}
	printed := keys()
	if len(printed) != 2 {
		t.Fatalf("prints %v", printed)
	}

	// A takes B's key: psk-reused is new on A, shared by 2 tunnels.
	out := event("event:1", 10*time.Minute, oneConnection(t, connA, func(c map[string]any) {
		c["IkeConfig"].(map[string]any)["Psk"] = keyB
	}))
	if got := reused(out.Report); out.Err != nil || got[connA] != "new: pre-shared key is shared by 2 tunnels" || len(got) != 1 {
		t.Errorf("event: %v, reused %v", out.Err, got)
	}
	after := keys()
	var fpA, fpB string
	for place, fp := range after {
		if strings.Contains(place, "vco-gw8tylx7hvwhl7tu8") {
			fpA = fp
		} else {
			fpB = fp
		}
	}
	if len(after) != 2 || fpA != fpB || fpB == "" {
		t.Errorf("prints after the event %v", after)
	}

	// A takes a key of its own: the reuse on A is resolved by the change.
	out = event("event:2", 20*time.Minute, oneConnection(t, connA, func(c map[string]any) {
		c["IkeConfig"].(map[string]any)["Psk"] = keyC
	}))
	if out.Err != nil || len(reused(out.Report)) != 0 || len(out.Report.Resolved) != 1 || out.Report.Resolved[0].Rule != "psk-reused" {
		t.Errorf("second event: %v, reused %v, resolved %+v", out.Err, reused(out.Report), out.Report.Resolved)
	}

	// A is deleted: its prints leave the state; B's stay.
	if out = event("event:3", 30*time.Minute, oneConnection(t, connA, nil)); out.Err != nil {
		t.Fatal(out.Err)
	}
	if after := keys(); len(after) != 1 || after[placeOf(t, after, "vco-gw837v1ybfh74b6dy")] != printed[placeOf(t, printed, "vco-gw837v1ybfh74b6dy")] {
		t.Errorf("prints after the delete %v", after)
	}

	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), "CANARY") {
			t.Errorf("%s holds a key", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func placeOf(t *testing.T, m map[string]string, conn string) string {
	t.Helper()
	for p := range m {
		if strings.Contains(p, conn) {
			return p
		}
	}
	t.Fatalf("no print of %s in %v", conn, m)
	return ""
}

// What a run compares its keys with, and whether it makes prints at all.
func TestKnownKeys(t *testing.T) {
	state := &lifecycle.KeyPrints{Salt: "s", Tunnels: map[string]string{"r/c/t": "fp"}}
	scope := &Scope{Region: "r", ConnectionID: "c"}
	for _, tc := range []struct {
		name string
		p    Plan
		k    *lifecycle.KeyPrints
		want *lifecycle.KeyPrints
	}{
		{"whole run: the salt alone", Plan{}, state, &lifecycle.KeyPrints{Salt: "s"}},
		{"whole run, no prints yet", Plan{}, nil, &lifecycle.KeyPrints{}},
		{"whole dry run: none made", Plan{ReadOnlyState: true}, state, nil},
		{"event: every print", Plan{Scope: scope}, state, state},
		{"dry event: every print", Plan{Scope: scope, ReadOnlyState: true}, state, state},
		{"event, no prints yet", Plan{Scope: scope}, nil, &lifecycle.KeyPrints{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.p.knownKeys(tc.k)
			if (got == nil) != (tc.want == nil) || got != nil && (got.Salt != tc.want.Salt || len(got.Tunnels) != len(tc.want.Tunnels)) {
				t.Errorf("%+v, want %+v", got, tc.want)
			}
		})
	}
}
