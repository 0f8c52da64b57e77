package alibaba

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/vpcfake"
)

// BenchmarkCollectLatency scans 20 regions of 30 connections (one page each)
// while every call takes 100 ms: the wall time is about
// ceil(20/concurrency) x 100 ms, so with one worker per region it is near the
// slowest region, not the sum (2 s).
func BenchmarkCollectLatency(b *testing.B) {
	s := startFake(b)
	var regions []string
	for i := range 20 {
		r := fmt.Sprintf("fake-region-%02d", i)
		regions = append(regions, r)
		s.Generate(r, 30, vpcfake.Connection)
	}
	s.SetLatency("", 100*time.Millisecond)
	for _, conc := range []int{1, 4, 20} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			c := fakeCollector(b, s, fakeSecret, func(cfg *CollectorConfig) { cfg.Concurrency = conc })
			for b.Loop() {
				inv := inventory.New()
				if err := c.Collect(context.Background(), regions, inv); err != nil {
					b.Fatal(err)
				}
				if len(errorsOfB(inv)) != 0 {
					b.Fatalf("errors: %v", errorsOfB(inv))
				}
			}
		})
	}
}

func errorsOfB(inv *inventory.Inventory) []report.ErrorEntry {
	return inv.Errors()
}
