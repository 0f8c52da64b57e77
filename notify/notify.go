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
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
)

// Scrubber masks secret values in text. *keys.Secrets (checker/keys) is one.
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
	// At is when the run happened: messages state the age of open findings
	// against it. Give the same value on every attempt of one run (parts
	// are matched by position, so a retry must render the same messages);
	// zero leaves ages out.
	At time.Time
	// Delivered are the parts of this run already acknowledged, by part
	// index (the value is the channel's id for it: a Slack ts, a file id,
	// "" for a webhook), as a state store remembers them across instances:
	// they are not sent again. With Delivered or OnPosted set the caller
	// keeps the record, and the channel does not consult its own memory.
	Delivered map[int]string
	// OnPosted, when set, is called after each part the channel
	// acknowledged, before the next is sent, so the caller can record it
	// (create-only); its error stops delivery with that error.
	OnPosted func(part int, id string) error
}

// Delivery says what a notification did.
type Delivery struct {
	Messages int    // messages rendered
	Posted   int    // messages posted now
	Skipped  int    // parts a previous attempt of the same run delivered
	Files    int    // files uploaded now (the complete report)
	History  string // how earlier deliveries were looked up, when they were
	// Unattached says why the complete report could not be attached as a
	// file (the messages say so too), when it could not.
	Unattached string
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
	findings := func(fs []report.Finding) []report.Finding {
		if fs == nil {
			return nil
		}
		out := make([]report.Finding, len(fs))
		for i, f := range fs {
			for _, p := range []*string{&f.Rule, &f.Title, &f.Message, &f.Remediation, &f.AccountID, &f.AccountName, &f.Region,
				&f.ConnectionID, &f.ConnectionName, &f.VPNGatewayID, &f.TunnelID, &f.Side, &f.ExceptionExpired, &f.ID} {
				*p = g.Scrub(*p)
			}
			out[i] = f
		}
		return out
	}
	scrubAll := func(ss []string) []string {
		if ss == nil {
			return nil
		}
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = g.Scrub(s)
		}
		return out
	}
	c.Findings = findings(rep.Findings)
	c.Resolved = findings(rep.Resolved)
	c.Lifecycle.NewlySuppressed = findings(rep.Lifecycle.NewlySuppressed)
	c.Lifecycle.SeverityChanged = findings(rep.Lifecycle.SeverityChanged)
	c.Lifecycle.Held = scrubAll(rep.Lifecycle.Held)
	errs := func(es []report.ErrorEntry) []report.ErrorEntry {
		if es == nil {
			return nil
		}
		out := make([]report.ErrorEntry, len(es))
		for i, e := range es {
			for _, p := range []*string{&e.Region, &e.Code, &e.Message, &e.RequestID, &e.ConnectionID, &e.AccountID} {
				*p = g.Scrub(*p)
			}
			out[i] = e
		}
		return out
	}
	c.Errors = errs(rep.Errors)
	if c.Errors == nil {
		c.Errors = []report.ErrorEntry{}
	}
	c.Lifecycle.Recovered = errs(rep.Lifecycle.Recovered)
	c.Summary.RegionsScan = scrubAll(rep.Summary.RegionsScan)
	c.Summary.RegionsFailed = scrubAll(rep.Summary.RegionsFailed)
	if rep.Summary.Accounts != nil {
		c.Summary.Accounts = make(map[string]report.AccountSummary, len(rep.Summary.Accounts))
		for k, v := range rep.Summary.Accounts {
			v.DisplayName, v.Status = g.Scrub(v.DisplayName), g.Scrub(v.Status)
			v.RegionsScan, v.RegionsFailed = scrubAll(v.RegionsScan), scrubAll(v.RegionsFailed)
			c.Summary.Accounts[g.Scrub(k)] = v
		}
	}
	if ch := rep.Change; ch != nil {
		cc := *ch
		for _, p := range []*string{&cc.Event, &cc.EventID, &cc.RequestID, &cc.AccountID, &cc.Region, &cc.ConnectionID,
			&cc.TunnelID, &cc.Actor, &cc.SourceIP} {
			*p = g.Scrub(*p)
		}
		cc.Changed = scrubAll(ch.Changed)
		c.Change = &cc
	}
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
