package checker

import (
	"encoding/json"
	"fmt"
	"github.com/vpncheck/vpncheck/checker/report"
	"strings"
	"time"
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

// tagExceptions reads a connection's exception tags. A declaration without a
// valid expiry suppresses nothing and comes back as an error entry.
func tagExceptions(c *ConnectionInfo) ([]Exception, *report.ErrorEntry) {
	rules, ok := c.Tags[TagException]
	if !ok {
		return nil, nil
	}
	until, err := parseExpiry(c.Tags[TagExceptionExpires])
	if err != nil {
		msg := fmt.Sprintf("connection %s: tag %s is ignored: tag %s: %v", c.ID, TagException, TagExceptionExpires, err)
		if _, has := c.Tags[TagExceptionExpires]; !has {
			msg = fmt.Sprintf("connection %s: tag %s is ignored: it needs a %s tag (YYYY-MM-DD)", c.ID, TagException, TagExceptionExpires)
		}
		return nil, &report.ErrorEntry{Region: c.Region, Code: report.CodeInvalidException, Message: msg, ConnectionID: c.ID}
	}
	var out []Exception
	for _, r := range strings.Split(rules, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, Exception{
				Rule: r, ConnectionID: c.ID,
				Reason: c.Tags[TagExceptionReason], Owner: c.Tags[TagExceptionOwner],
				Expires: strings.TrimSpace(c.Tags[TagExceptionExpires]), until: until,
			})
		}
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
