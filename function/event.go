package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/vpncheck/vpncheck/checker/report"
)

// invocation is what one Function Compute event asks for.
type invocation struct {
	TriggerTime string
	TriggerName string
	Regions     []string         // nil: no override
	MinSeverity *report.Severity // nil: no override
	DryRun      bool
	Account     string // a member account to check (fan-out); "": the function's own
	RunKey      string // the coordinator's run key, for a fanned-out invocation
}

// runKey names a timer firing, so that an asynchronous retry of the same
// event is recognised as the same run.
func (iv invocation) runKey(requestID string) string {
	if iv.RunKey != "" {
		return iv.RunKey
	}
	if iv.TriggerTime != "" {
		return iv.TriggerName + "@" + iv.TriggerTime
	}
	return "manual@" + requestID
}

// overrides is the payload's object: every key optional, no other key allowed.
type overrides struct {
	Regions     *[]string `json:"regions"`
	MinSeverity *string   `json:"min_severity"`
	DryRun      *bool     `json:"dry_run"`
	// Account and RunKey are set by a coordinating invocation that fans a
	// run out to one invocation per member account.
	Account *string `json:"account"`
	RunKey  *string `json:"run_key"`
}

// parseEvent reads a timer event (or an empty manual invoke). Unknown
// top-level keys are ignored, since the platform owns that envelope; the
// payload is ours and is read strictly.
func parseEvent(body []byte) (invocation, error) {
	var iv invocation
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return iv, nil
	}
	if json.Valid(body) && body[0] != '{' && string(body) != "null" {
		// Say what is expected in words; the decoder would name the Go
		// struct it decodes into.
		return iv, fmt.Errorf(`event: the body is %s; want a JSON object: a timer event {"triggerTime", "triggerName", "payload"}, an ActionTrail CloudEvent, or {} (or nothing) for a manual check`, jsonValueKind(body))
	}
	var ev struct {
		TriggerTime *string         `json:"triggerTime"`
		TriggerName *string         `json:"triggerName"`
		Payload     json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return iv, fmt.Errorf("event: %s", jsonProblem(err))
	}
	if ev.TriggerTime != nil {
		iv.TriggerTime = *ev.TriggerTime
	}
	if ev.TriggerName != nil {
		iv.TriggerName = *ev.TriggerName
	}

	err := iv.readPayload(ev.Payload)
	return iv, err
}

// readPayload reads the event's payload: our overrides, a JSON object or
// a string holding one, read strictly.
func (iv *invocation) readPayload(payload json.RawMessage) error {
	raw := bytes.TrimSpace(payload)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("event payload: %s", jsonProblem(err))
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] != '{' {
		return errors.New("event payload: want a JSON object (or a string holding one) with regions, min_severity or dry_run")
	}
	var o overrides
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return fmt.Errorf("event payload: %s", jsonProblem(err))
	}
	if dec.More() {
		return errors.New("event payload: data after the JSON object")
	}
	if o.Regions != nil {
		for _, r := range *o.Regions {
			if strings.TrimSpace(r) == "" {
				return errors.New("event payload: regions holds an empty region id")
			}
		}
		if len(*o.Regions) == 0 {
			return errors.New(`event payload: regions is empty (leave it out, or name regions, or ["all"])`)
		}
		iv.Regions = *o.Regions
	}
	if o.MinSeverity != nil {
		s, err := report.ParseSeverity(*o.MinSeverity)
		if err != nil {
			return fmt.Errorf("event payload: min_severity: %v", err)
		}
		iv.MinSeverity = &s
	}
	if o.DryRun != nil {
		iv.DryRun = *o.DryRun
	}
	if o.Account != nil {
		if !isAccountID(*o.Account) {
			return errors.New("event payload: account must be an account id (digits)")
		}
		iv.Account = *o.Account
	}
	if o.RunKey != nil {
		iv.RunKey = strings.TrimSpace(*o.RunKey)
	}
	return nil
}

// jsonProblem describes a decoding error without quoting the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the value"
		}
		return fmt.Sprintf("%s must be %s, not %s", field, jsonKind(te.Type), te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown key " + strings.TrimPrefix(err.Error(), "json: unknown field ") + " (allowed: regions, min_severity, dry_run, account, run_key)"
	case strings.Contains(err.Error(), "unexpected end of JSON input"):
		return "truncated JSON"
	}
	return "invalid JSON"
}

// jsonKind names the JSON a Go type takes, in the words of the README,
// never the Go type itself.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.String {
			return "an array of strings"
		}
		return "an array"
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another kind of value"
}

// jsonValueKind names the kind of a valid JSON value.
func jsonValueKind(v []byte) string {
	switch v[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '{':
		return "an object"
	}
	return "a number"
}

// isAccountID accepts an Alibaba Cloud account id: digits only.
func isAccountID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
