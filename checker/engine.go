// Package checker is the engine: it judges the connections of an
// inventory (checker/inventory) against the Rego policies (the built-in
// ones compiled ahead of time by checker/compiled, OPA as the reference
// and for team bundles), applies exceptions (the policy data's and the
// connections' tags), adds fixes, and builds the report (Engine.Check),
// with the facts about keys from checker/keys.
//
// It must not import the run (checker/run), a source (checker/alibaba,
// checker/saved), the state, or a notifier: they depend on it.
package checker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/vpncheck/vpncheck/checker/compiled"
	"github.com/vpncheck/vpncheck/checker/compiled/rt"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/keys"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/policies"
)

// Entrypoint is the query every connection is evaluated with.
const Entrypoint = "data.vpncheck.main.findings"

// MaxFindingText bounds, in characters, each text a policy gives a finding
// (title, message, remediation, tunnel id) and a rule's catalogue entry
// (title, description, remediation). A team's rule decides these texts,
// and every finding is kept in the report, the state and its outbox: a
// 1.2 MB message made a 6.8 MB state generation. Longer text is cut and
// ends in "…". The built-in rules' texts are a few hundred characters.
const MaxFindingText = 1000

// ErrPolicy marks policies that do not load, compile, validate or evaluate.
var ErrPolicy = policies.ErrPolicy

// Policies says which Rego and data to load: the built-in tree (Builtin,
// nil for policies.FS) and a team's directory (Custom) or bundle (Bundle),
// verified with PublicKey. See policies.Load.
type Policies = policies.Options

// Engine is the compiled policy set, prepared once and safe for concurrent
// evaluation.
type Engine struct {
	query    rego.PreparedEvalQuery
	rules    []report.Rule
	revision string // the team bundle's revision, or ""
	// policyRevision names the policies every report says it used (see
	// PolicyRevision).
	policyRevision string
	// sourceDigest is a digest of the modules and data, whatever the
	// revision says (see Memory).
	sourceDigest string
	// clocked says a module calls a nondeterministic built-in
	// (time.now_ns, rand.intn, ...): its findings are not a function of
	// the input, so none is recalled (see Memory).
	clocked    bool
	config     policies.Config // what Go reads of the validated policy data
	byID       map[string]*report.Rule
	banned     []string
	exceptions []Exception
	// evalTimeout bounds one connection's evaluation (policy data
	// evaluation.timeout_ms): a runaway rule costs that connection, not the run.
	evalTimeout time.Duration
	// disabled are the rule ids policy data switched off (disabled_rules):
	// every report says so, so a check switched off is never silent.
	disabled []string
	// tagPolicy governs exceptions declared by connection tags.
	tagPolicy TagPolicy
	// compiled is the built-in rules compiled ahead of time, set when the
	// built-in modules are the ones it was generated from, whatever the
	// data (else nil, and query runs everything).
	compiled *compiled.Policy
	// team runs a team's own rules in OPA beside compiled (nil without
	// team rules).
	team *rego.PreparedEvalQuery
}

// ruleSeverity is a rule's catalogue severity.
func (e *Engine) ruleSeverity(id string) (report.Severity, bool) {
	r, ok := e.byID[id]
	if !ok {
		return report.Info, false
	}
	return r.Severity, true
}

// NewEngine loads, compiles and prepares the policies (policies.Load).
func NewEngine(ctx context.Context, p Policies) (*Engine, error) {
	set, err := policies.Load(ctx, p)
	if err != nil {
		return nil, err
	}
	return newEngine(ctx, set)
}

// newEngine prepares the entrypoint over a loaded set.
func newEngine(ctx context.Context, set *policies.Set) (*Engine, error) {
	e := &Engine{revision: set.Revision, config: set.Config, rules: make([]report.Rule, 0, len(set.Rules))}
	for _, r := range set.Rules {
		sev, err := report.ParseSeverity(r.Severity)
		if err != nil {
			return nil, fmt.Errorf("%w: rule %s: %v", ErrPolicy, r.ID, err)
		}
		e.rules = append(e.rules, report.Rule{ID: r.ID, Title: bound(r.Title), Severity: sev, Description: bound(r.Description),
			Remediation: bound(r.Remediation), References: r.References, Package: r.Package})
	}
	e.byID = make(map[string]*report.Rule, len(e.rules))
	for i := range e.rules {
		e.byID[e.rules[i].ID] = &e.rules[i]
	}
	e.banned = set.Config.PSK.Banned
	if list, ok := config(set.Data)["disabled_rules"].([]any); ok {
		for _, v := range list {
			if id, ok := v.(string); ok {
				e.disabled = append(e.disabled, id)
			}
		}
		slices.Sort(e.disabled)
	}
	data := set.Data
	var err error
	if e.exceptions, err = dataExceptions(data); err != nil {
		return nil, err
	}
	// The config passed the schema at load: every value is there and sane.
	e.evalTimeout = set.Config.Evaluation.Timeout()
	if e.tagPolicy, err = tagPolicyOf(set.Config.TagExceptions); err != nil {
		return nil, err
	}

	e.query, err = rego.New(
		rego.Query(Entrypoint),
		// The set's compiler carries the restricted capabilities:
		// rego.Capabilities is ignored with a compiler handed in.
		rego.Compiler(set.Compiler),
		rego.Store(set.NewStore()),
		rego.StrictBuiltinErrors(true),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: prepare %s: %s", ErrPolicy, Entrypoint, oneLine(err.Error()))
	}
	// The built-in rules run as Go compiled from OPA's plan over whatever
	// data the team set; a team's own rules run in OPA beside them, unless
	// they could see or change what a built-in rule gives (then all of it
	// runs in OPA, the reference).
	if e.compiled, err = compiled.For(set.Modules, set.Data); err != nil {
		return nil, fmt.Errorf("%w: compiled policies: %v", ErrPolicy, err)
	}
	if e.compiled != nil && hasTeamModules(set) {
		if e.team, err = teamBeside(ctx, set); err != nil {
			return nil, err
		}
		if e.team == nil {
			e.compiled = nil
		}
	}
	if e.policyRevision, err = policyRevision(set); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	if e.sourceDigest, err = sourceDigest(set); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	e.clocked = callsNondeterministic(set.Modules)
	return e, nil
}

// callsNondeterministic says whether a module calls a built-in OPA marks
// nondeterministic.
func callsNondeterministic(mods map[string]*ast.Module) bool {
	found := false
	is := func(op ast.Ref) bool {
		b, ok := ast.BuiltinMap[op.String()]
		return ok && b.Nondeterministic
	}
	for _, m := range mods {
		ast.WalkExprs(m, func(x *ast.Expr) bool {
			found = found || (x.IsCall() && is(x.Operator()))
			return found
		})
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if c, ok := t.Value.(ast.Call); ok && len(c) > 0 {
				if op, ok := c[0].Value.(ast.Ref); ok && is(op) {
					found = true
				}
			}
			return found
		})
		if found {
			return true
		}
	}
	return false
}

// policyRevision names a loaded set as `vpncheck version` does: the team
// bundle's .manifest revision; else "built-in " (or, with a team's
// directory, "built-in and team ") and 12 hex digits of a hash of the
// modules and the data, so two reports judged by different rules or
// thresholds never carry the same name.
func policyRevision(set *policies.Set) (string, error) {
	if set.Revision != "" {
		return set.Revision, nil
	}
	d, err := sourceDigest(set)
	if err != nil {
		return "", err
	}
	id := d[:12]
	if set.Source != "" || hasTeamModules(set) {
		return "built-in and team " + id, nil
	}
	return "built-in " + id, nil
}

// sourceDigest is the hex SHA-256 of the set's modules and data.
func sourceDigest(set *policies.Set) (string, error) {
	h, err := rt.SourceHash(set.Modules)
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(set.Data)
	if err != nil {
		return "", fmt.Errorf("hash policy data: %w", err)
	}
	sum := sha256.Sum256(append([]byte(h+"\n"), data...))
	return hex.EncodeToString(sum[:]), nil
}

// keyPolicy is what the engine's policy data says about judging keys, for
// a run with pepper.
func (e *Engine) keyPolicy(pepper []byte) keys.Policy {
	return keys.Policy{Banned: e.banned, EstimateMaxLength: e.config.PSK.EstimateMaxLength, Pepper: pepper}
}

// Rules is the catalogue, ordered by id.
func (e *Engine) Rules() []report.Rule { return e.rules }

// Revision is the team bundle's revision (its .manifest), or "" for the
// built-in policies and a team directory.
func (e *Engine) Revision() string { return e.revision }

// PolicyRevision names the policies the engine runs, as each report's
// policy_revision: the team bundle's revision, "built-in <hash>" or
// "built-in and team <hash>" (see policyRevision).
func (e *Engine) PolicyRevision() string { return e.policyRevision }

// Compiled reports whether the built-in rules run compiled ahead of time
// (the built-in modules are the ones the code was generated from).
func (e *Engine) Compiled() bool { return e.compiled != nil }

// Config is what vpncheck's Go code reads of the validated policy data.
func (e *Engine) Config() policies.Config { return e.config }

// config returns data.vpncheck.config, or nil.
func config(data map[string]any) map[string]any {
	v, _ := data["vpncheck"].(map[string]any)
	c, _ := v["config"].(map[string]any)
	return c
}

// errEvalTimeout is one connection's evaluation passing the engine's bound.
var errEvalTimeout = errors.New("evaluation timed out")

// evaluate runs the entrypoint on one connection: the compiled built-in
// rules with a team's rules beside them, or everything in OPA. The
// result is read straight from OPA's values, sparing a conversion to Go
// maps.
func (e *Engine) evaluate(ctx context.Context, c *input.Connection) ([]report.Finding, error) {
	in := c.ASTValue()
	if e.compiled == nil {
		set, err := e.interpret(ctx, e.query, in, c)
		if err != nil {
			return nil, err
		}
		return e.findings(c, set)
	}
	set, err := e.compiled.Findings(in)
	if err != nil {
		return nil, fmt.Errorf("%w: evaluate connection %s: %s", ErrPolicy, c.Connection.ID, oneLine(err.Error()))
	}
	if e.team != nil {
		more, err := e.interpret(ctx, *e.team, in, c)
		if err != nil {
			return nil, err
		}
		set = set.Union(more)
	}
	return e.findings(c, set)
}

// interpret evaluates the entrypoint with OPA on one connection's input,
// within the engine's evaluation bound.
func (e *Engine) interpret(ctx context.Context, q rego.PreparedEvalQuery, in ast.Value, c *input.Connection) (ast.Set, error) {
	qctx := ctx
	if e.evalTimeout > 0 {
		var cancel context.CancelFunc
		qctx, cancel = context.WithTimeout(ctx, e.evalTimeout)
		defer cancel()
	}
	rs, err := q.Eval(qctx, rego.EvalParsedInput(in), rego.EvalGenerateJSON(keepTerm))
	if err != nil && ctx.Err() == nil && qctx.Err() != nil {
		return nil, errEvalTimeout
	}
	if err != nil {
		return nil, fmt.Errorf("%w: evaluate connection %s: %s", ErrPolicy, c.Connection.ID, oneLine(err.Error()))
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, fmt.Errorf("%w: %s is undefined (is main.rego loaded?)", ErrPolicy, Entrypoint)
	}
	set, ok := rs[0].Expressions[0].Value.(*ast.Term).Value.(ast.Set)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not a set of findings", ErrPolicy, Entrypoint)
	}
	return set, nil
}

// findings reads one connection's set of findings, from either path.
func (e *Engine) findings(c *input.Connection, set ast.Set) ([]report.Finding, error) {
	out := make([]report.Finding, 0, set.Len())
	ci := &c.Connection
	err := set.Iter(func(t *ast.Term) error {
		f, err := findingOf(t.Value)
		if err != nil {
			return fmt.Errorf("%w: connection %s: %v", ErrPolicy, ci.ID, err)
		}
		f.AccountID, f.Region, f.ConnectionID, f.ConnectionName, f.VPNGatewayID = ci.AccountID, ci.Region, ci.ID, ci.Name, ci.VPNGatewayID
		f.Tags = ci.Tags
		// Share the catalogue's copy of texts every finding of a rule repeats.
		if r := e.byID[f.Rule]; r != nil {
			if f.Title == r.Title {
				f.Title = r.Title
			}
			if f.Remediation == r.Remediation {
				f.Remediation = r.Remediation
			}
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

// keepTerm hands evaluation results over as OPA terms.
func keepTerm(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }

// findingOf checks that a policy result has what a finding needs.
func findingOf(v ast.Value) (report.Finding, error) {
	o, ok := v.(ast.Object)
	if !ok {
		return report.Finding{}, fmt.Errorf("a finding is not an object")
	}
	str := func(k string) string {
		if t := o.Get(ast.InternedTerm(k)); t != nil {
			if s, ok := t.Value.(ast.String); ok {
				return string(s)
			}
		}
		return ""
	}
	f := report.Finding{Rule: str("rule"), Title: bound(str("title")), Message: bound(str("message")), Remediation: bound(str("remediation")), TunnelID: bound(str("tunnel_id")), Value: bound(str("value"))}
	for _, req := range [][2]string{{"rule", f.Rule}, {"title", f.Title}, {"message", f.Message}} {
		if req[1] == "" {
			return f, fmt.Errorf("a finding of rule %q has no %s", f.Rule, req[0])
		}
	}
	sev, err := report.ParseSeverity(str("severity"))
	if err != nil {
		return f, fmt.Errorf("a finding of rule %s: %v", f.Rule, err)
	}
	// A side is part of the finding's id and of how it reads: one of two
	// words, not free text.
	switch f.Side = str("side"); f.Side {
	case "", "local", "remote":
	default:
		return f, fmt.Errorf("a finding of rule %s: side %q, want local or remote", f.Rule, f.Side)
	}
	f.Severity = sev
	return f, nil
}

// oneLine folds a multi-line message onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// bound cuts s to MaxFindingText characters, the last one "…".
func bound(s string) string {
	if len(s) <= MaxFindingText {
		return s // fewer bytes than the limit: fewer characters too
	}
	n := 0
	for i := range s {
		if n == MaxFindingText-1 {
			if _, size := utf8.DecodeRuneInString(s[i:]); i+size == len(s) {
				return s // exactly MaxFindingText characters
			}
			return s[:i] + "…"
		}
		n++
	}
	return s
}
