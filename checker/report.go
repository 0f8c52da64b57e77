package checker

import (
	"fmt"
	"slices"
	"strings"
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
		if strings.EqualFold(s, n) {
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
	Rule             string   `json:"rule"`
	Severity         Severity `json:"severity"`
	Title            string   `json:"title"`
	Message          string   `json:"message"`
	Remediation      string   `json:"remediation"`
	AccountID        string   `json:"account_id,omitempty"`
	Region           string   `json:"region"`
	ConnectionID     string   `json:"connection_id"`
	ConnectionName   string   `json:"connection_name"`
	VPNGatewayID     string   `json:"vpn_gateway_id"`
	TunnelID         string   `json:"tunnel_id,omitempty"`
	ExceptionExpired string   `json:"exception_expired,omitempty"` // expiry date of an exception that no longer applies
}

// Summary counts what a run covered and found.
type Summary struct {
	Connections   int            `json:"connections"`
	Tunnels       int            `json:"tunnels"`
	Findings      int            `json:"findings"`
	Suppressed    int            `json:"suppressed"`
	Incomplete    int            `json:"incomplete"`
	BySeverity    map[string]int `json:"by_severity"`
	RegionsScan   []string       `json:"regions_scanned"`
	RegionsFailed []string       `json:"regions_failed"`
}

// ErrorEntry is a failure to scan: a region, a page, an inventory file or a
// connection's exception tags. It never holds a secret.
type ErrorEntry struct {
	Region       string `json:"region,omitempty"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	RequestID    string `json:"request_id,omitempty"`
	ConnectionID string `json:"connection_id,omitempty"`
}

// Report is the result of a check.
type Report struct {
	SchemaVersion int          `json:"schema_version"`
	Findings      []Finding    `json:"findings"`
	Summary       Summary      `json:"summary"`
	Errors        []ErrorEntry `json:"errors"`
}

// Worst is the highest severity among the findings, and whether there is any.
func (r *Report) Worst() (Severity, bool) {
	if len(r.Findings) == 0 {
		return Info, false
	}
	w := Info
	for _, f := range r.Findings {
		w = max(w, f.Severity)
	}
	return w, true
}

// Failed reports whether any part of the scan failed or read partial data.
func (r *Report) Failed() bool {
	return len(r.Summary.RegionsFailed) > 0 || r.hasCode(CodeIncompleteInventory)
}

func (r *Report) hasCode(code string) bool {
	return slices.ContainsFunc(r.Errors, func(e ErrorEntry) bool { return e.Code == code })
}

// Error codes that vpncheck itself reports (the API's own codes pass through).
const (
	CodeIncompleteInventory = "IncompleteInventory"
	CodeInvalidException    = "InvalidException"
)

// sortFindings orders findings worst first, then by place.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if a.Severity != b.Severity {
			return int(b.Severity) - int(a.Severity)
		}
		for _, p := range [][2]string{
			{a.Region, b.Region}, {a.ConnectionID, b.ConnectionID}, {a.TunnelID, b.TunnelID}, {a.Rule, b.Rule}, {a.Message, b.Message},
		} {
			if c := strings.Compare(p[0], p[1]); c != 0 {
				return c
			}
		}
		return 0
	})
}
