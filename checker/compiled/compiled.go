package compiled

import (
	"errors"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/vpncheck/vpncheck/checker/compiled/rt"
	"github.com/vpncheck/vpncheck/policies"
)

// For returns the compiled built-in rules for a loaded policy set whose
// built-in modules (named "builtin:...") are exactly the ones the code was
// generated from (SourceHash), over the set's data, whatever a team's
// data changed in it; nil when the built-in modules differ (another
// tree, or the built-in rules left out). A team's own modules are not
// part of it: the caller runs them beside it (see checker's engine).
func For(modules map[string]*ast.Module, data map[string]any) (*Policy, error) {
	builtin := make(map[string]*ast.Module, len(modules))
	for name, m := range modules {
		if strings.HasPrefix(name, "builtin:") {
			builtin[name] = m
		}
	}
	h, err := rt.SourceHash(builtin)
	if err != nil {
		return nil, err
	}
	if h != SourceHash {
		return nil, nil
	}
	v, err := ast.InterfaceToValue(data)
	if err != nil {
		return nil, fmt.Errorf("policy data: %w", err)
	}
	return New(v), nil
}

// resultKey is the key of the planner's result objects.
var resultKey = ast.StringTerm("result")

// Findings evaluates data.vpncheck.main.findings on one input: the set of
// finding objects, as the interpreter gives it.
func (p *Policy) Findings(input ast.Value) (ast.Set, error) {
	rs, err := p.Eval(input)
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 {
		return nil, errors.New(policies.Query + " is undefined")
	}
	v := rt.Dot(rs[0], resultKey)
	if v == nil {
		return nil, errors.New(policies.Query + " is undefined")
	}
	set, ok := v.Value.(ast.Set)
	if !ok {
		return nil, errors.New(policies.Query + " is not a set")
	}
	return set, nil
}
