package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vpncheck/vpncheck/bench/synth"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/keys"
	"github.com/vpncheck/vpncheck/checker/report"
)

// fleet is an inventory being changed between runs: raw connections, as
// DescribeVpnConnections gives them.
type fleet struct {
	conns []map[string]any
	next  int // the next new connection's number
}

func newFleet(t *testing.T, n int, seed uint64) *fleet {
	t.Helper()
	var buf bytes.Buffer
	if err := synth.Write(&buf, synth.Options{Connections: n, DistinctKeys: n, DualEvery: 3, Seed: seed, Vary: true, Region: "cn-hangzhou"}); err != nil {
		t.Fatal(err)
	}
	var body struct {
		VpnConnections struct{ VpnConnection []map[string]any }
	}
	if err := json.Unmarshal(buf.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	return &fleet{conns: body.VpnConnections.VpnConnection, next: n}
}

func (f *fleet) write(t *testing.T, path string) {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"RegionId": "cn-hangzhou", "VpnConnections": map[string]any{"VpnConnection": f.conns}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// psks are the places of a raw connection's keys: the maps holding "Psk".
func psks(v any) []map[string]any {
	var out []map[string]any
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["Psk"].(string); ok {
			out = append(out, x)
		}
		for _, c := range x {
			out = append(out, psks(c)...)
		}
	case []any:
		for _, c := range x {
			out = append(out, psks(c)...)
		}
	}
	return out
}

// copyOf is a deep copy of a raw connection.
func copyOf(t *testing.T, c map[string]any) map[string]any {
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// change makes one random change of the kinds a fleet sees between runs.
func (f *fleet) change(t *testing.T, r *rand.Rand) string {
	if len(f.conns) < 2 {
		return "none"
	}
	i, j := r.IntN(len(f.conns)), r.IntN(len(f.conns))
	c, other := f.conns[i], f.conns[j]
	switch r.IntN(8) {
	case 0: // a setting changed
		for _, p := range []string{"IkeConfig", "IpsecConfig"} {
			if m, ok := c[p].(map[string]any); ok {
				m["IkeEncAlg"], m["IpsecEncAlg"] = []string{"des", "aes256", "sm4"}[r.IntN(3)], "aes"
			}
		}
		c["EnableDpd"] = r.IntN(2) == 0
		return "setting"
	case 1: // removed
		f.conns = append(f.conns[:i], f.conns[i+1:]...)
		return "removed"
	case 2: // added
		n := copyOf(t, other)
		f.next++
		n["VpnConnectionId"] = fmt.Sprintf("vco-added%05d", f.next)
		for _, p := range psks(n) {
			p["Psk"] = fmt.Sprintf("Fresh!key-%d-%d", f.next, r.IntN(1000))
		}
		f.conns = append(f.conns, n)
		return "added"
	case 3: // its key changed to another connection's
		if from, to := psks(other), psks(c); len(from) > 0 && len(to) > 0 {
			to[0]["Psk"] = from[r.IntN(len(from))]["Psk"]
		}
		return "key reused"
	case 4: // another connection's key in its name
		if from := psks(other); len(from) > 0 {
			c["Name"] = "site " + from[0]["Psk"].(string)
		}
		return "key in name"
	case 5: // a key of its own again
		for _, p := range psks(c) {
			p["Psk"] = fmt.Sprintf("Own#key-%d", r.IntN(1<<30))
		}
		return "new key"
	case 6: // a weak key
		if to := psks(c); len(to) > 0 {
			to[0]["Psk"] = []string{"123456", "password", "vpn-key-1"}[r.IntN(3)]
		}
		return "weak key"
	}
	return "none" // nothing changed
}

// comparable is a report as the incremental and the fresh run must agree
// on it: everything but judged_afresh.
func comparable(t *testing.T, res *Result) string {
	t.Helper()
	rep := *res.Report
	rep.Summary.JudgedAfresh = nil
	raw, err := json.Marshal(struct {
		Report             report.Report
		Suppressed, Hidden []report.Finding
		Prints             *keys.KeyPrints
	}{rep, res.Suppressed, res.Hidden, res.KeyPrints})
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// A run that takes the last run's findings and estimates reports what a
// run from scratch reports, over random sequences of changes: settings,
// connections added and removed, keys moved to other connections, keys in
// other connections' names; with and without a pepper.
func TestIncrementalEqualsFresh(t *testing.T) {
	eng := builtin(t)
	for _, pepper := range [][]byte{nil, []byte("a pepper of the test")} {
		for seed := uint64(1); seed <= 2; seed++ {
			t.Run(fmt.Sprintf("pepper=%t/seed=%d", pepper != nil, seed), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 22))
				fl := newFleet(t, 40, seed)
				path := filepath.Join(t.TempDir(), "inv.json")
				var prev *Memory
				salt := ""
				reused := 0
				now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
				for step := range 10 {
					var what []string
					for range r.IntN(4) {
						what = append(what, fl.change(t, r))
					}
					fl.write(t, path)
					opt := Options{Now: now.Add(time.Duration(step) * time.Hour), MinSeverity: report.Low, AccountID: "1234", KeyPepper: pepper,
						KnownKeys: &keys.KeyPrints{Salt: salt}}
					inc := opt
					inc.Remember, inc.Previous = true, prev
					got := check(t, eng, path, inc)
					if salt == "" {
						salt = got.KeyPrints.Salt
						opt.KnownKeys = &keys.KeyPrints{Salt: salt}
					}
					want := check(t, eng, path, opt)
					if a, b := comparable(t, got), comparable(t, want); a != b {
						t.Fatalf("step %d (%v): the incremental run's report differs from a fresh run's:\n%s\n%s", step, what, a, b)
					}
					n := got.Report.Summary.Connections
					if step > 0 && *got.Report.Summary.JudgedAfresh >= n {
						t.Errorf("step %d (%v): %d of %d connections judged afresh", step, what, *got.Report.Summary.JudgedAfresh, n)
					}
					reused += n - *got.Report.Summary.JudgedAfresh
					prev = roundTrip(t, got.Memory)
				}
				if reused == 0 {
					t.Fatal("no connection took the last run's findings")
				}
			})
		}
	}
}

func check(t *testing.T, eng *Engine, path string, opt Options) *Result {
	t.Helper()
	inv := inventory.New()
	if err := inv.ReadFile(path, ""); err != nil {
		t.Fatal(err)
	}
	res, err := eng.Check(context.Background(), inv, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// roundTrip is m as the next run reads it from the state.
func roundTrip(t *testing.T, m *Memory) *Memory {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out Memory
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// What invalidates the memory re-judges every connection: other policy
// data, another salt, another pepper, a memory of another version.
func TestIncrementalRejudgesOnChange(t *testing.T) {
	eng := builtin(t)
	path := variedInventory(t, 40, 7)
	first := check(t, eng, path, Options{Now: fixedNow, KnownKeys: &keys.KeyPrints{}, Remember: true})
	salt := first.KeyPrints.Salt
	again := func(eng *Engine, salt string, pepper []byte, prev *Memory) int {
		res := check(t, eng, path, Options{Now: fixedNow, KnownKeys: &keys.KeyPrints{Salt: salt}, KeyPepper: pepper, Remember: true, Previous: prev})
		return *res.Report.Summary.JudgedAfresh
	}
	n := first.Report.Summary.Connections
	if got := again(eng, salt, nil, roundTrip(t, first.Memory)); got != 0 {
		t.Fatalf("nothing changed: %d of %d judged afresh, want 0", got, n)
	}
	other := teamEngine(t, dataFile(t, map[string]any{"psk": map[string]any{"min_length": 21}}))
	oldVersion := roundTrip(t, first.Memory)
	oldVersion.Version = memoryVersion - 1
	for name, got := range map[string]int{
		"other data":     again(other, salt, nil, roundTrip(t, first.Memory)),
		"other salt":     again(eng, "", nil, roundTrip(t, first.Memory)),
		"a pepper now":   again(eng, salt, []byte("pepper"), roundTrip(t, first.Memory)),
		"older memory":   again(eng, salt, nil, oldVersion),
		"no memory":      again(eng, salt, nil, nil),
		"another engine": again(interpreted(t, eng), salt, nil, roundTrip(t, first.Memory)),
	} {
		want := n
		if name == "another engine" {
			want = 0 // the same policies, compiled or not, judge alike
		}
		if got != want {
			t.Errorf("%s: %d of %d judged afresh, want %d", name, got, n, want)
		}
	}
}

// The memory a run leaves holds no key: not in the digests, the tags or
// the texts, though keys show in names, ids and tags.
func TestMemoryHoldsNoKey(t *testing.T) {
	const canary = "CANARY-psk-7f3a9e1b"
	inv := `{"RegionId": "cn-hangzhou", "VpnConnections": {"VpnConnection": [
		{"VpnConnectionId": "vco-1", "Name": "site ` + canary + `", "Tag": {"Tag": [{"Key": "k", "Value": "` + canary + `"}]},
		 "IkeConfig": {"IkeVersion": "ikev1", "IkeEncAlg": "des", "LocalId": "` + canary + `", "Psk": "` + canary + `"}},
		{"VpnConnectionId": "vco-2", "Name": "other", "IkeConfig": {"IkeVersion": "ikev2", "Psk": "` + canary + `"}},
		{"VpnConnectionId": "vco-3", "Name": "weak", "IkeConfig": {"IkeVersion": "ikev2", "Psk": "123456"}}]}}`
	path := writeFile(t, "inv.json", inv)
	for _, pepper := range [][]byte{nil, []byte("pepper")} {
		res := check(t, builtin(t), path, Options{Now: fixedNow, KnownKeys: &keys.KeyPrints{}, KeyPepper: pepper, Remember: true})
		raw, err := json.Marshal(res.Memory)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Memory.Judged) != 3 || len(res.Memory.Keys.Keys) != 2 {
			t.Fatalf("memory of %d connections and %d keys, want 3 and 2: %s", len(res.Memory.Judged), len(res.Memory.Keys.Keys), raw)
		}
		for _, s := range []string{canary, strings.ToLower(canary), "123456"} {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("pepper %t: the memory holds a key (%q): %s", pepper != nil, s, raw)
			}
		}
	}
}

// A reused finding is the fresh one: its exceptions are applied on the
// run's clock (one that expired since is not applied), and its fix is
// made from the connection's settings.
func TestReusedFindingsTakeTheRunsExceptions(t *testing.T) {
	eng := builtin(t)
	inv := `{"RegionId": "cn-hangzhou", "VpnConnections": {"VpnConnection": [
		{"VpnConnectionId": "vco-1", "Name": "a", "Tag": {"Tag": [{"Key": "vpncheck:exception", "Value": "ike-v1, ike-weak-encryption"}, {"Key": "vpncheck:exception-expires", "Value": "2026-06-01"}, {"Key": "vpncheck:exception-reason", "Value": "migration"}, {"Key": "vpncheck:exception-owner", "Value": "netops"}]},
		 "IkeConfig": {"IkeVersion": "ikev1", "IkeEncAlg": "des", "Psk": "Qx7!a-long-enough-key-Zr2#"}}]}}`
	path := writeFile(t, "inv.json", inv)
	before := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	first := check(t, eng, path, Options{Now: before, KnownKeys: &keys.KeyPrints{}, Remember: true})
	salt := first.KeyPrints.Salt
	var suppressed []int
	for _, now := range []time.Time{before, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)} {
		opt := Options{Now: now, KnownKeys: &keys.KeyPrints{Salt: salt}}
		want := check(t, eng, path, opt)
		opt.Remember, opt.Previous = true, roundTrip(t, first.Memory)
		got := check(t, eng, path, opt)
		suppressed = append(suppressed, got.Report.Summary.Suppressed)
		if *got.Report.Summary.JudgedAfresh != 0 {
			t.Fatalf("%s: %d judged afresh, want 0", now, *got.Report.Summary.JudgedAfresh)
		}
		if a, b := comparable(t, got), comparable(t, want); a != b {
			t.Errorf("%s: reused findings differ from fresh ones:\n%s\n%s", now, a, b)
		}
		for i := range got.Report.Findings {
			g, w := got.Report.Findings[i], want.Report.Findings[i]
			if (g.Fixer == nil) != (w.Fixer == nil) {
				t.Fatalf("%s: finding %s has a fixer %t, fresh %t", now, g.ID, g.Fixer != nil, w.Fixer != nil)
			}
			if g.Fixer != nil {
				gf, wf := g.FixNow(), w.FixNow()
				if !reflect.DeepEqual(gf, wf) {
					t.Errorf("%s: finding %s's fix %+v, fresh %+v", now, g.ID, gf, wf)
				}
			}
		}
	}
	if suppressed[0] != 2 || suppressed[1] != 0 {
		t.Errorf("suppressed before and after the exception expired: %v, want [2 0]", suppressed)
	}
}

// A memory whose entries are not findings the rules could give (a text
// out of the table, no message, a severity or side of no kind) does not
// stand in for the rules: the connection is judged afresh.
func TestDamagedMemoryIsJudgedAfresh(t *testing.T) {
	eng := builtin(t)
	path := variedInventory(t, 10, 3)
	first := check(t, eng, path, Options{Now: fixedNow, KnownKeys: &keys.KeyPrints{}, Remember: true})
	salt := first.KeyPrints.Salt
	want := comparable(t, check(t, eng, path, Options{Now: fixedNow, KnownKeys: &keys.KeyPrints{Salt: salt}}))
	for name, damage := range map[string]func(*[8]int){
		"text out of the table": func(r *[8]int) { r[2] = 1 << 20 },
		"no message":            func(r *[8]int) { r[2] = 0 },
		"no severity":           func(r *[8]int) { r[7] = 9 },
		"a side of no kind":     func(r *[8]int) { r[6] = r[0] },
	} {
		m := roundTrip(t, first.Memory)
		damaged := 0
		for _, refs := range m.Judged {
			for i := range refs {
				damage(&refs[i])
			}
			if len(refs) > 0 {
				damaged++
			}
		}
		got := check(t, eng, path, Options{Now: fixedNow, KnownKeys: &keys.KeyPrints{Salt: salt}, Remember: true, Previous: m})
		if a := *got.Report.Summary.JudgedAfresh; a != damaged || damaged == 0 {
			t.Errorf("%s: %d judged afresh, want the %d damaged", name, a, damaged)
		}
		if comparable(t, got) != want {
			t.Errorf("%s: the report differs from a fresh run's", name)
		}
	}
}

// A memory that does not read is no memory: the run judges everything
// afresh, and what holds it (the state's generation) still reads.
func TestUnreadableMemoryIsNone(t *testing.T) {
	for _, doc := range []string{
		`{"v": 1, "revision": "r", "texts": [""], "judged": "digest 1,2,x"}`,
		`{"v": 1, "revision": "r", "texts": [""], "judged": "digest 1,2,3"}`,
		`{"v": 1, "revision": "r", "texts": [""], "judged": 7}`,
		`{"v": 1, "revision": "r", "texts": [""], "judged": "", "keys": {"salt": "s", "estimator": "e", "keys": "tag - x 3\n"}}`,
		`{"v": 1, "revision": "r", "texts": [""], "judged": "", "keys": {"salt": "s", "estimator": "e", "keys": "tag - NaN 3\n"}}`,
		`{"v": 1, "revision": "r", "texts": [""], "judged": "", "keys": {"salt": "s", "estimator": "e", "keys": "tag - -5 3\n"}}`,
	} {
		var holder struct {
			Memory *Memory `json:"m"`
			After  string  `json:"after"`
		}
		if err := json.Unmarshal([]byte(`{"m": `+doc+`, "after": "read"}`), &holder); err != nil || holder.After != "read" {
			t.Fatalf("%s: the holder did not read: %v", doc, err)
		}
		m := holder.Memory
		if m.Version != 0 || m.Judged != nil || m.Keys != nil || m.Unreadable == nil {
			t.Errorf("%s: read as %+v, want no memory, and why", doc, m)
		}
	}
}

// Merge keeps what the last run judged only when every text it names is
// there: a damaged finding is not carried on with a text turned "".
func TestMergeDropsFindingsNamingNoText(t *testing.T) {
	m := &Memory{Version: memoryVersion, Revision: "r", Texts: []string{""}, Judged: map[string][][8]int{}}
	prev := &Memory{Version: memoryVersion, Revision: "r", Texts: []string{"", "rule", "title", "message", "fix"},
		Judged: map[string][][8]int{
			"good":    {{1, 2, 3, 4, 0, 0, 0, 2}},
			"damaged": {{1, 2, 3, 99, 0, 0, 0, 2}},
			"none":    {},
		}}
	m.Merge(prev)
	if _, ok := m.Judged["damaged"]; ok {
		t.Errorf("the damaged connection was kept: %v (texts %q)", m.Judged["damaged"], m.Texts)
	}
	for _, d := range []string{"good", "none"} {
		if _, ok := m.Judged[d]; !ok {
			t.Errorf("%s was not kept", d)
		}
	}
	if ref := m.Judged["good"][0]; m.Texts[ref[3]] != "fix" {
		t.Errorf("good's remediation is %q, want fix", m.Texts[ref[3]])
	}
}

// A team rule that reads the clock is not a function of its input: its
// findings are never recalled, and every connection is judged afresh.
func TestClockedPoliciesAreNotRecalled(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cond    string
		clocked bool
	}{
		{"input only", `not input.connection.name`, false},
		{"the clock", `time.now_ns() > 0`, true},
		{"the clock in a call", `count(sprintf("%d", [time.now_ns()])) > 0`, true},
	} {
		rule := strings.Replace(customRule, `not input.connection.name`, tc.cond, 1)
		eng := teamEngine(t, fstest.MapFS{"vpncheck/rules/name_missing/name_missing.rego": {Data: []byte(rule)}})
		if eng.clocked != tc.clocked {
			t.Fatalf("%s: clocked %t, want %t", tc.name, eng.clocked, tc.clocked)
		}
		path := variedInventory(t, 5, 1)
		first := check(t, eng, path, Options{Now: fixedNow, KnownKeys: &keys.KeyPrints{}, Remember: true})
		again := check(t, eng, path, Options{Now: fixedNow, KnownKeys: &keys.KeyPrints{Salt: first.KeyPrints.Salt}, Remember: true, Previous: roundTrip(t, first.Memory)})
		want := 0
		if tc.clocked {
			want = again.Report.Summary.Connections
		}
		if got := *again.Report.Summary.JudgedAfresh; got != want {
			t.Errorf("%s: %d judged afresh, want %d", tc.name, got, want)
		}
	}
}
