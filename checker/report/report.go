// Package report is vpncheck's report model: severities, findings, the
// summary, scan errors, and the one way findings are grouped and counted.
// Every writer and notifier reads reports through this package, which
// imports nothing of vpncheck's, OPA or the cloud SDKs.
package report

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Severity is a finding's level, from info to critical.
type Severity int

// The levels, in order.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a level name, case-insensitively.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Severity(i), nil
		}
	}
	return Info, fmt.Errorf("unknown severity %q (want info, low, medium, high or critical)", s)
}

// MarshalText writes the level's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a level's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// SchemaVersion is the version of the JSON report's shape.
const SchemaVersion = 1

// Finding is one rule violated by one connection (or one of its tunnels).
type Finding struct {
	Rule           string   `json:"rule"`
	Severity       Severity `json:"severity"`
	Title          string   `json:"title"`
	Message        string   `json:"message"`
	Remediation    string   `json:"remediation"`
	AccountID      string   `json:"account_id,omitempty"`
	AccountName    string   `json:"account_name,omitempty"` // the member account's display name, when known
	Region         string   `json:"region"`
	ConnectionID   string   `json:"connection_id"`
	ConnectionName string   `json:"connection_name"`
	VPNGatewayID   string   `json:"vpn_gateway_id"`
	TunnelID       string   `json:"tunnel_id,omitempty"`
	// Side is "local" or "remote" for a rule that judges each side of the
	// connection apart (subnet-any): two findings of one rule on one
	// connection are told apart by it, in their ids too.
	Side             string `json:"side,omitempty"`
	Value            string `json:"value,omitempty"`             // the offending value (des, group2, ...), when the rule has one
	ExceptionExpired string `json:"exception_expired,omitempty"` // expiry date of an exception that no longer applies

	// Tags are the connection's tags (keys masked as everywhere else),
	// for writers that label the resource (OCSF); not in the JSON report
	// or the state. Findings of one connection share the map: read only.
	Tags map[string]string `json:"-"`

	// Lifecycle (see Lifecycle): a stable id of account, region,
	// connection, tunnel and rule; new or open; when first seen.
	ID               string     `json:"id"`
	Status           Status     `json:"status"`
	FirstSeen        time.Time  `json:"first_seen"`
	LastSeen         time.Time  `json:"-"`
	Reopened         bool       `json:"reopened,omitempty"`          // new again after it had been resolved
	ReopenedAt       *time.Time `json:"reopened_at,omitempty"`       // when it was last reopened, kept while it stays open
	ResolvedAt       *time.Time `json:"resolved_at,omitempty"`       // in Report.Resolved only
	PreviousSeverity *Severity  `json:"previous_severity,omitempty"` // the severity it was open with, when that changed

	// Fix is the change that clears the finding, when there is a
	// mechanical one (see Fix); nil for a tunnel down, a failed health
	// check and the like. A check leaves it nil and sets Fixer: fixes are
	// made when they are written (FixNow), since at about 2 KB each they
	// would hold a large run's memory many times over.
	Fix *Fix `json:"fix,omitempty"`
	// Fixer makes the finding's fix, and its connection's combined one,
	// on demand; shared by the connection's fixable findings. Nil for a
	// finding without a mechanical fix, and for one read back from JSON.
	Fixer Fixer `json:"-"`
}

// Fixer makes the fixes of one connection's findings on demand.
type Fixer interface {
	// Fix is f's own fix.
	Fix(f *Finding) *Fix
	// Combined is one change for every fixable finding of the connection.
	Combined() *Fix
	// Fixable is how many findings of the connection Combined fixes.
	Fixable() int
}

// FixNow is the finding's fix: Fix when set, else made by Fixer; nil when
// there is none.
func (f *Finding) FixNow() *Fix {
	if f.Fix != nil || f.Fixer == nil {
		return f.Fix
	}
	return f.Fixer.Fix(f)
}

// Fix is the exact change that clears a finding (or, combined, every
// finding of a connection): the API call as data, the same call as an
// aliyun CLI line, and the Terraform attributes of alicloud_vpn_connection
// to change. It never holds a secret: a new pre-shared key is a
// placeholder (NewKeyPlaceholder) that the user fills on their side.
type Fix struct {
	API       FixAPI       `json:"api"`
	CLI       string       `json:"cli"`
	Terraform FixTerraform `json:"terraform"`
	Note      string       `json:"note"`
}

// FixAPI is one VPC API call (version 2016-04-28).
type FixAPI struct {
	Action     string         `json:"action"`
	Region     string         `json:"region"`
	Parameters map[string]any `json:"parameters"`
}

// FixTerraform is what to change in the connection's Terraform resource.
type FixTerraform struct {
	Resource   string         `json:"resource"`
	Attributes map[string]any `json:"attributes"`
}

// OpenSince is when the finding's current spell began: its reopening, or
// its first sighting. Ages count from it, not from a first sighting
// before it was fixed.
func (f *Finding) OpenSince() time.Time {
	if f.ReopenedAt != nil {
		return *f.ReopenedAt
	}
	return f.FirstSeen
}

// Status is where a finding stands between runs.
type Status string

// The statuses.
const (
	StatusNew      Status = "new"      // not open before this run (or resolved since)
	StatusOpen     Status = "open"     // open since an earlier run
	StatusResolved Status = "resolved" // open before, gone now from a region scanned completely
)

// Summary counts what a run covered and found.
type Summary struct {
	Connections int `json:"connections"`
	Tunnels     int `json:"tunnels"`
	Findings    int `json:"findings"`
	Suppressed  int `json:"suppressed"`
	New         int `json:"new"`
	Resolved    int `json:"resolved"`
	// DisabledRules are the rules the policy data switched off.
	DisabledRules []string `json:"disabled_rules,omitempty"`
	// BelowMinSeverity counts the findings --min-severity left out.
	BelowMinSeverity int `json:"below_min_severity"`
	Incomplete       int `json:"incomplete"`
	// JudgedAfresh counts the connections the rules evaluated: the others
	// were unchanged since the last run with the state, policies
	// included, and took its findings. Every check sets it; nil in a
	// report of an older vpncheck.
	JudgedAfresh  *int           `json:"judged_afresh,omitempty"`
	BySeverity    map[string]int `json:"by_severity"`
	RegionsScan   []string       `json:"regions_scanned"`
	RegionsFailed []string       `json:"regions_failed"`
	// Accounts counts each account of an organisation-wide run (see Merge).
	Accounts map[string]AccountSummary `json:"accounts,omitempty"`
}

// ErrorEntry is a failure to scan: a region, a page, an inventory file or a
// connection's exception tags. It never holds a secret.
type ErrorEntry struct {
	Region       string `json:"region,omitempty"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	RequestID    string `json:"request_id,omitempty"`
	ConnectionID string `json:"connection_id,omitempty"`
	AccountID    string `json:"account_id,omitempty"`

	// Lifecycle, in a run with a state: new (failing since this run) or
	// open (failing since FirstSeen, already said). Unset without a state.
	Status    Status    `json:"status,omitempty"`
	FirstSeen time.Time `json:"first_seen,omitzero"`
}

// Report is the result of a check.
type Report struct {
	SchemaVersion int          `json:"schema_version"`
	Findings      []Finding    `json:"findings"`
	Summary       Summary      `json:"summary"`
	Errors        []ErrorEntry `json:"errors"`
	// Resolved are the findings open before this run and gone now, with
	// ResolvedAt set.
	Resolved []Finding `json:"resolved"`

	// PolicyRevision names the policies that judged the run: a team
	// bundle's revision, or "built-in " and the built-in set's hash (see
	// checker.Engine.PolicyRevision).
	PolicyRevision string `json:"policy_revision,omitempty"`

	// ProductVersion is the vpncheck build that wrote the report, for
	// writers that name their producer (OCSF); set by the caller.
	ProductVersion string `json:"-"`

	// Lifecycle is what changed since the previous run, for notifiers.
	Lifecycle Lifecycle `json:"-"`

	// AccountID is the account checked, when the run knows it (Function
	// Compute does); findings carry it too.
	AccountID string `json:"-"`

	// Change is the API call a change event brought, when the run judged
	// one connection for it (see change.go).
	Change *Change `json:"change,omitempty"`
}

// New returns an empty report whose lists encode as [] rather than null.
func New() *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		Findings:      []Finding{},
		Errors:        []ErrorEntry{},
		Resolved:      []Finding{},
		Summary: Summary{
			BySeverity:    map[string]int{},
			RegionsScan:   []string{},
			RegionsFailed: []string{},
		},
	}
}

// UnknownRegion labels connections from an inventory file that names no region.
const UnknownRegion = "unknown"

// UnknownRegionText is how text for people (the terminal, Slack) names
// UnknownRegion: "in unknown" reads as a region called unknown.
const UnknownRegionText = "region not given"

// Error codes that vpncheck itself reports (the API's own codes pass through).
const (
	CodeIncompleteInventory = "IncompleteInventory" // a file declares more connections than it holds
	CodeInvalidException    = "InvalidException"    // exception tags that suppress nothing
	CodeDeadlineExceeded    = "DeadlineExceeded"    // the run's deadline came before the region was read
	CodeIncompleteResponse  = "IncompleteResponse"  // the API's pages did not add up to TotalCount
	CodeInvalidResponse     = "InvalidResponse"     // a body that is not a DescribeVpnConnections response
	CodeNetworkError        = "NetworkError"        // no answer from the API, after retries
	CodeInternalError       = "InternalError"       // a scan stopped on a panic
	CodeNotJudged           = "NotJudged"           // collected, but the policies could not judge it in time
	CodeStateUnreadable     = "StateUnreadable"     // the state store could not be read: every finding counts as new (or, its memory only: every connection is judged afresh)
	CodeStateUnwritable     = "StateUnwritable"     // the state store could not be written
	CodeEventIDReused       = "EventIdReused"       // an event id delivered before with other content: judged on its own
)

// Worst is the highest severity among the findings, and whether there is any.
func (r *Report) Worst() (Severity, bool) { return CountOf(r.Findings).Worst() }

// Failed reports whether any part of the scan failed or read partial data.
func (r *Report) Failed() bool { return len(r.FailureReasons()) > 0 }

// failureCodes are the errors that make a scan partial, and how to say so.
var failureCodes = map[string]string{
	CodeIncompleteInventory: "partial inventory data",
	CodeIncompleteResponse:  "partial API listings",
	CodeNotJudged:           "connections not judged",
	CodeAccountUnavailable:  "accounts that could not be entered",
	CodeAccountFailed:       "accounts whose check did not complete",
}

// FailureReasons says, one phrase each, how the scan fell short: failed
// regions, partial data, connections not judged, accounts not checked.
func (r *Report) FailureReasons() []string {
	var out []string
	if len(r.Summary.RegionsFailed) > 0 {
		out = append(out, "regions not scanned completely: "+strings.Join(r.Summary.RegionsFailed, ", "))
	}
	where := map[string][]string{}
	var codes []string
	for _, e := range r.Errors {
		if _, ok := failureCodes[e.Code]; !ok {
			continue
		}
		if _, seen := where[e.Code]; !seen {
			codes = append(codes, e.Code)
		}
		place := e.Region
		if e.AccountID != "" {
			place = e.AccountID
		}
		if place != "" && !slices.Contains(where[e.Code], place) {
			where[e.Code] = append(where[e.Code], place)
		} else if where[e.Code] == nil {
			where[e.Code] = []string{}
		}
	}
	for _, c := range codes {
		s := failureCodes[c]
		if ps := where[c]; len(ps) > 0 {
			s += " (" + strings.Join(ps, ", ") + ")"
		}
		out = append(out, s)
	}
	return out
}

// ErrNoRegionScanned is a run that could not scan any region.
var ErrNoRegionScanned = errors.New("no region could be scanned")

// NoRegionScanned is the reason a run that scanned nothing could not
// complete, naming the first failure, or nil when some region was scanned.
func (r *Report) NoRegionScanned() error {
	if len(r.Summary.RegionsScan) > 0 {
		return nil
	}
	for _, e := range r.Errors {
		if e.Region != "" {
			// The collector's messages name their region, call and code.
			return fmt.Errorf("%w (%s): %s", ErrNoRegionScanned, strings.Join(r.Summary.RegionsFailed, ", "), e.Message)
		}
	}
	return ErrNoRegionScanned
}

// Finish sorts the findings worst first, then by place, and fills the
// summary's counts from them.
func (r *Report) Finish() {
	SortFindings(r.Findings)
	if r.Summary.BySeverity == nil {
		r.Summary.BySeverity = map[string]int{}
	}
	clear(r.Summary.BySeverity)
	for s, n := range CountOf(r.Findings) {
		if n > 0 {
			r.Summary.BySeverity[Severity(s).String()] = n
		}
	}
	r.Summary.Findings = len(r.Findings)
	slices.SortStableFunc(r.Errors, func(a, b ErrorEntry) int { return strings.Compare(a.Region, b.Region) })
}

// SortFindings orders findings worst first, then by place; findings
// equal in all of those keep their order. It sorts their indexes and then
// moves each finding once: a finding is a few hundred bytes, and a stable
// sort moving them took a second for a fleet's 75,000.
func SortFindings(fs []Finding) {
	if len(fs) < 2 {
		return
	}
	perm := make([]int32, len(fs))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(i, j int32) int {
		if c := compareFindings(&fs[i], &fs[j]); c != 0 {
			return c
		}
		return int(i - j)
	})
	// perm[i] is the finding that goes to i: follow each cycle once.
	for i := range perm {
		if perm[i] < 0 || int(perm[i]) == i {
			continue
		}
		tmp := fs[i]
		j := i
		for {
			k := int(perm[j])
			perm[j] = -1
			if k == i {
				fs[j] = tmp
				break
			}
			fs[j] = fs[k]
			j = k
		}
	}
}

// compareFindings is SortFindings' order: worst first, then by place.
func compareFindings(a, b *Finding) int {
	if a.Severity != b.Severity {
		return int(b.Severity) - int(a.Severity)
	}
	for _, p := range [...][2]string{
		{a.AccountID, b.AccountID}, {a.Region, b.Region}, {a.ConnectionID, b.ConnectionID},
		{a.TunnelID, b.TunnelID}, {a.Rule, b.Rule}, {a.Message, b.Message},
	} {
		if c := strings.Compare(p[0], p[1]); c != 0 {
			return c
		}
	}
	return 0
}

// Lifecycle is what a run changed against the state of the previous one.
// Without a state store every finding is new, and nothing else is set.
type Lifecycle struct {
	// Stateful is set when the run compared against a state store.
	Stateful bool
	// NewlySuppressed left the open set because an exception now covers
	// them: said once.
	NewlySuppressed []Finding
	// Suppressed are this run's findings an exception covers, for the
	// digest (Summary.Suppressed counts them).
	Suppressed []Finding
	// SeverityChanged are open findings whose severity changed since they
	// were last reported (PreviousSeverity set): said once.
	SeverityChanged []Finding
	// Unchanged counts the open findings that are neither new nor changed;
	// OldestOpen is when the oldest open finding was first seen.
	Unchanged  int
	OldestOpen time.Time
	// Held are regions whose findings stay open unconfirmed: the region was
	// not scanned completely, so nothing there was resolved.
	Held []string
	// Digest asks for a digest of every open finding in this run's
	// message (the digest period elapsed), worst and oldest first.
	Digest bool
	// Recovered are the failures of earlier runs that this run no longer
	// met where it scanned (ErrorEntry.FirstSeen: when they began): said
	// once, as findings are when fixed.
	Recovered []ErrorEntry
}

// NewErrors are the errors that are news: every one without a state; with
// one, those that were not failing before this run.
func (r *Report) NewErrors() []ErrorEntry {
	if !r.Lifecycle.Stateful {
		return r.Errors
	}
	var out []ErrorEntry
	for _, e := range r.Errors {
		if e.Status != StatusOpen {
			out = append(out, e)
		}
	}
	return out
}

// StillFailing are the errors already said in an earlier run (a state's
// run only).
func (r *Report) StillFailing() []ErrorEntry {
	if !r.Lifecycle.Stateful {
		return nil
	}
	var out []ErrorEntry
	for _, e := range r.Errors {
		if e.Status == StatusOpen {
			out = append(out, e)
		}
	}
	return out
}

// partialCodes are the errors that leave a region scanned but its data
// partial: a listing cut short, an inventory file short of its total,
// connections not judged.
var partialCodes = map[string]bool{
	CodeIncompleteInventory: true, CodeIncompleteResponse: true, CodeNotJudged: true, CodeDeadlineExceeded: true,
}

// PartialRegions are the regions scanned (not failed) whose data is
// partial, sorted as RegionsScan is.
func (r *Report) PartialRegions() []string {
	partial := map[string]bool{}
	for _, e := range r.Errors {
		if partialCodes[e.Code] && e.Region != "" {
			partial[e.Region] = true
		}
	}
	var out []string
	for _, reg := range r.Summary.RegionsScan {
		if partial[reg] {
			out = append(out, reg)
		}
	}
	return out
}

// News reports whether the run has anything to tell: new, resolved,
// newly suppressed or re-rated findings, scan errors, or a digest due.
// With a state a failure is news once, when it begins (a failure already
// said is not), and again when it ends (Recovered).
func (r *Report) News() bool {
	l := &r.Lifecycle
	failures := len(r.Errors) > 0 || len(r.Summary.RegionsFailed) > 0
	if l.Stateful {
		failures = len(r.NewErrors()) > 0 || len(l.Recovered) > 0
	}
	return r.Summary.New > 0 || len(r.Resolved) > 0 || len(l.NewlySuppressed) > 0 ||
		len(l.SeverityChanged) > 0 || failures || l.Digest
}

// Rule is one entry of the rule catalogue, as its METADATA states it.
type Rule struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Severity    Severity `json:"severity"`
	Description string   `json:"description"`
	Remediation string   `json:"remediation,omitempty"`
	References  []string `json:"references,omitempty"`
	Package     string   `json:"package,omitempty"`
}
