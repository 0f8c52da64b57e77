package output

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/report"
)

// OCSF 1.3.0 Compliance Finding (ocsf/ocsf-schema at tag 1.3.0, commit
// c8bde8c4cc7e93bb4a36e873623bbe099da22fb5): events/findings/
// compliance_finding.json extends finding.json, which extends
// base_event.json. The class is uid 3 of the findings category (uid 2).
const (
	OCSFVersion     = "1.3.0"
	ocsfCategoryUID = 2
	ocsfClassUID    = 2003
)

// The resource types of Alibaba Cloud's Resource Center and Cloud Config.
const (
	ResourceTypeConnection = "ACS::VPN::VpnConnection"
	ResourceTypeGateway    = "ACS::VPN::VpnGateway"
)

// The finding activity (finding.json activity_id) a finding's lifecycle
// maps to: a new finding is created, a still-open (or newly suppressed)
// one updated, a resolved one closed.
const (
	ocsfCreate = 1
	ocsfUpdate = 2
	ocsfClose  = 3
)

var ocsfActivity = map[int]string{ocsfCreate: "Create", ocsfUpdate: "Update", ocsfClose: "Close"}

// finding.json status_id.
const (
	ocsfStatusNew        = 1
	ocsfStatusInProgress = 2
	ocsfStatusSuppressed = 3
	ocsfStatusResolved   = 4
)

var ocsfStatus = map[int]string{ocsfStatusNew: "New", ocsfStatusInProgress: "In Progress", ocsfStatusSuppressed: "Suppressed", ocsfStatusResolved: "Resolved"}

// compliance.json status_id.
const (
	ocsfCompliancePass = 1
	ocsfComplianceFail = 3
)

// ocsfSeverity is base_event severity_id (1 Informational .. 5 Critical)
// by vpncheck's severity.
var ocsfSeverity = [...]struct {
	id   int
	name string
}{report.Info: {1, "Informational"}, report.Low: {2, "Low"}, report.Medium: {3, "Medium"}, report.High: {4, "High"}, report.Critical: {5, "Critical"}}

type ocsfWriter struct{}

// Report writes one OCSF Compliance Finding a line for every finding of
// the report (new: Create, open: Update), every finding an exception now
// suppresses (Update, Suppressed) and every resolved one (Close).
func (ocsfWriter) Report(w io.Writer, r *report.Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := OCSFEvents(r, false, func(line []byte) error {
		_, err := bw.Write(line)
		return err
	}); err != nil {
		return err
	}
	return bw.Flush()
}

// Rules refuses: OCSF describes findings, not a rule catalogue.
func (ocsfWriter) Rules(io.Writer, []report.Rule) error {
	return errors.New("ocsf is a format of findings: list the rules with --format text or json")
}

// OCSFEvents calls emit with each finding of r as one OCSF line (a JSON
// object and a newline). With newsOnly it emits only what changed since
// the last run: new findings, re-rated ones (their severity changed),
// newly suppressed ones and resolved ones. Every string is escaped so
// that the line's bytes hold no control, format or line-separator
// character (a log viewer shows them as text), while the decoded values
// are the report's own.
func OCSFEvents(r *report.Report, newsOnly bool, emit func([]byte) error) error {
	at := runTime(r)
	meta := ocsfMetadataOf(r)
	standards := ocsfStandards(r, meta)
	send := func(f *report.Finding, activity, status int) error {
		b, err := json.Marshal(ocsfEventOf(f, activity, status, at, meta, standards))
		if err != nil {
			return err
		}
		return emit(append(inertJSON(b), '\n'))
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		activity, status := ocsfUpdate, ocsfStatusInProgress
		if f.Status != report.StatusOpen {
			activity, status = ocsfCreate, ocsfStatusNew
		}
		if newsOnly && activity == ocsfUpdate && f.PreviousSeverity == nil {
			continue
		}
		if err := send(f, activity, status); err != nil {
			return err
		}
	}
	for i := range r.Lifecycle.NewlySuppressed {
		if err := send(&r.Lifecycle.NewlySuppressed[i], ocsfUpdate, ocsfStatusSuppressed); err != nil {
			return err
		}
	}
	for i := range r.Resolved {
		if err := send(&r.Resolved[i], ocsfClose, ocsfStatusResolved); err != nil {
			return err
		}
	}
	return nil
}

type ocsfEvent struct {
	ActivityID   int    `json:"activity_id"`
	ActivityName string `json:"activity_name"`
	CategoryUID  int    `json:"category_uid"`
	CategoryName string `json:"category_name"`
	ClassUID     int    `json:"class_uid"`
	ClassName    string `json:"class_name"`
	TypeUID      int    `json:"type_uid"`
	TypeName     string `json:"type_name"`
	Time         int64  `json:"time"`
	SeverityID   int    `json:"severity_id"`
	Severity     string `json:"severity"`
	StatusID     int    `json:"status_id"`
	Status       string `json:"status"`
	Message      string `json:"message,omitempty"`

	FindingInfo ocsfFindingInfo  `json:"finding_info"`
	Compliance  ocsfCompliance   `json:"compliance"`
	Resources   []ocsfResource   `json:"resources"`
	Cloud       ocsfCloud        `json:"cloud"`
	Remediation *ocsfRemediation `json:"remediation,omitempty"`
	Metadata    *ocsfMetadata    `json:"metadata"`
	Unmapped    map[string]any   `json:"unmapped,omitempty"`
}

type ocsfFindingInfo struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	Desc          string `json:"desc,omitempty"`
	FirstSeenTime int64  `json:"first_seen_time,omitempty"`
	LastSeenTime  int64  `json:"last_seen_time,omitempty"`
}

type ocsfCompliance struct {
	Control   string   `json:"control"`
	Standards []string `json:"standards"`
	StatusID  int      `json:"status_id"`
	Status    string   `json:"status"`
}

type ocsfResource struct {
	UID    string         `json:"uid"`
	Name   string         `json:"name,omitempty"`
	Type   string         `json:"type"`
	Region string         `json:"region,omitempty"`
	Labels []string       `json:"labels,omitempty"`
	Data   map[string]any `json:"data,omitempty"`
}

type ocsfCloud struct {
	Provider string       `json:"provider"`
	Region   string       `json:"region,omitempty"`
	Account  *ocsfAccount `json:"account,omitempty"`
}

type ocsfAccount struct {
	UID    string `json:"uid"`
	Name   string `json:"name,omitempty"`
	Type   string `json:"type"`
	TypeID int    `json:"type_id"`
}

type ocsfRemediation struct {
	Desc string `json:"desc"`
}

type ocsfMetadata struct {
	Product  ocsfProduct `json:"product"`
	Version  string      `json:"version"`
	Profiles []string    `json:"profiles"`
}

type ocsfProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version"`
}

func ocsfMetadataOf(r *report.Report) *ocsfMetadata {
	v := r.ProductVersion
	if v == "" {
		v = "dev"
	}
	return &ocsfMetadata{
		Product:  ocsfProduct{Name: "vpncheck", VendorName: "vpncheck", Version: v},
		Version:  OCSFVersion,
		Profiles: []string{"cloud"}, // hence cloud is required (profiles/cloud.json)
	}
}

// ocsfStandards names the rule set a finding was judged by: the team's
// bundle revision when the policies came from one, else vpncheck's own
// rules at this build.
func ocsfStandards(r *report.Report, meta *ocsfMetadata) []string {
	if r.PolicyRevision != "" {
		return []string{"vpncheck team policy bundle revision " + r.PolicyRevision}
	}
	return []string{"vpncheck IPsec-VPN rules " + meta.Product.Version}
}

func ocsfEventOf(f *report.Finding, activity, status int, at time.Time, meta *ocsfMetadata, standards []string) *ocsfEvent {
	sev := ocsfSeverity[0]
	if f.Severity >= report.Info && f.Severity <= report.Critical {
		sev = ocsfSeverity[f.Severity]
	}
	e := &ocsfEvent{
		ActivityID: activity, ActivityName: ocsfActivity[activity],
		CategoryUID: ocsfCategoryUID, CategoryName: "Findings",
		ClassUID: ocsfClassUID, ClassName: "Compliance Finding",
		TypeUID: ocsfClassUID*100 + activity, TypeName: "Compliance Finding: " + ocsfActivity[activity],
		Time:       eventTime(f, activity, at).UnixMilli(),
		SeverityID: sev.id, Severity: sev.name,
		StatusID: status, Status: ocsfStatus[status],
		Message: f.Message,
		FindingInfo: ocsfFindingInfo{
			UID: f.ID, Title: f.Title, Desc: f.Message,
			FirstSeenTime: millis(f.FirstSeen), LastSeenTime: millis(f.LastSeen),
		},
		Compliance: ocsfCompliance{Control: f.Rule, Standards: standards, StatusID: ocsfComplianceFail, Status: "Fail"},
		Cloud:      ocsfCloud{Provider: "AlibabaCloud", Region: f.Region},
		Metadata:   meta,
	}
	if e.FindingInfo.UID == "" {
		e.FindingInfo.UID = report.FindingID(f)
	}
	if e.FindingInfo.Title == "" {
		e.FindingInfo.Title = f.Rule
	}
	if activity == ocsfClose {
		e.Compliance.StatusID, e.Compliance.Status = ocsfCompliancePass, "Pass"
		if f.ResolvedAt != nil {
			e.FindingInfo.LastSeenTime = millis(*f.ResolvedAt)
		}
	}
	if f.AccountID != "" {
		e.Cloud.Account = &ocsfAccount{UID: f.AccountID, Name: f.AccountName, Type: "Alibaba Cloud account", TypeID: 99}
	}
	if f.Remediation != "" {
		e.Remediation = &ocsfRemediation{Desc: f.Remediation}
	}

	conn := ocsfResource{UID: f.ConnectionID, Name: f.ConnectionName, Type: ResourceTypeConnection, Region: f.Region, Labels: labels(f.Tags)}
	if f.TunnelID != "" {
		conn.Data = map[string]any{"tunnel_id": f.TunnelID}
	}
	e.Resources = []ocsfResource{conn}
	if f.VPNGatewayID != "" {
		e.Resources = append(e.Resources, ocsfResource{UID: f.VPNGatewayID, Type: ResourceTypeGateway, Region: f.Region,
			Data: map[string]any{"relationship": "gateway of the connection", "connection_uid": f.ConnectionID}})
	}

	extra := map[string]any{}
	if f.PreviousSeverity != nil {
		extra["previous_severity"] = f.PreviousSeverity.String()
	}
	if f.Reopened {
		extra["reopened"] = true
	}
	if f.ExceptionExpired != "" {
		extra["exception_expired"] = f.ExceptionExpired
	}
	if len(extra) > 0 {
		e.Unmapped = map[string]any{"vpncheck": extra}
	}
	return e
}

// labels are the tags as "key:value", sorted (resource labels are strings).
func labels(tags map[string]string) []string {
	if len(tags) == 0 {
		return nil
	}
	out := make([]string, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, k+":"+tags[k])
	}
	return out
}

// runTime is when the run judged its findings: the latest time a finding
// was seen or resolved, else now.
func runTime(r *report.Report) time.Time {
	var at time.Time
	for _, fs := range [][]report.Finding{r.Findings, r.Resolved} {
		for i := range fs {
			t := fs[i].LastSeen
			if fs[i].ResolvedAt != nil {
				t = *fs[i].ResolvedAt
			}
			if t.After(at) {
				at = t
			}
		}
	}
	if at.IsZero() {
		at = time.Now()
	}
	return at
}

// eventTime is when the finding's activity happened: when it was resolved,
// else when it was last seen, else the run's time.
func eventTime(f *report.Finding, activity int, at time.Time) time.Time {
	switch {
	case activity == ocsfClose && f.ResolvedAt != nil:
		return *f.ResolvedAt
	case activity != ocsfClose && !f.LastSeen.IsZero():
		return f.LastSeen
	}
	return at
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// inertJSON escapes, as \uXXXX, every character of a JSON text that a
// viewer of the raw line could act on or be misled by: DEL, C1 controls,
// format characters (bidirectional overrides, zero-width, tag
// characters) and the line and paragraph separators. encoding/json has
// already escaped C0 controls, quotes and invalid UTF-8. They occur only
// inside strings, so the value decoded is unchanged.
func inertJSON(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < utf8.RuneSelf && b[i] != 0x7f {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	out = append(out, b[:i]...)
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		if r == 0x7f || r >= utf8.RuneSelf && (unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r)) {
			if r > 0xFFFF {
				hi, lo := utf16.EncodeRune(r)
				out = appendU(appendU(out, hi), lo)
			} else {
				out = appendU(out, r)
			}
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

func appendU(b []byte, r rune) []byte {
	s := strconv.FormatInt(int64(r), 16)
	b = append(b, `\u`...)
	for n := len(s); n < 4; n++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
