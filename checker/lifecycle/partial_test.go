package lifecycle

import (
	"slices"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/report"
)

// A change event judges one connection: its findings come and go, the
// other connections' findings are neither resolved nor held, and no digest
// comes due on it.
func TestPartialRun(t *testing.T) {
	a := finding("vco-a", "dpd-disabled", report.Medium)
	a2 := finding("vco-a", "ike-v1", report.Low)
	b := finding("vco-b", "psk-weak", report.Critical)
	onlyA := func(f *report.Finding) bool { return f.ConnectionID == "vco-a" }
	none := func(*report.Finding) bool { return false }

	full := Advance(nil, rep(a, b), Options{Now: t0, DigestEvery: time.Hour, Judged: all})

	tests := []struct {
		name      string
		rep       *report.Report
		judged    func(*report.Finding) bool
		want      []string
		wantOpen  int
		wantHeld  []string
		wantNews  bool
		unchanged int
	}{
		{name: "a weakened further", rep: rep(a, a2), judged: all,
			want: []string{"vco-a/dpd-disabled:open", "vco-a/ike-v1:new"}, wantOpen: 3, wantNews: true, unchanged: 1},
		{name: "a fixed", rep: rep(), judged: all,
			want: []string{"vco-a/dpd-disabled:resolved"}, wantOpen: 1, wantNews: true},
		{name: "a unchanged", rep: rep(a), judged: all,
			want: []string{"vco-a/dpd-disabled:open"}, wantOpen: 2, unchanged: 1},
		{name: "a could not be described: held, not resolved", rep: rep(), judged: none,
			want: nil, wantOpen: 2, wantHeld: []string{"cn-hangzhou"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := roundTrip(t, full)
			// Two hours on: a whole run would send the digest now.
			next := Advance(prev, tt.rep, Options{Now: t0.Add(2 * time.Hour), DigestEvery: time.Hour, Judged: tt.judged, Partial: onlyA})
			if got := statuses(tt.rep); !slices.Equal(got, tt.want) {
				t.Errorf("statuses %v, want %v", got, tt.want)
			}
			if len(next.Open) != tt.wantOpen {
				t.Errorf("open %d, want %d", len(next.Open), tt.wantOpen)
			}
			if _, ok := next.Open[report.FindingID(&b)]; !ok {
				t.Error("the other connection's finding left the open set")
			}
			l := tt.rep.Lifecycle
			if !slices.Equal(l.Held, tt.wantHeld) || l.Digest || l.Unchanged != tt.unchanged {
				t.Errorf("held %v digest %v unchanged %d", l.Held, l.Digest, l.Unchanged)
			}
			if !next.LastDigest.Equal(prev.LastDigest) {
				t.Errorf("a partial run moved the digest clock to %v", next.LastDigest)
			}
			if tt.rep.News() != tt.wantNews {
				t.Errorf("news %v, want %v", tt.rep.News(), tt.wantNews)
			}
		})
	}
}
