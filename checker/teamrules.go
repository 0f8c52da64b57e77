package checker

import (
	"context"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/vpncheck/vpncheck/policies"
)

// A team's own rules run in OPA beside the compiled built-in rules: the
// entrypoint over a compiler that holds the entrypoint, the library and
// the team's modules but not the built-in rules. The union of the two
// finding sets is what the entrypoint gives over everything, as long as
// the team's modules can neither see nor change a built-in rule's
// results; teamBeside checks that and otherwise leaves all to OPA.

var (
	rulesRef = ast.MustParseRef("data.vpncheck.rules")
	mainRef  = ast.MustParseRef("data.vpncheck.main")
)

// hasTeamModules says whether a set holds modules besides the built-in ones.
func hasTeamModules(set *policies.Set) bool {
	for name := range set.Modules {
		if !strings.HasPrefix(name, "builtin:") {
			return true
		}
	}
	return false
}

// teamBeside prepares the entrypoint over the set without its built-in
// rules, or returns nil when a team's module could see or change what a
// built-in rule gives: a package inside a built-in rule's, or a reference
// into a built-in rule, into the entrypoint, or into data it cannot name
// (data.vpncheck.rules[x]).
func teamBeside(ctx context.Context, set *policies.Set) (*rego.PreparedEvalQuery, error) {
	builtinRules := map[string]bool{}
	for name, m := range set.Modules {
		if strings.HasPrefix(name, "builtin:") {
			if rule, ok := ruleName(m.Package.Path); ok {
				builtinRules[rule] = true
			}
		}
	}
	modules := map[string]*ast.Module{}
	for name, m := range set.Modules {
		rule, isRule := ruleName(m.Package.Path)
		switch {
		case strings.HasPrefix(name, "builtin:") && isRule:
			continue // compiled
		case !strings.HasPrefix(name, "builtin:") && (!isRule || builtinRules[rule]):
			return nil, nil
		case !strings.HasPrefix(name, "builtin:"):
			compiledModule := set.Compiler.Modules[name]
			if compiledModule == nil || !separate(compiledModule, builtinRules) {
				return nil, nil
			}
		}
		modules[name] = m
	}

	c := ast.NewCompiler().WithCapabilities(set.Capabilities).WithDefaultRegoVersion(ast.RegoV1)
	if c.Compile(modules); c.Failed() {
		// The same modules compiled with the built-in rules beside them;
		// without, a team module that fails to compile needed them.
		return nil, nil
	}
	q, err := rego.New(
		rego.Query(Entrypoint),
		rego.Compiler(c),
		rego.Store(set.NewStore()),
		rego.StrictBuiltinErrors(true),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: prepare %s for a team's rules: %s", ErrPolicy, Entrypoint, oneLine(err.Error()))
	}
	return &q, nil
}

// ruleName is the rule package's name (x of data.vpncheck.rules.x...), if
// path is one.
func ruleName(path ast.Ref) (string, bool) {
	if len(path) < 4 || !path.HasPrefix(rulesRef) {
		return "", false
	}
	s, ok := path[3].Value.(ast.String)
	return string(s), ok
}

// separate says whether a compiled team module (its imports resolved to
// full references) reads nothing of the built-in rules or the entrypoint.
func separate(m *ast.Module, builtinRules map[string]bool) bool {
	ok := true
	ast.WalkRefs(m, func(r ast.Ref) bool {
		if !ok || !r.HasPrefix(ast.DefaultRootRef) {
			return !ok
		}
		switch {
		case len(r) < 3 || !r[1].IsGround() || !r[2].IsGround():
			// data, or data.x: could be anything, a built-in rule included.
			ok = len(r) >= 2 && r[1].IsGround() && !r[1].Equal(ast.StringTerm("vpncheck"))
		case r.HasPrefix(mainRef):
			ok = false
		case r.HasPrefix(rulesRef):
			rule, named := ruleName(r)
			ok = named && !builtinRules[rule]
		case r[1].Equal(ast.StringTerm("vpncheck")) && len(r) == 2:
			ok = false
		}
		return !ok
	})
	return ok
}
