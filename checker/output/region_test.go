package output

import (
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/report"
)

// TestTextRegionNotGiven: files that name no region (and no --region) are
// said to be so in words, never "in unknown".
func TestTextRegionNotGiven(t *testing.T) {
	for _, tc := range []struct {
		name    string
		regions []string
		first   string
	}{
		{"none named", []string{report.UnknownRegion}, "vpncheck: 2 connections, 2 tunnels, region not given (set --region): 1 finding (1 medium)"},
		{"some named", []string{"cn-hangzhou", report.UnknownRegion}, "vpncheck: 2 connections, 2 tunnels in cn-hangzhou and files whose region was not given (set --region): 1 finding (1 medium)"},
		{"all named", []string{"cn-hangzhou"}, "vpncheck: 2 connections, 2 tunnels in cn-hangzhou: 1 finding (1 medium)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := report.New()
			rep.Summary.Connections, rep.Summary.Tunnels, rep.Summary.Findings = 2, 2, 1
			rep.Summary.RegionsScan = tc.regions
			rep.Findings = []report.Finding{{Rule: "dpd-disabled", Severity: report.Medium, Message: "dead peer detection is off",
				Region: tc.regions[len(tc.regions)-1], ConnectionID: "vco-1", ConnectionName: "branch"}}
			rep.Errors = []report.ErrorEntry{{Region: tc.regions[len(tc.regions)-1], Code: report.CodeIncompleteInventory, Message: "partial"}}
			out := writeText(t, rep)
			if first := strings.SplitN(out, "\n", 2)[0]; first != tc.first {
				t.Errorf("first line %q, want %q", first, tc.first)
			}
			if strings.Contains(out, report.UnknownRegion) {
				t.Errorf("the report says %q:\n%s", report.UnknownRegion, out)
			}
			if tc.regions[len(tc.regions)-1] == report.UnknownRegion && strings.Count(out, "(region not given)") != 2 {
				t.Errorf("the connection and the error do not say the region was not given:\n%s", out)
			}
		})
	}
}
