package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/report"
)

func TestParseEvent(t *testing.T) {
	high := report.High
	for _, tc := range []struct {
		name, body string
		want       invocation
	}{
		{"empty body", "", invocation{}},
		{"empty object", "{}", invocation{}},
		{"timer without payload", `{"triggerTime": "2026-11-25T10:00:00Z", "triggerName": "hourly"}`,
			invocation{TriggerTime: "2026-11-25T10:00:00Z", TriggerName: "hourly"}},
		{"payload empty string", `{"payload": ""}`, invocation{}},
		{"payload null", `{"payload": null}`, invocation{}},
		{"payload string null", `{"payload": "null"}`, invocation{}},
		{"payload string empty object", `{"payload": "{}"}`, invocation{}},
		{"payload as string", `{"triggerName": "t", "payload": "{\"regions\": [\"cn-hangzhou\", \"cn-shanghai\"], \"dry_run\": true}"}`,
			invocation{TriggerName: "t", Regions: []string{"cn-hangzhou", "cn-shanghai"}, DryRun: true}},
		{"payload as object", `{"payload": {"regions": ["all"], "min_severity": "HIGH"}}`,
			invocation{Regions: []string{"all"}, MinSeverity: &high}},
		{"unknown envelope key ignored", `{"triggerName": "t", "extra": 1}`, invocation{TriggerName: "t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseEvent([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got.TriggerTime != tc.want.TriggerTime || got.TriggerName != tc.want.TriggerName || got.DryRun != tc.want.DryRun ||
				!slices.Equal(got.Regions, tc.want.Regions) || (got.MinSeverity == nil) != (tc.want.MinSeverity == nil) ||
				(got.MinSeverity != nil && *got.MinSeverity != *tc.want.MinSeverity) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseEventRejects(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"not json", `hello`, "invalid JSON"},
		{"truncated", `{"payload": {"regions": [`, "JSON"},
		{"payload not an object", `{"payload": "[1, 2]"}`, "want a JSON object"},
		{"payload number", `{"payload": 5}`, "want a JSON object"},
		{"payload bad json", `{"payload": "{regions: all}"}`, "invalid JSON"},
		{"unknown key", `{"payload": {"region": ["cn-hangzhou"]}}`, `unknown key "region"`},
		{"regions not array", `{"payload": {"regions": "cn-hangzhou"}}`, "regions must be an array of strings"},
		{"regions empty", `{"payload": {"regions": []}}`, "regions is empty"},
		{"dry_run string", `{"payload": {"dry_run": "yes"}}`, "dry_run must be a boolean"},
		{"bad severity", `{"payload": {"min_severity": "urgent"}}`, "min_severity"},
		{"trigger time number", `{"triggerTime": 5}`, "triggerTime must be a string"},
		{"trailing data", `{"payload": "{} {}"}`, "data after"},
		{"array body", `[1,2,3]`, `the body is an array; want a JSON object: a timer event {"triggerTime", "triggerName", "payload"}`},
		{"string body", `"str"`, "the body is a string; want a JSON object"},
		{"number body", ` 42 `, "the body is a number; want a JSON object"},
		{"boolean body", `true`, "the body is a boolean; want a JSON object"},
		{"trigger name object", `{"triggerName": {"a": 1}}`, "triggerName must be a string, not object"},
		{"regions of numbers", `{"payload": {"regions": [1]}}`, "must be a string, not number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseEvent([]byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line containing %q", err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), "struct") || strings.Contains(err.Error(), "*string")) {
				t.Errorf("err = %v names Go types", err)
			}
		})
	}
}

func TestRunKey(t *testing.T) {
	if k := (invocation{TriggerName: "hourly", TriggerTime: "2026-11-25T10:00:00Z"}).runKey("req-1"); k != "hourly@2026-11-25T10:00:00Z" {
		t.Error(k)
	}
	if k := (invocation{}).runKey("req-1"); k != "manual@req-1" {
		t.Error(k)
	}
}

// A broken CloudEvent is refused as one, never read as a timer event (which
// would run a full check and post).
func TestBrokenCloudEventIsNotATimerEvent(t *testing.T) {
	b, err := os.ReadFile("../testdata/events/malformed-missing-id.json")
	if err != nil {
		t.Fatal(err)
	}
	if !looksLikeCloudEvent(b) {
		t.Fatal("a CloudEvent without an id is not recognised as one")
	}
	for _, timer := range []string{``, `{}`, `{"triggerTime":"t","triggerName":"hourly","payload":"{}"}`} {
		if looksLikeCloudEvent([]byte(timer)) {
			t.Errorf("timer event %q taken for a CloudEvent", timer)
		}
	}
}
