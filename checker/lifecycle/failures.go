package lifecycle

import (
	"cmp"
	"net/url"
	"slices"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
)

// Failure is a scan error the state remembers, so that it is said when it
// begins and when it ends, and not in every run between (findings have the
// same lifecycle). It keeps the place and the code, never the message: the
// report of the run that met it has that.
type Failure struct {
	AccountID    string `json:"account_id,omitempty"`
	Region       string `json:"region,omitempty"`
	ConnectionID string `json:"connection_id,omitempty"`
	Code         string `json:"code"` // the code it began with
	// RegionFailed is a region that could not be scanned: it ends when
	// the region is scanned again, whatever its codes meanwhile.
	RegionFailed bool      `json:"region_failed,omitempty"`
	Since        time.Time `json:"since"`
	LastSeen     time.Time `json:"last_seen"`
}

// failedRegion is the code of a failure key for a region that could not be
// scanned: whatever its code this run, it is one failure until the region
// is scanned again (Forbidden.RAM one hour, Throttling the next, is not
// news twice).
const failedRegion = "region-failed"

// failureKey names the place of an error: a failed region; else the
// region, connection and code. "" for an error of no place (the state
// store's own), which is news in every run that meets it.
func failureKey(e *report.ErrorEntry, failed map[string]bool) string {
	if e.Region == "" && e.ConnectionID == "" {
		return ""
	}
	code := e.Code
	if failed[e.Region] && e.ConnectionID == "" {
		code = failedRegion
	}
	return url.PathEscape(e.AccountID) + "/" + url.PathEscape(e.Region) + "/" + url.PathEscape(e.ConnectionID) + "/" + url.PathEscape(code)
}

// advanceFailures sets each of the report's errors new or open against
// prev's failures, lists in the report's lifecycle the failures that ended,
// and returns the failures to keep. A failure ends when its place was read
// again without it: a failed region once it is scanned, any other once its
// region is judged completely. A partial run (a change event) ends none;
// one not met for keep is forgotten.
func advanceFailures(prev map[string]*Failure, rep *report.Report, o Options, now time.Time, keep time.Duration) map[string]*Failure {
	failed := map[string]bool{}
	for _, r := range rep.Summary.RegionsFailed {
		failed[r] = true
	}
	scanned := map[string]bool{}
	for _, r := range rep.Summary.RegionsScan {
		scanned[r] = true
	}
	next := map[string]*Failure{}
	for i := range rep.Errors {
		e := &rep.Errors[i]
		key := failureKey(e, failed)
		e.Status, e.FirstSeen = report.StatusNew, now
		if key == "" {
			continue
		}
		f := next[key]
		if f == nil {
			f = &Failure{AccountID: e.AccountID, Region: e.Region, ConnectionID: e.ConnectionID, Code: e.Code,
				RegionFailed: failed[e.Region] && e.ConnectionID == "", Since: now}
			if old, ok := prev[key]; ok {
				f.Code, f.Since = old.Code, old.Since
			}
			next[key] = f
		}
		f.LastSeen = now
		if f.Since.Before(now) {
			e.Status, e.FirstSeen = report.StatusOpen, f.Since
		}
	}
	for key, old := range prev {
		if _, ok := next[key]; ok {
			continue
		}
		place := &report.Finding{AccountID: old.AccountID, Region: old.Region, ConnectionID: old.ConnectionID}
		var ended bool
		switch {
		case o.Partial != nil:
		case old.RegionFailed:
			ended = scanned[old.Region]
		default:
			ended = o.Judged != nil && o.Judged(place)
		}
		switch {
		case ended:
			rep.Lifecycle.Recovered = append(rep.Lifecycle.Recovered, report.ErrorEntry{AccountID: old.AccountID,
				Region: old.Region, ConnectionID: old.ConnectionID, Code: old.Code, FirstSeen: old.Since})
		case now.Sub(old.LastSeen) < keep:
			next[key] = old
		}
	}
	slices.SortFunc(rep.Lifecycle.Recovered, func(a, b report.ErrorEntry) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Region, b.Region),
			cmp.Compare(a.ConnectionID, b.ConnectionID), cmp.Compare(a.Code, b.Code))
	})
	return next
}
