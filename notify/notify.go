// Package notify is what every notification channel shares: what a run is
// to a channel, what a delivery did, and the last guard that keeps secrets
// out of anything sent. Channels live in sub-packages (notify/slack); the
// run pipeline consumes them through its own small interface.
package notify

import (
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/vpncheck/vpncheck/checker/report"
)

// Scrubber masks secret values in text. *checker.Secrets is one.
type Scrubber interface {
	Scrub(text string) string
}

// Mask replaces a secret wherever the guard finds one.
const Mask = "vpncheck:redacted"

// Run is one check run as a channel needs to know it.
type Run struct {
	// Key identifies the run across retries: for a timer invocation, the
	// trigger name and trigger time ("hourly@2026-05-01T10:00:00Z"). Empty
	// turns duplicate protection off (a one-off CLI run).
	Key       string
	AccountID string
	// Scrubber masks the run's secrets in everything sent; nil masks only
	// the channel's own credentials.
	Scrubber Scrubber
	// Delivered are the messages of this run already acknowledged, by part
	// index (the value is the channel's message id, e.g. a Slack ts), as a
	// state store remembers them across instances: they are not sent again.
	Delivered map[int]string
	// OnPosted, when set, is called after each message the channel
	// acknowledged, so the caller can record it; its error stops delivery.
	OnPosted func(part int, id string) error
}

// Delivery says what a notification did.
type Delivery struct {
	Messages int    // messages rendered
	Posted   int    // messages posted now
	Skipped  int    // messages a previous attempt of the same run delivered
	History  string // how earlier deliveries were looked up, when they were
}

// Guard is the last check on everything that leaves the process for a
// channel: the run's secrets (through the run's scrubber) and the channel's
// own credentials are masked.
type Guard struct {
	run   Scrubber
	creds *strings.Replacer
}

// NewGuard guards with the run's scrubber and the channel's credentials
// (see CredentialForms).
func NewGuard(run Scrubber, creds []string) Guard {
	var pairs []string
	for _, c := range creds {
		if c != "" {
			pairs = append(pairs, c, Mask)
		}
	}
	g := Guard{run: run}
	if len(pairs) > 0 {
		g.creds = strings.NewReplacer(pairs...)
	}
	return g
}

// CredentialForms are the forms in which a channel's credentials could
// show: a whole URL, its path and query (the secret parts), and tokens;
// longest first, so a URL is masked whole before its path is.
func CredentialForms(secretURL string, tokens ...string) []string {
	out := append([]string{secretURL}, tokens...)
	if u, err := url.Parse(secretURL); err == nil && len(u.Path) > 1 {
		out = append(out, u.Path, strings.TrimPrefix(u.Path, "/"))
		if u.RawQuery != "" {
			out = append(out, u.RawQuery)
		}
	}
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// Scrub masks every secret the guard knows in s.
func (g Guard) Scrub(s string) string {
	if g.run != nil {
		s = g.run.Scrub(s)
	}
	if g.creds != nil {
		s = g.creds.Replace(s)
	}
	return s
}

// Clean reports whether s holds nothing the guard would mask.
func (g Guard) Clean(s string) bool { return g.Scrub(s) == s }

// Report returns a copy of rep whose every string has been scrubbed; it
// runs before rendering, while the values are still unescaped.
func (g Guard) Report(rep *report.Report) *report.Report {
	c := *rep
	c.AccountID = g.Scrub(rep.AccountID)
	c.Findings = make([]report.Finding, len(rep.Findings))
	for i, f := range rep.Findings {
		for _, p := range []*string{&f.Rule, &f.Title, &f.Message, &f.Remediation, &f.AccountID, &f.Region,
			&f.ConnectionID, &f.ConnectionName, &f.VPNGatewayID, &f.TunnelID, &f.ExceptionExpired} {
			*p = g.Scrub(*p)
		}
		c.Findings[i] = f
	}
	c.Errors = make([]report.ErrorEntry, len(rep.Errors))
	for i, e := range rep.Errors {
		for _, p := range []*string{&e.Region, &e.Code, &e.Message, &e.RequestID, &e.ConnectionID} {
			*p = g.Scrub(*p)
		}
		c.Errors[i] = e
	}
	scrubAll := func(ss []string) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = g.Scrub(s)
		}
		return out
	}
	c.Summary.RegionsScan = scrubAll(rep.Summary.RegionsScan)
	c.Summary.RegionsFailed = scrubAll(rep.Summary.RegionsFailed)
	return &c
}

// Err makes a delivery error safe to log: the URL that net/http puts in
// transport errors is cut out (a webhook URL is a secret), and any secret
// left is masked.
func (g Guard) Err(prefix string, err error) error {
	if err == nil {
		return nil
	}
	msg, cause := err.Error(), err
	var ue *url.Error
	if errors.As(err, &ue) {
		// `Post "https://hooks.slack.com/services/...": dial tcp: ...`
		msg = strings.Replace(msg, ue.Error(), ue.Op+": "+ue.Err.Error(), 1)
		cause = ue.Err
	}
	msg = strings.Replace(msg, "failed to post webhook: ", "", 1)
	if safe := g.Scrub(msg); safe != msg || strings.Contains(msg, "://") {
		// Keep the text only, never the chain: an unwrapped cause could
		// still hold the secret.
		return &DeliveryError{msg: prefix + ": " + safe}
	}
	return &DeliveryError{msg: prefix + ": " + msg, cause: cause}
}

// DeliveryError is a delivery that did not succeed. Its text holds no
// secret; Unwrap gives the cause only when the cause's text was clean.
type DeliveryError struct {
	msg   string
	cause error
}

func (e *DeliveryError) Error() string { return e.msg }
func (e *DeliveryError) Unwrap() error { return e.cause }
