package compiled

import (
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/vpncheck/vpncheck/checker/compiled/rt"
)

// For returns the compiled policy for a loaded policy set when the set is
// exactly the one the code was generated from (its modules and data have
// SourceHash), or nil: a team's rules, a data override or another
// built-in tree run in OPA's interpreter.
func For(modules map[string]*ast.Module, data map[string]any) (*Policy, error) {
	h, err := rt.SourceHash(modules, data)
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
		return nil, errors.New("data.vpncheck.main.findings is undefined")
	}
	v := rt.Dot(rs[0], resultKey)
	if v == nil {
		return nil, errors.New("data.vpncheck.main.findings is undefined")
	}
	set, ok := v.Value.(ast.Set)
	if !ok {
		return nil, errors.New("data.vpncheck.main.findings is not a set")
	}
	return set, nil
}
