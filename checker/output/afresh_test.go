package output

import (
	"strings"
	"testing"

	"github.com/vpncheck/vpncheck/checker/report"
)

// The text header says how many connections were judged afresh when a
// state spared the others, and nothing when every one was (or the report
// does not say).
func TestTextSaysJudgedAfresh(t *testing.T) {
	n := func(v int) *int { return &v }
	for _, tc := range []struct {
		name   string
		afresh *int
		first  string
	}{
		{"some", n(3), "vpncheck: 10 connections, 12 tunnels in cn-hangzhou (3 judged afresh): 0 findings"},
		{"none", n(0), "vpncheck: 10 connections, 12 tunnels in cn-hangzhou (0 judged afresh): 0 findings"},
		{"all", n(10), "vpncheck: 10 connections, 12 tunnels in cn-hangzhou: 0 findings"},
		{"not said", nil, "vpncheck: 10 connections, 12 tunnels in cn-hangzhou: 0 findings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := report.New()
			rep.Summary.Connections, rep.Summary.Tunnels, rep.Summary.JudgedAfresh = 10, 12, tc.afresh
			rep.Summary.RegionsScan = []string{"cn-hangzhou"}
			if first := strings.SplitN(writeText(t, rep), "\n", 2)[0]; first != tc.first {
				t.Errorf("first line %q, want %q", first, tc.first)
			}
		})
	}
}
