package compiled_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/vpncheck/vpncheck/checker/compiled"
	"github.com/vpncheck/vpncheck/checker/compiled/rt"
	"github.com/vpncheck/vpncheck/policies"
	"github.com/vpncheck/vpncheck/tools/irgen/gen"
)

var randomInputs = flag.Int("compiled.random", 1000, "random policy inputs the differential test evaluates both ways")

// The generated code is what the generator makes of today's policies and
// data, byte for byte: a change to a rule, the data or the generator
// without `go generate ./checker/compiled` fails here.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	want, err := gen.Generate(context.Background(), "compiled")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("policy_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("policy_gen.go is stale: the built-in policies, their data or tools/irgen changed; run go generate ./checker/compiled")
	}
	set := load(t, policies.Options{})
	h, err := rt.SourceHash(set.Modules)
	if err != nil {
		t.Fatal(err)
	}
	if h != compiled.SourceHash {
		t.Fatalf("SourceHash %s, the built-in policies hash to %s", compiled.SourceHash, h)
	}
}

// For gives the compiled built-in rules whenever the built-in modules are
// the ones the code was generated from: over a team's data too, and
// beside a team's rules (which the engine runs in OPA); not when the
// built-in rules are left out.
func TestForTheBuiltInModules(t *testing.T) {
	set := load(t, policies.Options{})
	if p, err := compiled.For(set.Modules, set.Data); err != nil || p == nil {
		t.Fatalf("built-in set: %v, %v", p, err)
	}
	set.Data["vpncheck"].(map[string]any)["config"].(map[string]any)["disabled_rules"] = []any{"ike-v1"}
	if p, err := compiled.For(set.Modules, set.Data); err != nil || p == nil {
		t.Errorf("a data override left the compiled path: %v, %v", p, err)
	}
	custom := load(t, policies.Options{Custom: os.DirFS("../../examples/team-policies/custom_rule"), Source: "example"})
	if p, err := compiled.For(custom.Modules, custom.Data); err != nil || p == nil {
		t.Errorf("a team's rules took the built-in rules off the compiled path: %v, %v", p, err)
	}
	without := load(t, policies.Options{Custom: os.DirFS("../../examples/team-policies/custom_rule"), Source: "example", NoBuiltinRules: true})
	if p, _ := compiled.For(without.Modules, without.Data); p != nil {
		t.Error("the built-in rules left out, yet compiled code ran")
	}
}

// The generator refuses what the runtime does not implement.
func TestRuntimeBuiltinsAreOPAs(t *testing.T) {
	for name := range rt.Builtins {
		if ast.BuiltinMap[name] == nil {
			t.Errorf("%s is not an OPA built-in", name)
		}
	}
}

func load(t testing.TB, o policies.Options) *policies.Set {
	t.Helper()
	set, err := policies.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// Random policy inputs, far odder than the normaliser ever makes (absent
// fields, wrong types, odd case, unknown values, numbers of every shape),
// give the same findings, or the same failure, compiled and interpreted.
func TestDifferentialRandomInputs(t *testing.T) {
	set := load(t, policies.Options{})
	p, err := compiled.For(set.Modules, set.Data)
	if err != nil || p == nil {
		t.Fatalf("compiled: %v %v", p, err)
	}
	q, err := rego.New(rego.Query(policies.Query), rego.Compiler(set.Compiler), rego.Store(set.NewStore()),
		rego.StrictBuiltinErrors(true)).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	errs, findings := 0, 0
	for i := range *randomInputs {
		in := randomInput(rng)
		want, werr := interpreted(q, in)
		got, gerr := p.Findings(in)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("input %d %v:\ninterpreter error %v\ncompiled error %v", i, in, werr, gerr)
		}
		if werr != nil {
			errs++
			continue
		}
		if want.Compare(got) != 0 {
			t.Fatalf("input %d %v:\ninterpreter %v\ncompiled    %v", i, in, want, got)
		}
		findings += got.Len()
	}
	t.Logf("%d inputs: %d findings, %d failures alike", *randomInputs, findings, errs)
	if findings == 0 {
		t.Fatal("no findings at all: the inputs judge nothing")
	}
}

func interpreted(q rego.PreparedEvalQuery, in ast.Value) (ast.Set, error) {
	rs, err := q.Eval(context.Background(), rego.EvalParsedInput(in), rego.EvalGenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }))
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("undefined")
	}
	return rs[0].Expressions[0].Value.(*ast.Term).Value.(ast.Set), nil
}

var words = []string{
	"aes", "AES256", "aes192", "des", "3DES", "sm4", "chacha20", "", " aes",
	"sha256", "SHA1", "md5", "sm3", "sha384", "whirlpool",
	"group14", "Group2", "group5", "group1", "group19", "disabled", "DISABLED",
	"ikev1", "IKEv2", "ikev3", "main", "Aggressive", "aggressive",
	"ipsec_sa_established", "IPSEC_SA_ESTABLISHED", "ike_sa_not_established", "down",
	"success", "Success", "false", "failed", "FAILED", "0.0.0.0/0", "10.0.0.0/8",
	"tun-1", "tun-2", "name", "tag:env", "local_id", "100%", "%d", "%v",
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// scalar is a value of any type, mostly strings.
func scalar(rng *rand.Rand) *ast.Term {
	switch rng.IntN(12) {
	case 0:
		return ast.NewTerm(ast.Number(pick(rng, []string{"0", "1", "2", "15", "16", "17", "1e14", "1e+14", "99999999999999", "1.5", "-3", "1e400"})))
	case 1:
		return ast.BooleanTerm(rng.IntN(2) == 0)
	case 2:
		return ast.NullTerm()
	case 3:
		return ast.ArrayTerm(ast.StringTerm(pick(rng, words)))
	case 4:
		return ast.ObjectTerm()
	}
	return ast.StringTerm(pick(rng, words))
}

// field sets k in o to a value made by v, unless the dice leave it absent
// or give it a scalar of any type.
func field(rng *rand.Rand, o ast.Object, k string, v func() *ast.Term) {
	switch rng.IntN(10) {
	case 0:
		return
	case 1:
		o.Insert(ast.StringTerm(k), scalar(rng))
	default:
		o.Insert(ast.StringTerm(k), v())
	}
}

func randomInput(rng *rand.Rand) ast.Value {
	str := func() *ast.Term { return ast.StringTerm(pick(rng, words)) }
	boolean := func() *ast.Term { return ast.BooleanTerm(rng.IntN(3) != 0) }
	num := func(xs ...string) func() *ast.Term {
		return func() *ast.Term { return ast.NewTerm(ast.Number(pick(rng, xs))) }
	}
	strs := func() *ast.Term {
		n := rng.IntN(3)
		ts := make([]*ast.Term, n)
		for i := range ts {
			ts[i] = str()
		}
		return ast.ArrayTerm(ts...)
	}
	obj := func(fill func(ast.Object)) func() *ast.Term {
		return func() *ast.Term { o := ast.NewObject(); fill(o); return ast.NewTerm(o) }
	}
	conn := ast.NewObject()
	field(rng, conn, "id", str)
	field(rng, conn, "name", str)
	field(rng, conn, "local_subnets", strs)
	field(rng, conn, "remote_subnets", strs)
	field(rng, conn, "health_check", obj(func(o ast.Object) {
		field(rng, o, "enabled", boolean)
		field(rng, o, "status", str)
	}))
	field(rng, conn, "tags", obj(func(o ast.Object) { field(rng, o, "env", str) }))
	tunnel := func(id string) *ast.Term {
		o := ast.NewObject()
		if id != "" || rng.IntN(2) == 0 {
			field(rng, o, "id", func() *ast.Term { return ast.StringTerm(id) })
		}
		field(rng, o, "status", str)
		field(rng, o, "dpd", boolean)
		field(rng, o, "ike", obj(func(o ast.Object) {
			for _, k := range []string{"version", "mode", "encryption", "integrity", "dh_group"} {
				field(rng, o, k, str)
			}
		}))
		field(rng, o, "ipsec", obj(func(o ast.Object) {
			for _, k := range []string{"encryption", "integrity", "dh_group"} {
				field(rng, o, k, str)
			}
		}))
		field(rng, o, "bgp", obj(func(o ast.Object) {
			field(rng, o, "enabled", boolean)
			field(rng, o, "status", str)
		}))
		field(rng, o, "psk", obj(func(o ast.Object) {
			field(rng, o, "length", num("0", "6", "15", "16", "40"))
			field(rng, o, "banned", boolean)
			field(rng, o, "guesses", num("1", "1e3", "99999999999999", "100000000000000", "1e20", "12.5"))
			field(rng, o, "guesses_log10", num("0", "3", "13", "14", "20"))
			field(rng, o, "shared_with", num("0", "1", "2", "7"))
			field(rng, o, "exposed_in", strs)
		}))
		return ast.NewTerm(o)
	}
	var tunnels []*ast.Term
	switch rng.IntN(4) {
	case 0:
		tunnels = []*ast.Term{tunnel("")}
	case 1, 2:
		tunnels = []*ast.Term{tunnel("tun-1"), tunnel("tun-2")}
	}
	in := ast.NewObject()
	field(rng, in, "connection", func() *ast.Term { return ast.NewTerm(conn) })
	field(rng, in, "tunnels", func() *ast.Term { return ast.ArrayTerm(tunnels...) })
	if rng.IntN(50) == 0 {
		return ast.String(strings.Repeat("x", rng.IntN(3)))
	}
	return in
}

// BenchmarkSourceHash is what loading the policies adds to a cold start.
func BenchmarkSourceHash(b *testing.B) {
	set := load(b, policies.Options{})
	for b.Loop() {
		if _, err := rt.SourceHash(set.Modules); err != nil {
			b.Fatal(err)
		}
	}
}
