package notify

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/slack-go/slack"

	"github.com/vpncheck/vpncheck/checker"
)

// Scrubber masks secret values in text. *checker.Secrets is one.
type Scrubber interface {
	Scrub(text string) string
}

const mask = "vpncheck:redacted"

// guard is the last check on everything that leaves for Slack: the run's
// secrets (through the caller's scrubber) and the notifier's own credentials
// (bot token, webhook URL and its secret path) are masked.
type guard struct {
	run   Scrubber
	creds *strings.Replacer
}

func newGuard(run Scrubber, creds []string) guard {
	var pairs []string
	for _, c := range creds {
		if c != "" {
			pairs = append(pairs, c, mask)
		}
	}
	g := guard{run: run}
	if len(pairs) > 0 {
		g.creds = strings.NewReplacer(pairs...)
	}
	return g
}

// credentialStrings are the forms in which a credential could show: the
// whole webhook URL, its path (the secret part), and the token.
func credentialStrings(webhookURL, token string) []string {
	out := []string{webhookURL, token}
	if u, err := url.Parse(webhookURL); err == nil && len(u.Path) > 1 {
		out = append(out, u.Path, strings.TrimPrefix(u.Path, "/"))
		if u.RawQuery != "" {
			out = append(out, u.RawQuery)
		}
	}
	// Longest first, so a URL is masked whole before its path is.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (g guard) scrub(s string) string {
	if g.run != nil {
		s = g.run.Scrub(s)
	}
	if g.creds != nil {
		s = g.creds.Replace(s)
	}
	return s
}

// clean reports whether s holds nothing the guard would mask.
func (g guard) clean(s string) bool { return g.scrub(s) == s }

// report returns a copy of rep whose every string has been scrubbed; it
// runs before rendering, while the values are still unescaped.
func (g guard) report(rep *checker.Report) *checker.Report {
	c := *rep
	c.Findings = make([]checker.Finding, len(rep.Findings))
	for i, f := range rep.Findings {
		for _, p := range []*string{&f.Rule, &f.Title, &f.Message, &f.Remediation, &f.AccountID, &f.Region,
			&f.ConnectionID, &f.ConnectionName, &f.VPNGatewayID, &f.TunnelID, &f.ExceptionExpired} {
			*p = g.scrub(*p)
		}
		c.Findings[i] = f
	}
	c.Errors = make([]checker.ErrorEntry, len(rep.Errors))
	for i, e := range rep.Errors {
		for _, p := range []*string{&e.Region, &e.Code, &e.Message, &e.RequestID, &e.ConnectionID} {
			*p = g.scrub(*p)
		}
		c.Errors[i] = e
	}
	scrubAll := func(ss []string) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = g.scrub(s)
		}
		return out
	}
	c.Summary.RegionsScan = scrubAll(rep.Summary.RegionsScan)
	c.Summary.RegionsFailed = scrubAll(rep.Summary.RegionsFailed)
	return &c
}

var unescapeMrkdwn = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// message returns a scrubbed copy of m. Every text of every block is
// scrubbed, and then checked once more with mrkdwn's escapes undone: a
// secret that only shows escaped (a<b as a&lt;b) stops the message. A
// block type the guard does not know is refused, so nothing unscrubbed can
// slip through a new kind of block.
func (g guard) message(m Message) (Message, error) {
	out := Message{Text: g.scrub(m.Text), Blocks: make([]slack.Block, 0, len(m.Blocks))}
	var leaked bool
	text := func(t *slack.TextBlockObject) *slack.TextBlockObject {
		if t == nil {
			return nil
		}
		c := *t
		c.Text = g.scrub(c.Text)
		if !g.clean(unescapeMrkdwn.Replace(c.Text)) {
			leaked = true
		}
		return &c
	}

	for i, b := range m.Blocks {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			c := *b
			c.Text = text(b.Text)
			out.Blocks = append(out.Blocks, &c)
		case *slack.SectionBlock:
			if b.Accessory != nil {
				return Message{}, fmt.Errorf("scrub block %d: section accessories are not supported", i)
			}
			c := *b
			c.Text = text(b.Text)
			c.Fields = make([]*slack.TextBlockObject, len(b.Fields))
			for j, f := range b.Fields {
				c.Fields[j] = text(f)
			}
			out.Blocks = append(out.Blocks, &c)
		case *slack.ContextBlock:
			c := *b
			c.ContextElements.Elements = make([]slack.MixedElement, len(b.ContextElements.Elements))
			for j, e := range b.ContextElements.Elements {
				t, ok := e.(*slack.TextBlockObject)
				if !ok {
					return Message{}, fmt.Errorf("scrub block %d: context element %T is not supported", i, e)
				}
				c.ContextElements.Elements[j] = text(t)
			}
			out.Blocks = append(out.Blocks, &c)
		case *slack.DividerBlock:
			out.Blocks = append(out.Blocks, b)
		default:
			return Message{}, fmt.Errorf("scrub block %d: block type %T is not supported", i, b)
		}
	}
	if leaked || !g.clean(unescapeMrkdwn.Replace(out.Text)) {
		return Message{}, errors.New("a secret survived scrubbing in escaped form; not sent")
	}
	return out, nil
}

// err makes a delivery error safe to log: the URL that net/http puts in
// transport errors is cut out (a webhook URL is a secret), and any secret
// left is masked.
func (g guard) err(prefix string, err error) error {
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
	if safe := g.scrub(msg); safe != msg || strings.Contains(msg, "://") {
		// Keep the text only, never the chain: an unwrapped cause could
		// still hold the secret.
		return &DeliveryError{msg: prefix + ": " + safe}
	}
	return &DeliveryError{msg: prefix + ": " + msg, cause: cause}
}

// DeliveryError is a Slack delivery that did not succeed. Its text holds no
// secret; Unwrap gives the cause only when the cause's text was clean.
type DeliveryError struct {
	msg   string
	cause error
}

func (e *DeliveryError) Error() string { return e.msg }
func (e *DeliveryError) Unwrap() error { return e.cause }
