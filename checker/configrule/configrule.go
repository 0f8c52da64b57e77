// Package configrule is vpncheck as a Cloud Config custom function rule:
// the rule's event (what to judge, the rule's parameters, the result
// token), the evaluations made from a run's report (one per connection
// judged), and their delivery with PutEvaluations (Config API
// 2020-09-07). It imports the report model only, and the OpenAPI client
// through the small Caller interface; the run itself is the caller's.
package configrule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/report"
)

// ResourceType is the type Cloud Config and Resource Center give an
// IPsec-VPN connection; every other type is not applicable.
const ResourceType = "ACS::VPN::VpnConnection"

// The message types of the rule's invoking event.
const (
	MessageChange    = "ConfigurationItemChangeNotification"
	MessageScheduled = "ScheduledNotification"
)

// The compliance types PutEvaluations accepts.
const (
	Compliant     = "COMPLIANT"
	NonCompliant  = "NON_COMPLIANT"
	NotApplicable = "NOT_APPLICABLE"
)

// MaxAnnotation is the longest annotation written, in characters. Cloud
// Config's PutEvaluations reference gives no bound for the field; AWS
// Config, whose evaluation model Cloud Config follows, bounds it at 256,
// and so does this.
const MaxAnnotation = 256

// Event is a Config rule's invocation of the function.
type Event struct {
	ResultToken       string
	OrderingTimestamp int64
	MessageType       string
	// Item is the changed resource, for MessageChange.
	Item *Item
	// Parameters narrow what counts (see Parameters).
	Parameters Parameters
}

// Item is the configuration item of a change.
type Item struct {
	AccountID    string
	RegionID     string
	ResourceID   string
	ResourceName string
	ResourceType string
	// Configuration is the resource's configuration (a JSON object), nil
	// when the item came without it (OVERSIZE: over 100 KB).
	Configuration json.RawMessage
	Oversize      bool
}

// Parameters are the rule's parameters: min_severity (a level name) and
// rules (rule ids, as a JSON array or comma-separated). A finding counts
// when it is at or above MinSeverity and, when Rules is set, of one of
// those rules.
type Parameters struct {
	MinSeverity report.Severity
	Rules       []string
}

// Counts reports whether f counts against its connection.
func (p Parameters) Counts(f *report.Finding) bool {
	return f.Severity >= p.MinSeverity && (len(p.Rules) == 0 || slices.Contains(p.Rules, f.Rule))
}

// IsEvent reports whether body looks like a Config rule's event: an object
// with a resultToken and an invokingEvent.
func IsEvent(body []byte) bool {
	var probe struct {
		ResultToken   json.RawMessage `json:"resultToken"`
		InvokingEvent json.RawMessage `json:"invokingEvent"`
	}
	return json.Unmarshal(body, &probe) == nil && len(probe.ResultToken) > 0 && len(probe.InvokingEvent) > 0
}

// ErrEvent marks a Config rule event that cannot be read.
var ErrEvent = errors.New("config rule event")

func eventErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrEvent}, a...)...)
}

// Parse reads a Config rule event. knownRules are the rule ids the
// parameters may name; the default minimum severity applies when the
// parameters set none.
func Parse(body []byte, knownRules []string, defaultMin report.Severity) (*Event, error) {
	var raw struct {
		ResultToken       string          `json:"resultToken"`
		OrderingTimestamp json.Number     `json:"orderingTimestamp"`
		InvokingEvent     json.RawMessage `json:"invokingEvent"`
		RuleParameters    json.RawMessage `json:"ruleParameters"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, eventErr("not a JSON object of resultToken, invokingEvent, ruleParameters and orderingTimestamp: %v", err)
	}
	if strings.TrimSpace(raw.ResultToken) == "" {
		return nil, eventErr("no resultToken")
	}
	ev := &Event{ResultToken: raw.ResultToken}
	if raw.OrderingTimestamp != "" {
		n, err := strconv.ParseInt(string(raw.OrderingTimestamp), 10, 64)
		if err != nil {
			return nil, eventErr("orderingTimestamp %q is not milliseconds", raw.OrderingTimestamp)
		}
		ev.OrderingTimestamp = n
	}
	inv, err := objectOrString(raw.InvokingEvent)
	if err != nil {
		return nil, eventErr("invokingEvent: %v", err)
	}
	var ie struct {
		MessageType       string          `json:"messageType"`
		ConfigurationType string          `json:"configurationType"`
		Item              json.RawMessage `json:"configurationItem"`
	}
	if err := json.Unmarshal(inv, &ie); err != nil {
		return nil, eventErr("invokingEvent: %v", err)
	}
	ev.MessageType = ie.MessageType
	switch ie.MessageType {
	case MessageScheduled:
	case MessageChange:
		if ev.Item, err = parseItem(ie.Item, ie.ConfigurationType); err != nil {
			return nil, err
		}
	default:
		return nil, eventErr("messageType %q is not %s or %s", printable(ie.MessageType), MessageChange, MessageScheduled)
	}
	if ev.Parameters, err = parseParameters(raw.RuleParameters, knownRules, defaultMin); err != nil {
		return nil, err
	}
	return ev, nil
}

func parseItem(raw json.RawMessage, configurationType string) (*Item, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, eventErr("a %s without a configurationItem", MessageChange)
	}
	var ci struct {
		AccountID         json.Number     `json:"accountId"`
		RegionID          string          `json:"regionId"`
		ResourceID        string          `json:"resourceId"`
		ResourceName      string          `json:"resourceName"`
		ResourceType      string          `json:"resourceType"`
		ConfigurationType string          `json:"configurationType"`
		Configuration     json.RawMessage `json:"configuration"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&ci); err != nil {
		return nil, eventErr("configurationItem: %v", err)
	}
	if ci.ResourceID == "" || ci.ResourceType == "" || ci.RegionID == "" {
		return nil, eventErr("configurationItem without resourceId, resourceType or regionId")
	}
	it := &Item{AccountID: string(ci.AccountID), RegionID: ci.RegionID, ResourceID: ci.ResourceID,
		ResourceName: ci.ResourceName, ResourceType: ci.ResourceType}
	it.Oversize = strings.EqualFold(configurationType, "OVERSIZE") || strings.EqualFold(ci.ConfigurationType, "OVERSIZE")
	if !it.Oversize {
		cfg, err := objectOrString(ci.Configuration)
		if err == nil && len(cfg) > 0 {
			it.Configuration = cfg
		}
	}
	return it, nil
}

// objectOrString returns a JSON object given as itself or as a string
// holding it (Config sends some fields either way); nil for absent or null.
func objectOrString(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		raw = json.RawMessage(s)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, errors.New("not a JSON object")
	}
	return raw, nil
}

func parseParameters(raw json.RawMessage, known []string, defaultMin report.Severity) (Parameters, error) {
	p := Parameters{MinSeverity: defaultMin}
	obj, err := objectOrString(raw)
	if err != nil {
		return p, eventErr("ruleParameters: %v", err)
	}
	if obj == nil {
		return p, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return p, eventErr("ruleParameters: %v", err)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		switch k {
		case "min_severity":
			var s string
			if json.Unmarshal(v, &s) != nil {
				return p, eventErr("ruleParameters.min_severity is not a string")
			}
			if strings.TrimSpace(s) == "" {
				continue
			}
			if p.MinSeverity, err = report.ParseSeverity(s); err != nil {
				return p, eventErr("ruleParameters.min_severity: %v", err)
			}
		case "rules":
			var list []string
			if json.Unmarshal(v, &list) != nil {
				var s string
				if json.Unmarshal(v, &s) != nil {
					return p, eventErr("ruleParameters.rules is not a list of rule ids")
				}
				if list2, err := ruleList(s); err == nil {
					list = list2
				}
			}
			for _, id := range list {
				if id = strings.TrimSpace(id); id == "" {
					continue
				}
				if !slices.Contains(known, id) {
					return p, eventErr("ruleParameters.rules: %q is not a rule id (see vpncheck rules)", printable(id))
				}
				if !slices.Contains(p.Rules, id) {
					p.Rules = append(p.Rules, id)
				}
			}
		default:
			return p, eventErr("ruleParameters: unknown parameter %q (want min_severity, rules)", printable(k))
		}
	}
	return p, nil
}

// ruleList reads a rule list given as a string: a JSON array, or ids
// separated by commas.
func ruleList(s string) ([]string, error) {
	var list []string
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		if err := json.Unmarshal([]byte(s), &list); err != nil {
			return nil, err
		}
		return list, nil
	}
	return strings.Split(s, ","), nil
}

// printable shortens and cleans a value quoted in an error.
func printable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) > 64 {
		s = string([]rune(s)[:63]) + "…"
	}
	return strconv.Quote(s)[1 : len(strconv.Quote(s))-1]
}

// Evaluation is one resource's verdict, as PutEvaluations' Evaluations
// list holds it.
type Evaluation struct {
	AccountID              json.Number `json:"accountId,omitempty"`
	ComplianceResourceID   string      `json:"complianceResourceId"`
	ComplianceResourceName string      `json:"complianceResourceName,omitempty"`
	ComplianceResourceType string      `json:"complianceResourceType"`
	ComplianceRegionID     string      `json:"complianceRegionId"`
	ComplianceType         string      `json:"complianceType"`
	Annotation             string      `json:"annotation,omitempty"`
	OrderingTimestamp      int64       `json:"orderingTimestamp"`
}

// Connection is one connection the run judged.
type Connection struct {
	Region, ID, Name string
}

// Evaluate makes one evaluation per judged connection: NON_COMPLIANT
// with an annotation naming the worst severity and the rules that fired,
// when a finding counts (see Parameters); COMPLIANT otherwise.
func Evaluate(judged []Connection, findings []report.Finding, p Parameters, accountID string, ordering int64) []Evaluation {
	type key struct{ region, id string }
	fired := map[key][]*report.Finding{}
	for i := range findings {
		f := &findings[i]
		if p.Counts(f) {
			k := key{f.Region, f.ConnectionID}
			fired[k] = append(fired[k], f)
		}
	}
	out := make([]Evaluation, 0, len(judged))
	for _, c := range judged {
		e := Evaluation{AccountID: accountNumber(accountID), ComplianceResourceID: c.ID, ComplianceResourceName: c.Name,
			ComplianceResourceType: ResourceType, ComplianceRegionID: c.Region, ComplianceType: Compliant, OrderingTimestamp: ordering}
		if fs := fired[key{c.Region, c.ID}]; len(fs) > 0 {
			e.ComplianceType, e.Annotation = NonCompliant, Annotation(fs)
		}
		out = append(out, e)
	}
	return out
}

// NotApplicableFor is the verdict on a resource vpncheck does not judge,
// or a connection that no longer exists.
func NotApplicableFor(it *Item, accountID string, ordering int64, why string) Evaluation {
	return Evaluation{AccountID: accountNumber(accountID), ComplianceResourceID: it.ResourceID, ComplianceResourceName: it.ResourceName,
		ComplianceResourceType: it.ResourceType, ComplianceRegionID: it.RegionID, ComplianceType: NotApplicable,
		Annotation: truncate(why, MaxAnnotation), OrderingTimestamp: ordering}
}

// Annotation names the worst severity and the rules that fired, worst
// first, within MaxAnnotation characters: "vpncheck high: psk-weak,
// ike-v1" or, cut short, "... (+3 more)".
func Annotation(fs []*report.Finding) string {
	worst := report.Info
	sevOf := map[string]report.Severity{}
	for _, f := range fs {
		worst = max(worst, f.Severity)
		if s, ok := sevOf[f.Rule]; !ok || f.Severity > s {
			sevOf[f.Rule] = f.Severity
		}
	}
	rules := make([]string, 0, len(sevOf))
	for r := range sevOf {
		rules = append(rules, r)
	}
	slices.SortFunc(rules, func(a, b string) int {
		if sevOf[a] != sevOf[b] {
			return int(sevOf[b]) - int(sevOf[a])
		}
		return strings.Compare(a, b)
	})
	head := "vpncheck " + worst.String() + ": "
	for n := len(rules); n >= 0; n-- {
		s := head + strings.Join(rules[:n], ", ")
		if n < len(rules) {
			s += fmt.Sprintf(" (+%d more)", len(rules)-n)
		}
		if utf8.RuneCountInString(s) <= MaxAnnotation {
			return s
		}
	}
	return truncate(head+fmt.Sprintf("%d rules", len(rules)), MaxAnnotation)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// accountNumber is the account id as the number Config's examples send;
// an id that is not digits is left out.
func accountNumber(id string) json.Number {
	if id == "" {
		return ""
	}
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return ""
	}
	return json.Number(id)
}
