package checker

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/policies"
)

// Exception accepts a finding for a while: a rule on a connection (or every
// connection, "*"), optionally one tunnel, until the end of Expires (UTC).
type Exception struct {
	Rule         string `json:"rule"`
	ConnectionID string `json:"connection_id"`
	TunnelID     string `json:"tunnel_id,omitempty"`
	Reason       string `json:"reason"`
	Owner        string `json:"owner"`
	Expires      string `json:"expires"`

	until time.Time // first instant after the expiry day
}

// The connection tags that declare an exception.
const (
	TagException        = "vpncheck:exception"
	TagExceptionExpires = "vpncheck:exception-expires"
	TagExceptionReason  = "vpncheck:exception-reason"
	TagExceptionOwner   = "vpncheck:exception-owner"
)

const dateLayout = "2006-01-02"

func parseExpiry(s string) (time.Time, error) {
	d, err := time.Parse(dateLayout, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("expiry %q is not a YYYY-MM-DD date", s)
	}
	return d.AddDate(0, 0, 1), nil
}

// dataExceptions reads and checks data.vpncheck.config.exceptions; a
// malformed entry is a policy error.
func dataExceptions(data map[string]any) ([]Exception, error) {
	raw, ok := config(data)["exceptions"]
	if !ok || raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: data vpncheck.config.exceptions is not a list", ErrPolicy)
	}
	out := make([]Exception, 0, len(list))
	for i, item := range list {
		b, _ := json.Marshal(item)
		var x Exception
		if err := json.Unmarshal(b, &x); err != nil {
			return nil, fmt.Errorf("%w: exception %d: not an object of strings", ErrPolicy, i+1)
		}
		missing := []string{}
		for _, f := range [][2]string{{"rule", x.Rule}, {"connection_id", x.ConnectionID}, {"reason", x.Reason}, {"owner", x.Owner}, {"expires", x.Expires}} {
			if strings.TrimSpace(f[1]) == "" {
				missing = append(missing, f[0])
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("%w: exception %d (%s): missing %s", ErrPolicy, i+1, x.Rule, strings.Join(missing, ", "))
		}
		until, err := parseExpiry(x.Expires)
		if err != nil {
			return nil, fmt.Errorf("%w: exception %d (%s): %v", ErrPolicy, i+1, x.Rule, err)
		}
		x.until = until
		out = append(out, x)
	}
	return out, nil
}

// TagPolicy governs exceptions declared by tags (policy data
// tag_exceptions): the people a tag exception audits can write tags.
type TagPolicy struct {
	MaxDays       int             // the latest expiry allowed, in days from today
	MaxSeverity   report.Severity // a tag may except only rules whose severity is at or below this
	RequireReason bool
	RequireOwner  bool
}

// tagPolicyOf reads the validated policy data's tag_exceptions.
func tagPolicyOf(c policies.TagExceptionsConfig) (TagPolicy, error) {
	sev, err := report.ParseSeverity(c.MaxSeverity)
	if err != nil {
		return TagPolicy{}, fmt.Errorf("%w: data vpncheck.config.tag_exceptions.max_severity: %v", ErrPolicy, err)
	}
	return TagPolicy{MaxDays: c.MaxDays, MaxSeverity: sev, RequireReason: c.RequireReason, RequireOwner: c.RequireOwner}, nil
}

// tagExceptions reads a connection's exception tags under the tag policy.
// A declaration that breaks it (no valid expiry, an expiry too far out, no
// reason or owner, a rule unknown or too severe to except by tag)
// suppresses nothing and comes back as an error entry naming the
// connection.
func tagExceptions(c *input.ConnectionInfo, pol TagPolicy, now time.Time, severityOf func(rule string) (report.Severity, bool)) ([]Exception, *report.ErrorEntry) {
	rules, ok := c.Tags[TagException]
	if !ok {
		return nil, nil
	}
	refuse := func(why string) ([]Exception, *report.ErrorEntry) {
		return nil, &report.ErrorEntry{Region: c.Region, Code: report.CodeInvalidException, ConnectionID: c.ID,
			Message: fmt.Sprintf("connection %s: tag %s is ignored: %s", c.ID, TagException, why)}
	}
	expires, has := c.Tags[TagExceptionExpires]
	if !has {
		return refuse(fmt.Sprintf("it needs a %s tag (YYYY-MM-DD)", TagExceptionExpires))
	}
	until, err := parseExpiry(expires)
	if err != nil {
		return refuse(fmt.Sprintf("tag %s: %v", TagExceptionExpires, err))
	}
	if latest := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, pol.MaxDays+1); until.After(latest) {
		return refuse(fmt.Sprintf("tag %s is more than %d days away (tag_exceptions.max_days)", TagExceptionExpires, pol.MaxDays))
	}
	reason, owner := strings.TrimSpace(c.Tags[TagExceptionReason]), strings.TrimSpace(c.Tags[TagExceptionOwner])
	if pol.RequireReason && reason == "" {
		return refuse(fmt.Sprintf("it needs a %s tag", TagExceptionReason))
	}
	if pol.RequireOwner && owner == "" {
		return refuse(fmt.Sprintf("it needs a %s tag", TagExceptionOwner))
	}
	var out []Exception
	for _, r := range strings.Split(rules, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		sev, known := severityOf(r)
		switch {
		case !known:
			return refuse(fmt.Sprintf("it names %q, which is not a rule id", oneLine(r)))
		case sev > pol.MaxSeverity:
			return refuse(fmt.Sprintf("rule %s is %s: a tag may except rules up to %s (tag_exceptions.max_severity); use an exception in the policy data", r, sev, pol.MaxSeverity))
		}
		out = append(out, Exception{Rule: r, ConnectionID: c.ID, Reason: reason, Owner: owner,
			Expires: strings.TrimSpace(expires), until: until})
	}
	return out, nil
}

func (x *Exception) matches(f *report.Finding) bool {
	return x.Rule == f.Rule &&
		(x.ConnectionID == "*" || x.ConnectionID == f.ConnectionID) &&
		(x.TunnelID == "" || x.TunnelID == f.TunnelID)
}

// applyExceptions decides a finding's fate: suppressed when a live exception
// matches; marked when only expired ones do.
func applyExceptions(f *report.Finding, lists [][]Exception, now time.Time) (suppressed bool) {
	expired := ""
	for _, list := range lists {
		for i := range list {
			x := &list[i]
			if !x.matches(f) {
				continue
			}
			if now.Before(x.until) {
				return true
			}
			if x.Expires > expired {
				expired = x.Expires
			}
		}
	}
	if expired != "" {
		f.ExceptionExpired = expired
		f.Message += fmt.Sprintf(" (its exception expired on %s)", expired)
	}
	return false
}
