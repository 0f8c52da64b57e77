package output

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
)

// With a state store the text report marks new findings and lists the
// resolved ones; without one it looks as it always did.
func TestTextMarksLifecycle(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	r := report.New()
	r.Findings = []report.Finding{
		{Rule: "dpd-disabled", Severity: report.Medium, Message: "dead peer detection is off", Region: "cn-x", ConnectionID: "vco-1", ConnectionName: "a", Status: report.StatusNew},
		{Rule: "ike-v1", Severity: report.Low, Message: "IKE version is ikev1", Region: "cn-x", ConnectionID: "vco-1", ConnectionName: "a", Status: report.StatusOpen},
	}
	r.Resolved = []report.Finding{{Rule: "psk-weak", Severity: report.Critical, Region: "cn-x", ConnectionID: "vco-2", ConnectionName: "b", ResolvedAt: &at}}
	r.Summary.New, r.Summary.Resolved = 1, 1
	r.Finish()

	var plain bytes.Buffer
	if err := (textWriter{}).Report(&plain, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "*MEDIUM") || strings.Contains(plain.String(), "since the last run: 1 new") {
		t.Errorf("a report without state shows lifecycle marks:\n%s", plain.String())
	}

	r.Lifecycle.Stateful = true
	var out bytes.Buffer
	if err := (textWriter{}).Report(&out, r); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"since the last run: 1 new (marked *), 1 resolved", " *MEDIUM    dpd-disabled", "  LOW       ike-v1", "Resolved since the last run:\n  CRITICAL  psk-weak                b  vco-2  cn-x"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}
