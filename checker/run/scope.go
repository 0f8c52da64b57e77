package run

import "github.com/vpncheck/vpncheck/checker/report"

// Scope narrows a run to one connection: a change event judges only the
// connection it names. The lifecycle then resolves only that connection's
// findings (all of them when it is gone), leaves every other open finding
// as it was, without holding it, and sends no digest. The source must read
// that connection alone (alibaba.One does).
type Scope struct {
	Region       string
	ConnectionID string
}

// partial is the lifecycle's test of what lies in the scope; nil for a run
// of the whole account.
func (s *Scope) partial(account string) func(*report.Finding) bool {
	if s == nil {
		return nil
	}
	return func(f *report.Finding) bool {
		return f.Region == s.Region && f.ConnectionID == s.ConnectionID &&
			(account == "" || f.AccountID == "" || f.AccountID == account)
	}
}
