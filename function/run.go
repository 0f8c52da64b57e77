package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"time"

	"github.com/vpncheck/vpncheck/checker"
)

// evaluationGrace is how long evaluation and reporting may take after the
// run's deadline passed during collection: what was read is still judged
// and reported, never dropped.
const evaluationGrace = 30 * time.Second

// evaluate judges the collected connections. The command line and the
// function share it.
func evaluate(ctx context.Context, eng *checker.Engine, inv *checker.Inventory, opt checker.Options) (*checker.Result, error) {
	fitMemoryLimit()
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), evaluationGrace)
		defer cancel()
	}
	return eng.Check(ctx, inv, opt)
}

// noRegionScanned is the reason a run that scanned nothing could not
// complete, naming the first failure, or nil when some region was scanned.
func noRegionScanned(rep *checker.Report) error {
	if len(rep.Summary.RegionsScan) > 0 {
		return nil
	}
	for _, e := range rep.Errors {
		if e.Region != "" {
			// The collector's messages name their region, call and code.
			return fmt.Errorf("no region could be scanned (%s): %s",
				strings.Join(rep.Summary.RegionsFailed, ", "), e.Message)
		}
	}
	return fmt.Errorf("no region could be scanned")
}

// fitMemoryLimit raises the soft heap limit for a run whose collected
// connections already fill much of it: findings come on top, and a heap held
// near the limit makes the garbage collector run without pause. Three times
// what is live leaves room for both.
func fitMemoryLimit() {
	if !adaptMemoryLimit {
		return
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := int64(s[0].Value.Uint64())
	debug.SetMemoryLimit(max(defaultMemoryLimit, 3*live))
}
