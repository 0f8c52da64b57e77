// Package fleet runs a check across the member accounts of an organisation:
// the accounts of a resource directory (or those named), each entered with
// a read-only role and checked by the one run pipeline (run.Execute). Run
// checks them in one process, a few at once, and merges their reports;
// FanOut hands each to an asynchronous invocation of a Function Compute
// function instead.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/report"
)

const (
	// DefaultRoleName is the read-only role vpncheck assumes in each member
	// account (docs/organisation.md). Never ResourceDirectoryAccountAccessRole:
	// that one carries administrator rights.
	DefaultRoleName = "vpncheck-reader"

	// DefaultConcurrency is how many accounts one process checks at once;
	// each scans its regions with its own concurrency.
	DefaultConcurrency = 4
	// invokeConcurrency is how many account invocations FanOut starts at
	// once (one short API call each).
	invokeConcurrency = 8
)

// Settings is what an organisation-wide run needs: which accounts, the
// role to enter them with, and where the APIs are. Plain values: the
// caller reads them from flags or the environment.
type Settings struct {
	All      bool     // every member account of the resource directory
	Accounts []string // else these
	Exclude  []string

	RoleName   string // "": DefaultRoleName
	ExternalID string

	RMEndpoint  string // Resource Manager; "" is the public endpoint
	STSEndpoint string // STS, host[:port] (HTTPS only); "" is the public endpoint
	FCEndpoint  string // FC 3.0 (FanOut); "" is the coordinator's own account and region

	Concurrency int // accounts Run checks at once; 0: DefaultConcurrency
}

// Enabled says whether the run covers member accounts rather than the
// caller's own account.
func (s Settings) Enabled() bool { return s.All || len(s.Accounts) > 0 }

// Allows says whether a fanned-out invocation may check account: one the
// settings name (or any, with All) and not excluded.
func (s Settings) Allows(account string) bool {
	if slices.Contains(s.Exclude, account) {
		return false
	}
	return s.All || slices.Contains(s.Accounts, account)
}

func (s Settings) roleName() string {
	if s.RoleName == "" {
		return DefaultRoleName
	}
	return s.RoleName
}

// Targets lists the accounts to check, sorted by id: every member of the
// resource directory for All (ListAccounts, every page, as base), else
// the ids given; less the excluded ones. None left is an error.
func Targets(ctx context.Context, s Settings, base credentials.Credential) ([]org.Account, error) {
	var list []org.Account
	if s.All {
		endpoint := s.RMEndpoint
		if endpoint == "" {
			endpoint = org.ResourceManagerEndpoint
		}
		c, err := org.NewClient(base, endpoint, org.ClientOptions{})
		if err != nil {
			// Named by the variable that sets it, as users know it.
			return nil, fmt.Errorf("VPNCHECK_RESOURCEMANAGER_ENDPOINT: %w", err)
		}
		if list, err = org.ListAccounts(ctx, c); err != nil {
			return nil, fmt.Errorf("resource directory: %w", err)
		}
	} else {
		for _, id := range s.Accounts {
			list = append(list, org.Account{ID: id})
		}
	}
	list = slices.DeleteFunc(list, func(a org.Account) bool { return slices.Contains(s.Exclude, a.ID) })
	if len(list) == 0 {
		return nil, errors.New("no account to check: the resource directory lists none, or every one is excluded")
	}
	slices.SortFunc(list, func(a, b org.Account) int { return strings.Compare(a.ID, b.ID) })
	return list, nil
}

// notReady says why the resource directory's status keeps an account from
// being checked: a membership that was never completed, or an account
// suspended, closed or being deleted. Unknown statuses are tried: the role
// decides.
func notReady(status string) string {
	s := strings.ToLower(status)
	switch {
	case strings.HasPrefix(s, "create") && s != "createsuccess",
		strings.Contains(s, "suspend"), strings.Contains(s, "clos"), strings.Contains(s, "delet"), strings.Contains(s, "frozen"):
		return "its status in the resource directory is " + status
	}
	return ""
}

// Enter assumes the reader role in account, from base, under the session
// SessionName(runKey), for as long as ctx's run can last (STS allows 15
// minutes to an hour; the credentials are renewed if the run outlasts
// them).
func Enter(ctx context.Context, s Settings, base credentials.Credential, account, runKey string) (credentials.Credential, error) {
	var d time.Duration
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl) + time.Minute
	}
	return org.AssumeRole(base, org.RoleOptions{
		AccountID: account, RoleName: s.roleName(), SessionName: SessionName(runKey), ExternalID: s.ExternalID,
		Duration: d, STSEndpoint: s.STSEndpoint,
	})
}

// SessionName names the role session after vpncheck and the run, as
// ActionTrail shows it in each member account: "vpncheck-" and the run
// key, with the characters STS refuses replaced, at most 64 long.
func SessionName(runKey string) string {
	var b strings.Builder
	b.WriteString("vpncheck-")
	for _, r := range runKey {
		ok := r == '_' || r == '.' || r == '@' || r == '-' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			r = '-'
		}
		if b.Len() >= 64 {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), "-")
}

// unavailable is the errors entry of an account that was not entered.
func unavailable(account string, err error) report.ErrorEntry {
	e := report.ErrorEntry{AccountID: account, Code: report.CodeAccountUnavailable, Message: oneLine(err.Error())}
	var ae *org.APIError
	if errors.As(err, &ae) && ae.RequestID != "" {
		// The request id has its own field: said once.
		e.RequestID = ae.RequestID
		e.Message = strings.Replace(e.Message, ", request id "+ae.RequestID+")", ")", 1)
		e.Message = strings.Replace(e.Message, " (request id "+ae.RequestID+")", "", 1)
	}
	return e
}

// notReadyEntry is the errors entry of an account the directory lists as
// not ready.
func notReadyEntry(account, why string) report.ErrorEntry {
	return report.ErrorEntry{Code: report.CodeAccountUnavailable, Message: fmt.Sprintf("account %s not checked: %s", account, why)}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// trouble is why one account was not checked, in words that every account
// with the same trouble shares.
type trouble struct{ account, name, why string }

// shortWhy is an error in words that do not name the account: the API's
// code and message when it answered.
func shortWhy(err error) string {
	var ae *org.APIError
	if errors.As(err, &ae) {
		if ae.Message == "" {
			return ae.Code
		}
		return ae.Code + ": " + strings.TrimSuffix(ae.Message, ".")
	}
	return oneLine(err.Error())
}

// accountTrouble is the one message about the accounts that could not be
// checked, grouped by trouble (at most 10 named in each), so that a
// directory-wide problem reads as one line.
func accountTrouble(lost []trouble, total int) string {
	var order []string
	groups := map[string][]string{}
	for _, t := range lost {
		if _, ok := groups[t.why]; !ok {
			order = append(order, t.why)
		}
		id := t.account
		if t.name != "" {
			id += " (" + t.name + ")"
		}
		groups[t.why] = append(groups[t.why], id)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s of %d not checked.", report.Plural(len(lost), "member account"), total)
	for _, why := range order {
		ids := groups[why]
		more := ""
		if len(ids) > 10 {
			ids, more = ids[:10], fmt.Sprintf(" and %d more (see the errors)", len(ids)-10)
		}
		fmt.Fprintf(&b, " %s: %s%s.", why, strings.Join(ids, ", "), more)
	}
	return b.String()
}
