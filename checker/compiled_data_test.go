package checker

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vpncheck/vpncheck/bench/synth"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/policies"
)

var diffConfigs = flag.Int("diff.configs", 10,
	"random policy data configurations the compiled/interpreted differential test judges (go test ./checker -run VariedData -diff.configs 500)")

// teamEngine loads the built-in policies with a team's files beside them.
func teamEngine(t testing.TB, files fstest.MapFS) *Engine {
	t.Helper()
	eng, err := NewEngine(context.Background(), Policies{Builtin: policies.FS, Custom: files, Source: "team"})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// dataFile is a team's data.json setting config (a part of
// data.vpncheck.config; the rest stays built-in).
func dataFile(t testing.TB, config map[string]any) fstest.MapFS {
	t.Helper()
	raw, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{"vpncheck/config/data.json": {Data: raw}}
}

// variedInventory writes n generated connections of every oddity.
func variedInventory(t testing.TB, n int, seed uint64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inv.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := synth.Write(f, synth.Options{Connections: n, DistinctKeys: 30, DualEvery: 2, Seed: seed, Vary: true, Region: "cn-hangzhou"}); err != nil {
		t.Fatal(err)
	}
	return path
}

// The values the generated inventories use, and a few they never do.
var (
	algorithms = []string{"aes", "aes192", "aes256", "des", "3des", "sm4", "md5", "sha1", "sha256", "sha384", "sha512", "sm3",
		"group1", "group2", "group5", "group14", "group24", "ikev1", "ikev2", "main", "aggressive", "disabled", "AES256", "chacha"}
	severities = []string{"info", "low", "medium", "high", "critical"}
)

// randomConfig draws a team's policy data from the schema's space:
// thresholds, value lists, severities by rule and by value, disabled
// rules, exceptions, tag exception policy; each key present or not.
func randomConfig(rng *rand.Rand, rules []string) map[string]any {
	pick := func(list []string, min int) []any {
		n := min + rng.IntN(len(list)-min+1)
		out := []any{}
		for _, i := range rng.Perm(len(list))[:n] {
			out = append(out, list[i])
		}
		return out
	}
	maybe := func() bool { return rng.IntN(2) == 0 }
	cfg := map[string]any{}
	if maybe() {
		values := map[string]any{}
		// The built-in data's preferred values (the fixes' targets) must
		// stay allowed: the loader refuses a preferred value a rule flags.
		preferred := map[string]string{"encryption": "aes256", "integrity": "sha256", "dh_group": "group14", "ike_version": "ikev2", "ike_mode": "main"}
		for _, k := range []string{"encryption", "integrity", "dh_group", "ike_version", "ike_mode"} {
			if maybe() {
				var all []any
				for _, v := range pick(algorithms, 2) {
					if v != preferred[k] {
						all = append(all, v)
					}
				}
				cut := rng.IntN(len(all))
				values[k] = map[string]any{"allowed": append([]any{preferred[k]}, all[:cut]...), "denied": all[cut:]}
			}
		}
		if maybe() {
			values["pfs_disabled"] = pick([]string{"disabled", "none", "off"}, 1)
		}
		cfg["values"] = values
	}
	if maybe() {
		cfg["china_crypto_algorithms"] = pick([]string{"sm3", "sm4", "aes"}, 0)
	}
	if maybe() {
		psk := map[string]any{}
		if maybe() {
			psk["min_length"] = 1 + rng.IntN(40)
		}
		if maybe() {
			psk["min_guesses"] = []float64{1, 1e6, 1e10, 1e14, 1e20}[rng.IntN(5)]
		}
		if maybe() {
			psk["banned"] = pick([]string{"123456", "password", "vpn", "aliyun", "Secret", "key-0"}, 1)
		}
		if maybe() {
			psk["estimate_max_length"] = 16 + rng.IntN(60)
		}
		cfg["psk"] = psk
	}
	if maybe() {
		cfg["status"] = map[string]any{
			"tunnel_established":  pick([]string{"ipsec_sa_established", "ike_sa_established", "up"}, 1),
			"bgp_up":              pick([]string{"success", "up", "false"}, 1),
			"health_check_failed": pick([]string{"failed", "down", "unknown"}, 1),
		}
	}
	if maybe() {
		cfg["subnets"] = map[string]any{"any": pick([]string{"0.0.0.0/0", "10.0.0.0/8", "::/0"}, 1)}
	}
	if maybe() {
		byRule, byValue := map[string]any{}, map[string]any{}
		for _, r := range rules {
			if rng.IntN(4) == 0 {
				byRule[r] = severities[rng.IntN(5)]
			}
		}
		for _, r := range []string{"ike-weak-integrity", "ipsec-weak-encryption", "ike-weak-dh-group"} {
			if maybe() {
				byValue[r] = map[string]any{algorithms[rng.IntN(len(algorithms))]: severities[rng.IntN(5)]}
			}
		}
		cfg["severity"] = map[string]any{"by_rule": byRule, "by_value": byValue}
	}
	if maybe() {
		cfg["disabled_rules"] = pick(rules, 0)[:rng.IntN(4)]
	}
	if maybe() {
		var ex []any
		for range rng.IntN(4) {
			conn := "*"
			if maybe() {
				conn = fmt.Sprintf("vco-synth-%05d", rng.IntN(50))
			}
			ex = append(ex, map[string]any{"rule": rules[rng.IntN(len(rules))], "connection_id": conn,
				"reason": "accepted", "owner": "team", "expires": []string{"2025-12-31", "2026-01-02", "2027-06-30"}[rng.IntN(3)]})
		}
		cfg["exceptions"] = ex
	}
	if maybe() {
		cfg["tag_exceptions"] = map[string]any{"max_days": 1 + rng.IntN(400), "max_severity": severities[rng.IntN(5)],
			"require_reason": maybe(), "require_owner": maybe()}
	}
	return cfg
}

// A team's data keeps the built-in rules compiled, and the compiled rules
// read it exactly as OPA does: random configurations over the schema's
// space (thresholds, lists, severities, disabled rules, exceptions), each
// judged both ways on generated connections of every oddity.
func TestDifferentialVariedData(t *testing.T) {
	var rules []string
	for _, r := range builtin(t).Rules() {
		rules = append(rules, r.ID)
	}
	rng := rand.New(rand.NewPCG(5, 8))
	inv := variedInventory(t, 100, 9)
	opt := Options{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), MinSeverity: report.Info}
	judged, findings := 0, 0
	for i := range *diffConfigs {
		cfg := randomConfig(rng, rules)
		raw, _ := json.Marshal(cfg)
		eng, err := NewEngine(context.Background(), Policies{Builtin: policies.FS, Custom: dataFile(t, cfg), Source: "team"})
		if err != nil {
			// The schema refuses some draws (an algorithm both allowed
			// and denied): that is the loader's business, not this test's.
			if !strings.Contains(err.Error(), "config") {
				t.Fatalf("config %d %s: %v", i, raw, err)
			}
			continue
		}
		if !eng.Compiled() {
			t.Fatalf("config %d %s: a team's data took the built-in rules off the compiled path", i, raw)
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			findings += checkBoth(t, eng, interpreted(t, eng), opt, inv)
		})
		judged++
	}
	t.Logf("%d of %d configurations judged alike: %d findings", judged, *diffConfigs, findings)
	if judged < *diffConfigs/2 || findings == 0 {
		t.Fatalf("only %d configurations loaded and %d findings: the draws test too little", judged, findings)
	}
}

// A runtime whose object.union let the left side win would still pass
// with the built-in data; with a team's thresholds it must not.
func TestCompiledReadsTheTeamsThresholds(t *testing.T) {
	inv := variedInventory(t, 60, 3)
	opt := Options{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), MinSeverity: report.Info}
	count := func(e *Engine, rule string) int {
		in := inventory.New()
		if err := in.ReadFile(inv, ""); err != nil {
			t.Fatal(err)
		}
		res, err := e.Check(context.Background(), in, opt)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range res.Report.Findings {
			if f.Rule == rule {
				n++
			}
		}
		return n
	}
	strict := teamEngine(t, dataFile(t, map[string]any{"psk": map[string]any{"min_length": 200, "min_guesses": 1e300}}))
	if !strict.Compiled() {
		t.Fatal("a team's thresholds left the compiled path")
	}
	if a, b := count(builtin(t), "psk-weak"), count(strict, "psk-weak"); b <= a {
		t.Errorf("psk-weak fired %d times with the built-in data and %d with a 200-character minimum", a, b)
	}
	checkBoth(t, strict, interpreted(t, strict), opt, inv)

	off := teamEngine(t, dataFile(t, map[string]any{"disabled_rules": []any{"psk-weak", "ike-v1"}}))
	if n := count(off, "psk-weak") + count(off, "ike-v1"); n != 0 || !off.Compiled() {
		t.Errorf("disabled rules still fired %d times (compiled %v)", n, off.Compiled())
	}
}

// A team's own rules run in OPA beside the compiled built-in rules, with
// the same findings as an all-OPA run; a team module that could see or
// change a built-in rule's results sends everything to OPA.
func TestTeamRulesBesideCompiled(t *testing.T) {
	inv := variedInventory(t, 120, 4)
	opt := Options{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), MinSeverity: report.Info}

	beside := teamEngine(t, fstest.MapFS{"name.rego": {Data: []byte(customRule)}})
	if !beside.Compiled() || beside.team == nil {
		t.Fatalf("a separate team rule: compiled %v, team query %v", beside.Compiled(), beside.team != nil)
	}
	if n := checkBoth(t, beside, interpreted(t, beside), opt, inv, "../testdata/sample.json"); n == 0 {
		t.Fatal("no findings")
	}
	// The team's rule is judged, and a team's data applies to it too.
	withData := teamEngine(t, fstest.MapFS{"name.rego": {Data: []byte(customRule)},
		"vpncheck/config/data.json": {Data: []byte(`{"severity": {"by_rule": {"name-missing": "high", "psk-weak": "low"}}, "disabled_rules": ["ike-v1"]}`)}})
	if !withData.Compiled() || withData.team == nil {
		t.Fatal("a team rule with data left the compiled path")
	}
	checkBoth(t, withData, interpreted(t, withData), opt, inv, "../testdata/sample.json")

	for _, tc := range []struct{ name, rego string }{
		{"reads a built-in rule", strings.Replace(customRule, "not input.connection.name", "count(data.vpncheck.rules.psk_weak.deny) > 0", 1)},
		{"reads every rule", strings.Replace(customRule, "not input.connection.name", "some r in data.vpncheck.rules\n\tr.deny", 1)},
		{"reads the entrypoint", strings.Replace(customRule, "not input.connection.name", "count(data.vpncheck.main.findings) > 1", 1)},
		{"adds to a built-in rule's package", strings.Replace(customRule, "package vpncheck.rules.name_missing", "package vpncheck.rules.psk_weak", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, err := NewEngine(context.Background(), Policies{Builtin: policies.FS, Custom: fstest.MapFS{"x.rego": {Data: []byte(tc.rego)}}, Source: "team"})
			if err != nil {
				t.Logf("the loader refuses it, which is as safe: %v", err)
				return
			}
			if eng.Compiled() || eng.team != nil {
				t.Fatalf("compiled %v beside a team module that %s", eng.Compiled(), tc.name)
			}
		})
	}
}
