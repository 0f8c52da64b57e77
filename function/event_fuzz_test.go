package main

import (
	"strings"
	"testing"
)

// FuzzParseEvent: any body is an invocation with sane values, or a
// one-line error; never a panic.
func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"triggerTime":"2026-11-25T10:05:00Z","triggerName":"hourly","payload":""}`,
		`{"payload":"{\"regions\":[\"all\"],\"dry_run\":true}"}`,
		`{"payload":{"regions":["cn-hangzhou"],"min_severity":"HIGH"}}`,
		`{"payload":"{\"account\":\"1234567890\",\"run_key\":\"hourly@x/1234567890\"}"}`,
		`{"payload":"not json"}`, `{"payload":{"unknown":1}}`, `[1,2]`, `{"payload":"\"nested\""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		iv, err := parseEvent(body)
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			return
		}
		for _, r := range iv.Regions {
			if strings.TrimSpace(r) == "" {
				t.Errorf("empty region accepted from %q", body)
			}
		}
		if iv.Account != "" && !isAccountID(iv.Account) {
			t.Errorf("account %q accepted", iv.Account)
		}
	})
}
