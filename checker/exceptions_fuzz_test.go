package checker

import (
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/report"
)

// FuzzTagExceptions: whatever the tags say, a declaration either yields
// exceptions that keep the tag policy, or one error entry naming the
// connection; never both, never a panic, never an expiry beyond the limit.
func FuzzTagExceptions(f *testing.F) {
	f.Add("dpd-disabled, ike-v1", "2026-12-01", "vendor fix", "netops")
	f.Add("psk-weak", "9999-12-31", "", "")
	f.Add(",,", "2026-13-40", "r", "o")
	f.Add("dpd-disabled", " 2026-12-24 ", "\x1b[2J", "\u202e")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	pol := builtin(f).tagPolicy
	known := map[string]report.Severity{"dpd-disabled": report.Medium, "ike-v1": report.Low, "psk-weak": report.Critical}
	sev := func(r string) (report.Severity, bool) { s, ok := known[r]; return s, ok }
	f.Fuzz(func(t *testing.T, rules, expires, reason, owner string) {
		c := &input.ConnectionInfo{ID: "vco-f", Region: "cn-x", Tags: map[string]string{
			TagException: rules, TagExceptionExpires: expires, TagExceptionReason: reason, TagExceptionOwner: owner,
		}}
		xs, bad := tagExceptions(c, pol, now, sev)
		if bad != nil {
			if len(xs) != 0 || bad.ConnectionID != "vco-f" || bad.Code != report.CodeInvalidException || strings.Contains(bad.Message, "\n") {
				t.Fatalf("refused with exceptions %v or a bad entry %+v", xs, bad)
			}
			return
		}
		limit := now.AddDate(0, 0, pol.MaxDays+1)
		for _, x := range xs {
			if s, _ := sev(x.Rule); s > pol.MaxSeverity || x.until.After(limit) || x.Reason == "" || x.Owner == "" {
				t.Fatalf("exception %+v breaks the tag policy", x)
			}
		}
	})
}
