package policies

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// ErrPolicy marks policies that do not load, compile or validate.
var ErrPolicy = errors.New("policy error")

// rulesPrefix is where every rule package lives: main.rego collects
// data.vpncheck.rules.<name>.deny.
var rulesPrefix = ast.MustParseRef("data.vpncheck.rules")

// configPath is where policy data lives.
var configPath = []string{"vpncheck", "config"}

// builtinRulesDir is the built-in rules' directory inside FS.
const builtinRulesDir = "vpncheck/rules"

// Options says which policies to load: the built-in tree and at most one
// team source, a directory (Custom) or a bundle (Bundle).
type Options struct {
	// Builtin is the built-in tree; nil means FS.
	Builtin fs.FS
	// Custom is a team's directory: os.DirFS(dir), or a test's fstest.MapFS.
	Custom fs.FS
	// Bundle is a team's bundle, a .tar.gz as policies/bundle.sh (or opa
	// build) writes it, e.g. read from a file or fetched from OSS.
	Bundle []byte
	// Source names Custom or Bundle in errors and in Set.Source: a path,
	// oss://bucket/key.
	Source string
	// NoBuiltinRules leaves out the built-in rules (vpncheck.rules.*); the
	// entrypoint, the helper library and the default data stay, so that a
	// team's rules work the same way.
	NoBuiltinRules bool
	// PublicKey is the PEM text of the key team bundles must be signed with.
	// With a key, only a bundle whose signature it verifies loads: an
	// unsigned bundle, a directory or another key's signature is an error.
	PublicKey string
	// Tests keeps the _test.rego files, and print statements, for the Rego
	// test runner. Evaluation leaves both out.
	Tests bool
}

// maxBundleSize bounds a bundle file Open reads: policies are kilobytes.
const maxBundleSize = 32 << 20

// Open sets the team source from a path given on the command line: a
// directory, or a bundle file (.tar.gz). It reads the bundle; the
// directory is read by Load.
func (o *Options) Open(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named once
		}
		return fmt.Errorf("policy directory or bundle %s: %w", p, err)
	}
	o.Source = p
	if st.IsDir() {
		o.Custom = os.DirFS(p)
		return nil
	}
	if !strings.HasSuffix(p, ".tar.gz") && !strings.HasSuffix(p, ".tgz") {
		return fmt.Errorf("policy directory or bundle %s: not a directory or a bundle (.tar.gz)", p)
	}
	if st.Size() > maxBundleSize {
		return fmt.Errorf("policy bundle %s: %d bytes, over the limit of %d", p, st.Size(), maxBundleSize)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("read policy bundle: %w", err)
	}
	o.Bundle = b
	return nil
}

// Rule is one rule's catalogue entry, from its package's METADATA.
type Rule struct {
	ID          string
	Title       string
	Severity    string // info, low, medium, high or critical
	Description string
	Remediation string
	References  []string
	Package     string // data.vpncheck.rules.<name>
}

// Set is a loaded, compiled and validated policy set.
type Set struct {
	Compiler     *ast.Compiler
	Modules      map[string]*ast.Module // by name: builtin:<path> or custom:<path>
	Data         map[string]any         // the merged data, config validated
	Rules        []Rule                 // ordered by id
	Config       Config                 // what vpncheck's Go code reads of the data
	Revision     string                 // the team bundle's .manifest revision, or ""
	Source       string                 // Options.Source
	Capabilities *ast.Capabilities
}

// NewStore returns a store holding the set's data. Reads return AST values,
// sparing a conversion of the data on every evaluation.
func (s *Set) NewStore() storage.Store {
	return inmem.NewFromObjectWithOpts(s.Data, inmem.OptReturnASTValuesOnRead(true))
}

// Capabilities is OPA's built-in set without the functions that reach the
// network or the process environment: policies judge the input they are
// given and nothing else. (OPA's AllowNet does not cover http.send.)
func Capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	banned := map[string]bool{"http.send": true, "net.lookup_ip_addr": true, "opa.runtime": true}
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool { return banned[b.Name] })
	return caps
}

// tree is what one source contributes.
type tree struct {
	modules map[string]*ast.Module // by name inside the source
	data    map[string]any
}

// Load reads the built-in tree and the team's source, checks where the
// team's rules and data land, compiles, reads the rule catalogue from
// METADATA and validates the merged policy data. Any failure is ErrPolicy,
// in one line naming the file, rule or data key.
func Load(ctx context.Context, o Options) (*Set, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.Custom != nil && o.Bundle != nil {
		return nil, fmt.Errorf("%w: policies %s: give a directory or a bundle, not both", ErrPolicy, o.label())
	}
	if o.PublicKey != "" {
		if _, err := keyAlgorithm(o.PublicKey); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
		}
	}
	caps := Capabilities()
	builtinFS := o.Builtin
	if builtinFS == nil {
		builtinFS = FS
	}
	builtin, err := loadDir(builtinFS, caps, o.Tests, o.NoBuiltinRules, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: load built-in policies: %s", ErrPolicy, oneLine(err.Error()))
	}

	set := &Set{Modules: map[string]*ast.Module{}, Data: builtin.data, Source: o.Source, Capabilities: caps}
	for name, m := range builtin.modules {
		set.Modules["builtin:"+name] = m
	}

	custom, err := o.loadCustom(caps, set)
	if err != nil {
		return nil, err
	}
	if custom != nil {
		if err := checkCustom(custom); err != nil {
			return nil, fmt.Errorf("%w: policies %s: %v", ErrPolicy, o.label(), err)
		}
		for name, m := range custom.modules {
			set.Modules["custom:"+name] = m
		}
		mergeData(set.Data, custom.data)
	}

	set.Compiler = ast.NewCompiler().
		WithCapabilities(caps).
		// Print statements only help a failing test; evaluation erases them,
		// which changes no result (print always succeeds).
		WithEnablePrintStatements(o.Tests).
		WithDefaultRegoVersion(ast.RegoV1)
	if set.Compiler.Compile(set.Modules); set.Compiler.Failed() {
		return nil, fmt.Errorf("%w: compile: %s", ErrPolicy, oneLine(set.Compiler.Errors.Error()))
	}

	if set.Rules, err = catalogue(set.Compiler, set.Modules); err != nil {
		return nil, err
	}
	if len(set.Rules) == 0 {
		// A check with no rule would report every connection clean.
		return nil, fmt.Errorf("%w: no rule loaded (rules live in packages under data.vpncheck.rules)", ErrPolicy)
	}

	known, err := knownRuleIDs(builtinFS, set.Rules)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	var customConfig any
	if custom != nil {
		customConfig = lookup(custom.data, configPath)
	}
	if set.Config, err = validateConfig(lookup(set.Data, configPath), customConfig, o.label(), known); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	return set, nil
}

// loadCustom reads the team's source, a bundle (its revision goes to set)
// or a directory; nil when there is none.
func (o *Options) loadCustom(caps *ast.Capabilities, set *Set) (*tree, error) {
	switch {
	case o.Bundle != nil:
		custom, revision, err := readBundle(o.Bundle, o.PublicKey, caps, o.Tests)
		if err != nil {
			return nil, fmt.Errorf("%w: bundle %s: %s", ErrPolicy, o.label(), oneLine(err.Error()))
		}
		set.Revision = revision
		return custom, nil
	case o.Custom != nil:
		if o.PublicKey != "" {
			return nil, fmt.Errorf("%w: policies %s: a directory carries no signature; with a public key configured (VPNCHECK_POLICY_PUBLIC_KEY) only a signed bundle loads", ErrPolicy, o.label())
		}
		var dataFiles []string
		custom, err := loadDir(o.Custom, caps, o.Tests, false, &dataFiles)
		if err != nil {
			return nil, fmt.Errorf("%w: load policies %s: %s", ErrPolicy, o.label(), oneLine(err.Error()))
		}
		if err := checkDataFiles(o.Custom, dataFiles); err != nil {
			return nil, fmt.Errorf("%w: policies %s: %v", ErrPolicy, o.label(), err)
		}
		return custom, nil
	}
	return nil, nil
}

func (o *Options) label() string {
	if o.Source != "" {
		return o.Source
	}
	return "custom"
}

// loadDir reads the Rego modules and data files of a directory tree, as
// `opa` does (a data file lands at its directory's path). Hidden files and
// directories are left out, and so are _test.rego files unless tests, and
// the built-in rules with noRules. dataFiles, when not nil, collects the
// data files read.
func loadDir(fsys fs.FS, caps *ast.Capabilities, tests, noRules bool, dataFiles *[]string) (*tree, error) {
	filter := func(abspath string, info fs.FileInfo, _ int) bool {
		name, rel := info.Name(), strings.TrimPrefix(path.Clean(abspath), "./")
		if strings.HasPrefix(name, ".") && name != "." {
			return true
		}
		if noRules && (rel == builtinRulesDir || strings.HasPrefix(rel, builtinRulesDir+"/")) {
			return true
		}
		if info.IsDir() {
			return false
		}
		if !tests && strings.HasSuffix(name, "_test.rego") {
			return true
		}
		if dataFiles != nil && isDataFile(name) {
			*dataFiles = append(*dataFiles, rel)
		}
		return false
	}
	res, err := loader.NewFileLoader().
		WithFS(fsys).
		WithProcessAnnotation(true).
		WithRegoVersion(ast.RegoV1).
		WithCapabilities(caps).
		Filtered([]string{"."}, filter)
	if err != nil {
		return nil, err
	}
	t := &tree{modules: map[string]*ast.Module{}, data: res.Documents}
	for name, m := range res.Modules {
		t.modules[strings.TrimPrefix(path.Clean(name), "./")] = m.Parsed
	}
	return t, nil
}

func isDataFile(name string) bool {
	return strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// checkDataFiles checks that every data file of a directory puts its data
// under data.vpncheck.config. A data file lands at its directory's path, so
// DIR/data.json must hold {"vpncheck": {"config": {...}}} while
// DIR/vpncheck/config/data.json holds the config itself.
func checkDataFiles(fsys fs.FS, files []string) error {
	sort.Strings(files)
	for _, f := range files {
		res, err := loader.NewFileLoader().WithFS(fsys).All([]string{f})
		if err != nil {
			return fmt.Errorf("data file %s: %s", f, oneLine(err.Error()))
		}
		var mount []string
		if dir := path.Dir(f); dir != "." {
			mount = strings.Split(dir, "/")
		}
		if err := checkDataPath(mount, res.Documents); err != nil {
			return fmt.Errorf("data file %s: %v", f, err)
		}
	}
	return nil
}

// checkDataPath checks that doc, placed at mount, lies under
// data.vpncheck.config.
func checkDataPath(mount []string, doc map[string]any) error {
	at := slices.Clone(mount)
	var v any = doc
	for depth := range configPath {
		if depth < len(at) {
			if at[depth] != configPath[depth] {
				return fmt.Errorf("its data lands at data.%s, outside data.vpncheck.config (put policy data in vpncheck/config/data.json)", strings.Join(at, "."))
			}
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("data.%s is not an object", strings.Join(at, "."))
		}
		for k := range obj {
			if k != configPath[depth] {
				return fmt.Errorf("it puts %q at data.%s, outside data.vpncheck.config (wrap it as {\"vpncheck\": {\"config\": {...}}}, or move the file to vpncheck/config/)", k, strings.Join(append(at, k), "."))
			}
		}
		at, v = append(at, configPath[depth]), obj[configPath[depth]]
	}
	return nil
}

// checkCustom checks what a team's source brings: something at all, rule
// packages under vpncheck.rules.<name>, and a deny set only where main.rego
// collects it.
func checkCustom(t *tree) error {
	rules := 0
	names := make([]string, 0, len(t.modules))
	for name := range t.modules {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if isTest(name) {
			continue
		}
		rules++
		pkg := t.modules[name].Package.Path
		if !pkg.HasPrefix(rulesPrefix) || len(pkg) == len(rulesPrefix) {
			return fmt.Errorf("%s: package %s is outside vpncheck.rules.<name>: main.rego collects only data.vpncheck.rules.<name>.deny, so nothing in it would run", name, strings.TrimPrefix(pkg.String(), "data."))
		}
		if len(pkg) > len(rulesPrefix)+1 {
			for _, r := range t.modules[name].Rules {
				if r.Head.Name == "deny" || len(r.Head.Reference) > 0 && r.Head.Reference[0].Equal(ast.VarTerm("deny")) {
					return fmt.Errorf("%s: deny in package %s is never collected: main.rego collects data.vpncheck.rules.<name>.deny, one level down", name, strings.TrimPrefix(pkg.String(), "data."))
				}
			}
		}
	}
	if rules == 0 && hollow(t.data) {
		return errors.New("no rule and no data: rules are vpncheck/rules/<name>/<name>.rego, data is vpncheck/config/data.json (see policies/README.md)")
	}
	return nil
}

// hollow says whether v holds nothing but empty objects.
func hollow(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, x := range m {
		if !hollow(x) {
			return false
		}
	}
	return true
}

func isTest(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// mergeData deep-merges src into dst: objects merge key by key, src's
// other values (numbers, strings, lists) replace dst's whole.
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

// lookup returns the value at keys in doc, or nil.
func lookup(doc map[string]any, keys []string) any {
	var v any = doc
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// catalogue reads the rules' METADATA. Every rule package must carry an id,
// a title, a valid severity and a remediation, and ids must be unique.
func catalogue(c *ast.Compiler, modules map[string]*ast.Module) ([]Rule, error) {
	byPkg := map[string]Rule{}
	for _, ref := range c.GetAnnotationSet().Flatten() {
		a := ref.Annotations
		id, _ := a.Custom["id"].(string)
		if id == "" || !ref.Path.HasPrefix(rulesPrefix) || len(ref.Path) <= len(rulesPrefix) {
			continue
		}
		pkg := ref.Path[:len(rulesPrefix)+1].String()
		sev, _ := a.Custom["severity"].(string)
		if !isSeverity(sev) {
			return nil, fmt.Errorf("%w: rule %s (%s): METADATA custom.severity: unknown severity %q (want info, low, medium, high or critical)", ErrPolicy, id, pkg, sev)
		}
		rem, _ := a.Custom["remediation"].(string)
		if a.Title == "" || rem == "" {
			return nil, fmt.Errorf("%w: rule %s (%s): METADATA needs a title and custom.remediation", ErrPolicy, id, pkg)
		}
		if !ruleID.MatchString(id) {
			return nil, fmt.Errorf("%w: rule %s (%s): METADATA custom.id: want lower-case words joined by dashes", ErrPolicy, id, pkg)
		}
		r := Rule{ID: id, Title: a.Title, Severity: sev, Description: oneLine(a.Description), Remediation: oneLine(rem), Package: pkg}
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

	for name, m := range modules {
		if isTest(name) || !m.Package.Path.HasPrefix(rulesPrefix) || len(m.Package.Path) <= len(rulesPrefix) {
			continue
		}
		pkg := m.Package.Path[:len(rulesPrefix)+1].String()
		if _, ok := byPkg[pkg]; !ok {
			return nil, fmt.Errorf("%w: %s (%s) has no METADATA with custom.id (see policies/README.md)", ErrPolicy, pkg, name)
		}
	}

	seen := map[string]string{}
	rules := make([]Rule, 0, len(byPkg))
	for pkg, r := range byPkg {
		if other, ok := seen[r.ID]; ok {
			a, b := min(pkg, other), max(pkg, other)
			return nil, fmt.Errorf("%w: rule id %s is declared by both %s and %s", ErrPolicy, r.ID, a, b)
		}
		seen[r.ID] = pkg
		rules = append(rules, r)
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	return rules, nil
}

// knownRuleIDs is every id policy data may name: the loaded rules', and the
// built-in rules' even when they are left out, since the built-in data
// names them.
func knownRuleIDs(builtin fs.FS, rules []Rule) (map[string]bool, error) {
	known := map[string]bool{}
	for _, r := range rules {
		known[r.ID] = true
	}
	entries, err := fs.ReadDir(builtin, builtinRulesDir)
	if err != nil {
		return nil, fmt.Errorf("list built-in rules: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			known[strings.ReplaceAll(e.Name(), "_", "-")] = true
		}
	}
	return known, nil
}

// oneLine folds a multi-line message onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
