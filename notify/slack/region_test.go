package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/report"
)

// TestRenderRegionNotGiven: a report of files that name no region says so
// in the fallback text (the phone notification) and the blocks, never
// "1 more" or `unknown`.
func TestRenderRegionNotGiven(t *testing.T) {
	rep := sampleFixture(t)
	rep.Summary.RegionsScan = []string{report.UnknownRegion}
	for i := range rep.Findings {
		rep.Findings[i].Region = report.UnknownRegion
	}
	msgs := Render(rep, sampleMeta, Channel).Messages
	if len(msgs) == 0 {
		t.Fatal("nothing rendered")
	}
	text := msgs[0].Text
	if !strings.HasSuffix(text, ", region not given") || strings.Contains(text, "more") {
		t.Errorf("fallback %q", text)
	}
	blocks, _ := json.Marshal(msgs[0].Blocks)
	if b := string(blocks); !strings.Contains(b, "region not given") || strings.Contains(b, "`unknown`") || strings.Contains(b, "region unknown") {
		t.Errorf("blocks do not say the region was not given: %s", b)
	}

	clean := &report.Report{Summary: report.Summary{Connections: 2, Tunnels: 2, RegionsScan: []string{report.UnknownRegion}}}
	if ok := renderAllClear(clean, sampleMeta); len(ok) == 0 || !strings.Contains(ok[0].Text, "2 connections checked, region not given") {
		t.Errorf("all clear: %+v", ok)
	}
}
