package policies

import (
	"bytes"
	_ "embed" // the schema
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// Schema is the JSON Schema of the merged policy data, data.vpncheck.config
// (policies/schema/config.schema.json). It lives outside the embedded
// policy tree: a .json file there would load as policy data.
//
//go:embed schema/config.schema.json
var Schema []byte

const schemaURL = "https://github.com/vpncheck/vpncheck/policies/schema/config.schema.json"

// Config is the part of the policy data that vpncheck's Go code reads; Load
// fills it from the validated data, so every field is set.
type Config struct {
	Values        ValuesConfig        `json:"values"`
	Preferred     PreferredConfig     `json:"preferred"`
	PSK           PSKConfig           `json:"psk"`
	TagExceptions TagExceptionsConfig `json:"tag_exceptions"`
	Evaluation    EvaluationConfig    `json:"evaluation"`
}

// ValuesConfig is values: what the algorithm rules allow and deny.
type ValuesConfig struct {
	Encryption  ValueLists `json:"encryption"`
	Integrity   ValueLists `json:"integrity"`
	DHGroup     ValueLists `json:"dh_group"`
	IKEVersion  ValueLists `json:"ike_version"`
	IKEMode     ValueLists `json:"ike_mode"`
	PFSDisabled []string   `json:"pfs_disabled"`
}

// ValueLists is one kind's allowed and denied values.
type ValueLists struct {
	Allowed []string `json:"allowed"`
	Denied  []string `json:"denied"`
}

// PreferredConfig is preferred: the values a finding's fix sets.
type PreferredConfig struct {
	IKE struct {
		Version    string `json:"version"`
		Mode       string `json:"mode"`
		Encryption string `json:"encryption"`
		Integrity  string `json:"integrity"`
		DHGroup    string `json:"dh_group"`
	} `json:"ike"`
	IPsec struct {
		Encryption string `json:"encryption"`
		Integrity  string `json:"integrity"`
		PFS        string `json:"pfs"`
	} `json:"ipsec"`
}

// checkPreferred refuses a preferred value that its rule would still flag:
// a fix that sets it would not clear the finding.
func checkPreferred(c *Config) error {
	p, v := &c.Preferred, &c.Values
	for _, x := range []struct {
		key, value string
		lists      ValueLists
		alsoBad    []string
	}{
		{"ike.version", p.IKE.Version, v.IKEVersion, nil},
		{"ike.mode", p.IKE.Mode, v.IKEMode, nil},
		{"ike.encryption", p.IKE.Encryption, v.Encryption, nil},
		{"ike.integrity", p.IKE.Integrity, v.Integrity, nil},
		{"ike.dh_group", p.IKE.DHGroup, v.DHGroup, nil},
		{"ipsec.encryption", p.IPsec.Encryption, v.Encryption, nil},
		{"ipsec.integrity", p.IPsec.Integrity, v.Integrity, nil},
		{"ipsec.pfs", p.IPsec.PFS, v.DHGroup, v.PFSDisabled},
	} {
		in := func(list []string) bool {
			return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, x.value) })
		}
		if !in(x.lists.Allowed) || in(x.lists.Denied) || in(x.alsoBad) {
			return fmt.Errorf("policy data vpncheck.config.preferred.%s: %q is not an allowed value (a fix setting it would not clear the finding)", x.key, x.value)
		}
	}
	return nil
}

// PSKConfig is what vpncheck needs to derive the facts about keys.
type PSKConfig struct {
	// Banned is psk.banned: common keys, compared case-insensitively.
	Banned []string `json:"banned"`
	// EstimateMaxLength is psk.estimate_max_length: how many characters of
	// a key zxcvbn sees at most.
	EstimateMaxLength int `json:"estimate_max_length"`
}

// TagExceptionsConfig is tag_exceptions: what an exception declared in a
// connection's tags may do.
type TagExceptionsConfig struct {
	MaxDays       int    `json:"max_days"`       // the furthest expiry, in days from the run
	MaxSeverity   string `json:"max_severity"`   // rules whose default severity is above cannot be excepted by tag
	RequireReason bool   `json:"require_reason"` // vpncheck:exception-reason must be set
	RequireOwner  bool   `json:"require_owner"`  // vpncheck:exception-owner must be set
}

// EvaluationConfig is evaluation.
type EvaluationConfig struct {
	TimeoutMS int `json:"timeout_ms"` // bound of one evaluation of one connection
}

// Timeout is TimeoutMS as a duration.
func (c EvaluationConfig) Timeout() time.Duration {
	return time.Duration(c.TimeoutMS) * time.Millisecond
}

// ruleID is the shape of a rule id; the schema says the same.
var ruleID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

var (
	schemaOnce     sync.Once
	configSchema   *jsonschema.Schema
	severitySchema *jsonschema.Schema
	schemaErr      error
)

// compiledSchema compiles Schema once.
func compiledSchema() (*jsonschema.Schema, *jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
		if err != nil {
			schemaErr = fmt.Errorf("read config schema: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource(schemaURL, doc); err != nil {
			schemaErr = fmt.Errorf("add config schema: %w", err)
			return
		}
		if configSchema, err = c.Compile(schemaURL); err != nil {
			schemaErr = fmt.Errorf("compile config schema: %w", err)
			return
		}
		if severitySchema, err = c.Compile(schemaURL + "#/$defs/severity"); err != nil {
			schemaErr = fmt.Errorf("compile config schema severity: %w", err)
		}
	})
	return configSchema, severitySchema, schemaErr
}

// isSeverity says whether s is a severity name of the schema.
func isSeverity(s string) bool {
	_, sev, err := compiledSchema()
	return err == nil && sev.Validate(s) == nil
}

// validateConfig checks the merged data.vpncheck.config against Schema,
// then the rule ids it names against known. custom is the team's own
// config before the merge, to say where a bad key came from; source names
// the team's source.
func validateConfig(cfg, custom any, source string, known map[string]bool) (Config, error) {
	schema, _, err := compiledSchema()
	if err != nil {
		return Config{}, err
	}
	if cfg == nil {
		return Config{}, fmt.Errorf("policy data: no data.vpncheck.config")
	}
	if err := schema.Validate(cfg); err != nil {
		var ve *jsonschema.ValidationError
		if !asValidationError(err, &ve) {
			return Config{}, fmt.Errorf("policy data: %v", err)
		}
		return Config{}, describe(ve, cfg, custom, source)
	}
	if err := checkRuleIDs(cfg, known); err != nil {
		return Config{}, err
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return Config{}, fmt.Errorf("policy data: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("policy data: %w", err)
	}
	if err := checkPreferred(&c); err != nil {
		return Config{}, err
	}
	return c, nil
}

func asValidationError(err error, ve **jsonschema.ValidationError) bool {
	v, ok := err.(*jsonschema.ValidationError)
	*ve = v
	return ok
}

// problem is one schema violation at a place in the data.
type problem struct {
	at  []string // keys from data.vpncheck.config
	msg string
}

// describe turns a validation error into one line: the first violation by
// key path, how many more there are, and whether the team's data set it.
func describe(ve *jsonschema.ValidationError, cfg, custom any, source string) error {
	var ps []problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		ps = append(ps, explain(e))
	}
	walk(ve)
	sort.SliceStable(ps, func(i, j int) bool { return slices.Compare(ps[i].at, ps[j].at) < 0 })
	p := ps[0]
	msg := fmt.Sprintf("policy data %s: %s", keyPath(cfg, p.at), p.msg)
	if custom != nil && setBy(custom, p.at) {
		msg += " (set by " + source + ")"
	}
	if len(ps) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(ps)-1)
	}
	return fmt.Errorf("%s", msg)
}

// explain words one leaf violation.
func explain(e *jsonschema.ValidationError) problem {
	at := slices.Clone(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		sort.Strings(k.Properties)
		return problem{append(at, k.Properties[0]), "unknown key (a typo? policies/schema/config.schema.json lists the keys)"}
	case *kind.Required:
		sort.Strings(k.Missing)
		return problem{append(at, k.Missing[0]), "missing"}
	case *kind.Type:
		return problem{at, fmt.Sprintf("is %s, want %s", k.Got, strings.Join(k.Want, " or "))}
	case *kind.Enum:
		return problem{at, fmt.Sprintf("%s is not one of %s", jsonText(k.Got), jsonText(k.Want))}
	case *kind.MinItems:
		return problem{at, "is empty: an empty list would switch the check off (disable the rule with disabled_rules instead)"}
	case *kind.Format:
		if k.Want == "date" {
			return problem{at, fmt.Sprintf("%s is not a date (YYYY-MM-DD)", jsonText(k.Got))}
		}
	case *kind.Pattern:
		if k.Want == `\S` {
			return problem{at, "is blank"}
		}
	case *kind.PropertyNames:
		return problem{append(at, k.Property), "is not a rule id (lower-case words joined by dashes)"}
	}
	var msg string
	if o := e.BasicOutput(); o != nil && o.Error != nil {
		msg = o.Error.String()
	} else {
		msg = oneLine(e.Error())
	}
	return problem{at, msg}
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// keyPath writes keys as vpncheck.config.a.b[2].c, using doc to tell list
// indexes from object keys.
func keyPath(doc any, keys []string) string {
	var sb strings.Builder
	sb.WriteString("vpncheck.config")
	v := doc
	for _, k := range keys {
		switch x := v.(type) {
		case []any:
			sb.WriteString("[" + k + "]")
			if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < len(x) {
				v = x[i]
			} else {
				v = nil
			}
		case map[string]any:
			sb.WriteString(member(k))
			v = x[k]
		default:
			sb.WriteString(member(k))
			v = nil
		}
	}
	return sb.String()
}

// member writes one key of a path: .key, or ["key"] quoted when it holds
// anything but letters, digits, dashes and underscores (a newline or a
// terminal escape in a team's key must not break the one-line message).
func member(k string) string {
	plain := k != ""
	for _, r := range k {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return "." + k
	}
	return "[" + strconv.Quote(k) + "]"
}

// setBy says whether the team's config holds a value on the way to keys.
func setBy(custom any, keys []string) bool {
	v := custom
	for _, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[k]
			if !ok {
				return false
			}
			v = next
		case []any:
			// A list is replaced whole: the team's list is the one checked.
			return true
		default:
			return true
		}
	}
	return true
}

// checkRuleIDs checks that the rule ids the data names belong to rules:
// an unknown id in disabled_rules, severity overrides, exceptions or custom
// is a typo that would silently change nothing.
func checkRuleIDs(cfg any, known map[string]bool) error {
	c, _ := cfg.(map[string]any)
	check := func(id, where string) error {
		if !known[id] {
			return fmt.Errorf("policy data vpncheck.config.%s: no rule has id %q", where, id)
		}
		return nil
	}
	for i, v := range asList(c["disabled_rules"]) {
		if err := check(fmt.Sprint(v), fmt.Sprintf("disabled_rules[%d]", i)); err != nil {
			return err
		}
	}
	sev, _ := c["severity"].(map[string]any)
	for _, by := range []string{"by_rule", "by_value"} {
		m, _ := sev[by].(map[string]any)
		for _, id := range sortedKeys(m) {
			if err := check(id, "severity."+by+"."+id); err != nil {
				return err
			}
		}
	}
	for i, x := range asList(c["exceptions"]) {
		m, _ := x.(map[string]any)
		if err := check(fmt.Sprint(m["rule"]), fmt.Sprintf("exceptions[%d].rule", i)); err != nil {
			return err
		}
	}
	custom, _ := c["custom"].(map[string]any)
	for _, id := range sortedKeys(custom) {
		if err := check(id, "custom."+id); err != nil {
			return err
		}
	}
	return nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
