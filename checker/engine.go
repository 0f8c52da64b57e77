package checker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vpncheck/vpncheck/checker/report"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// Entrypoint is the query every connection is evaluated with.
const Entrypoint = "data.vpncheck.main.findings"

// rulesPrefix is where every rule package lives; the entrypoint collects
// the deny set of each package below it.
var rulesPrefix = ast.MustParseRef("data.vpncheck.rules")

// builtinRulesDir is the built-in rules' directory inside the policy FS.
const builtinRulesDir = "vpncheck/rules"

// ErrPolicy marks policies that do not load, compile or evaluate.
var ErrPolicy = errors.New("policy error")

// Policies says which Rego and data to load.
type Policies struct {
	Builtin fs.FS // the embedded tree (policies.FS)
	Custom  fs.FS // a team's own directory, or nil
	// NoBuiltinRules leaves out the built-in rules (vpncheck.rules.*); the
	// entrypoint, the helper library and the default data stay, so that
	// Custom's rules work the same way.
	NoBuiltinRules bool
}

// Engine is the compiled policy set, prepared once and safe for concurrent
// evaluation.
type Engine struct {
	query      rego.PreparedEvalQuery
	rules      []report.Rule
	byID       map[string]*report.Rule
	banned     []string
	exceptions []Exception
	// evalTimeout bounds one connection's evaluation (policy data
	// evaluation.timeout_ms): a runaway rule costs that connection, not the run.
	evalTimeout time.Duration
	// tagPolicy governs exceptions declared by connection tags.
	tagPolicy TagPolicy
}

// ruleSeverity is a rule's catalogue severity.
func (e *Engine) ruleSeverity(id string) (report.Severity, bool) {
	r, ok := e.byID[id]
	if !ok {
		return report.Info, false
	}
	return r.Severity, true
}

// restrictedCapabilities is OPA's built-in set without the functions that
// reach the network or the process environment: policies judge the input
// they are given and nothing else.
func restrictedCapabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	banned := map[string]bool{"http.send": true, "net.lookup_ip_addr": true, "opa.runtime": true}
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool { return banned[b.Name] })
	return caps
}

// NewEngine loads, compiles and prepares the policies.
func NewEngine(ctx context.Context, p Policies) (*Engine, error) {
	caps := restrictedCapabilities()
	modules := map[string]*ast.Module{}
	data := map[string]any{}

	if p.Builtin != nil {
		skipRules := func(name string) bool { return p.NoBuiltinRules && strings.HasPrefix(name, builtinRulesDir+"/") }
		if err := loadTree(p.Builtin, "builtin", skipRules, caps, modules, data); err != nil {
			return nil, err
		}
	}
	if p.Custom != nil {
		if err := loadTree(p.Custom, "custom", nil, caps, modules, data); err != nil {
			return nil, err
		}
	}

	compiler := ast.NewCompiler().
		WithCapabilities(caps).
		WithEnablePrintStatements(false).
		WithDefaultRegoVersion(ast.RegoV1)
	if compiler.Compile(modules); compiler.Failed() {
		return nil, fmt.Errorf("%w: compile: %s", ErrPolicy, oneLine(compiler.Errors.Error()))
	}

	e := &Engine{}
	var err error
	if e.rules, err = catalogue(compiler, modules); err != nil {
		return nil, err
	}
	if len(e.rules) == 0 {
		// A check with no rule would report every connection clean.
		return nil, fmt.Errorf("%w: no rule loaded (rules live in packages under data.vpncheck.rules)", ErrPolicy)
	}
	e.byID = make(map[string]*report.Rule, len(e.rules))
	for i := range e.rules {
		e.byID[e.rules[i].ID] = &e.rules[i]
	}
	if e.banned, err = bannedKeys(data); err != nil {
		return nil, err
	}
	if e.exceptions, err = dataExceptions(data); err != nil {
		return nil, err
	}
	e.evalTimeout = evaluationTimeout(data)
	if e.tagPolicy, err = tagPolicy(data); err != nil {
		return nil, err
	}

	e.query, err = rego.New(
		rego.Query(Entrypoint),
		rego.Compiler(compiler),
		// AST values on read spare a conversion of the data on every evaluation.
		rego.Store(inmem.NewFromObjectWithOpts(data, inmem.OptReturnASTValuesOnRead(true))),
		rego.StrictBuiltinErrors(true),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: prepare %s: %s", ErrPolicy, Entrypoint, oneLine(err.Error()))
	}
	return e, nil
}

// Rules is the catalogue, ordered by id.
func (e *Engine) Rules() []report.Rule { return e.rules }

// loadTree reads the Rego modules (test files left out) and data files of one
// tree. Module names carry the tree's label, so two trees never collide;
// data merges over what is loaded already, the later tree winning.
func loadTree(fsys fs.FS, label string, skip func(string) bool, caps *ast.Capabilities, modules map[string]*ast.Module, data map[string]any) error {
	filter := func(abspath string, info fs.FileInfo, _ int) bool {
		name := info.Name()
		if info.IsDir() {
			return strings.HasPrefix(name, ".") && name != "." || skip != nil && skip(strings.TrimPrefix(abspath, "./"))
		}
		return strings.HasSuffix(name, "_test.rego") || strings.HasPrefix(name, ".") ||
			skip != nil && skip(strings.TrimPrefix(abspath, "./"))
	}
	res, err := loader.NewFileLoader().
		WithFS(fsys).
		WithProcessAnnotation(true).
		WithRegoVersion(ast.RegoV1).
		WithCapabilities(caps).
		Filtered([]string{"."}, filter)
	if err != nil {
		return fmt.Errorf("%w: load %s policies: %s", ErrPolicy, label, oneLine(err.Error()))
	}
	for name, m := range res.Modules {
		modules[label+":"+path.Clean(name)] = m.Parsed
	}
	mergeData(data, res.Documents)
	return nil
}

// mergeData deep-merges src into dst; src's values win.
func mergeData(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeData(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// catalogue reads the rules' METADATA. Every rule package must carry an id,
// a title, a valid severity and a remediation, and ids must be unique.
func catalogue(c *ast.Compiler, modules map[string]*ast.Module) ([]report.Rule, error) {
	byPkg := map[string]report.Rule{}
	for _, ref := range c.GetAnnotationSet().Flatten() {
		a := ref.Annotations
		id, _ := a.Custom["id"].(string)
		if id == "" || !ref.Path.HasPrefix(rulesPrefix) || len(ref.Path) <= len(rulesPrefix) {
			continue
		}
		pkg := ref.Path[:len(rulesPrefix)+1].String()
		sev, _ := a.Custom["severity"].(string)
		level, err := report.ParseSeverity(sev)
		if err != nil {
			return nil, fmt.Errorf("%w: rule %s (%s): METADATA custom.severity: %v", ErrPolicy, id, pkg, err)
		}
		rem, _ := a.Custom["remediation"].(string)
		if a.Title == "" || rem == "" {
			return nil, fmt.Errorf("%w: rule %s (%s): METADATA needs a title and custom.remediation", ErrPolicy, id, pkg)
		}
		r := report.Rule{ID: id, Title: a.Title, Severity: level, Description: oneLine(a.Description), Remediation: oneLine(rem), Package: pkg}
		for _, rr := range a.RelatedResources {
			if rr.Ref.String() != "" {
				r.References = append(r.References, rr.Ref.String())
			}
		}
		if prev, ok := byPkg[pkg]; ok && prev.ID != id {
			return nil, fmt.Errorf("%w: package %s declares two rule ids, %s and %s", ErrPolicy, pkg, prev.ID, id)
		}
		byPkg[pkg] = r
	}

	for _, m := range modules {
		if !m.Package.Path.HasPrefix(rulesPrefix) || len(m.Package.Path) <= len(rulesPrefix) {
			continue
		}
		pkg := m.Package.Path[:len(rulesPrefix)+1].String()
		if _, ok := byPkg[pkg]; !ok {
			return nil, fmt.Errorf("%w: %s has no METADATA with custom.id (see policies/README.md)", ErrPolicy, pkg)
		}
	}

	seen := map[string]string{}
	rules := make([]report.Rule, 0, len(byPkg))
	for pkg, r := range byPkg {
		if other, ok := seen[r.ID]; ok {
			return nil, fmt.Errorf("%w: rule id %s is declared by both %s and %s", ErrPolicy, r.ID, other, pkg)
		}
		seen[r.ID] = pkg
		rules = append(rules, r)
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	return rules, nil
}

// config returns data.vpncheck.config, or nil.
func config(data map[string]any) map[string]any {
	v, _ := data["vpncheck"].(map[string]any)
	c, _ := v["config"].(map[string]any)
	return c
}

// bannedKeys is the policy data's list of common keys (psk.banned).
func bannedKeys(data map[string]any) ([]string, error) {
	psk, _ := config(data)["psk"].(map[string]any)
	raw, ok := psk["banned"]
	if !ok || raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: data vpncheck.config.psk.banned is not a list", ErrPolicy)
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: data vpncheck.config.psk.banned holds a non-string", ErrPolicy)
		}
		out = append(out, s)
	}
	return out, nil
}

// evaluate runs the entrypoint on one connection. The result is read
// straight from OPA's values, sparing a conversion to Go maps.
// errEvalTimeout is one connection's evaluation passing the engine's bound.
var errEvalTimeout = errors.New("evaluation timed out")

func (e *Engine) evaluate(ctx context.Context, c *Connection) ([]report.Finding, error) {
	qctx := ctx
	if e.evalTimeout > 0 {
		var cancel context.CancelFunc
		qctx, cancel = context.WithTimeout(ctx, e.evalTimeout)
		defer cancel()
	}
	rs, err := e.query.Eval(qctx, rego.EvalParsedInput(c.astValue()), rego.EvalGenerateJSON(keepTerm))
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
	out := make([]report.Finding, 0, set.Len())
	ci := &c.Connection
	err = set.Iter(func(t *ast.Term) error {
		f, err := findingOf(t.Value)
		if err != nil {
			return fmt.Errorf("%w: connection %s: %v", ErrPolicy, ci.ID, err)
		}
		f.AccountID, f.Region, f.ConnectionID, f.ConnectionName, f.VPNGatewayID = ci.AccountID, ci.Region, ci.ID, ci.Name, ci.VPNGatewayID
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
	f := report.Finding{Rule: str("rule"), Title: str("title"), Message: str("message"), Remediation: str("remediation"), TunnelID: str("tunnel_id")}
	for _, req := range [][2]string{{"rule", f.Rule}, {"title", f.Title}, {"message", f.Message}} {
		if req[1] == "" {
			return f, fmt.Errorf("a finding of rule %q has no %s", f.Rule, req[0])
		}
	}
	sev, err := report.ParseSeverity(str("severity"))
	if err != nil {
		return f, fmt.Errorf("a finding of rule %s: %v", f.Rule, err)
	}
	f.Severity = sev
	return f, nil
}

// oneLine folds a multi-line message onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// defaultEvalTimeout bounds one connection's evaluation when the policy
// data does not: well under any run's deadline.
const defaultEvalTimeout = 2 * time.Second

// evaluationTimeout is data.vpncheck.config.evaluation.timeout_ms.
func evaluationTimeout(data map[string]any) time.Duration {
	ev, _ := config(data)["evaluation"].(map[string]any)
	switch ms := ev["timeout_ms"].(type) {
	case json.Number:
		if v, err := ms.Int64(); err == nil && v > 0 {
			return time.Duration(v) * time.Millisecond
		}
	case float64:
		if ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	case int:
		if ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return defaultEvalTimeout
}
