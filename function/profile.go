//go:build profile

package main

import (
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"time"
)

// A build with -tags profile writes profiles of a run for bench/: a CPU
// profile to VPNCHECK_CPUPROFILE, and to VPNCHECK_MEMPROFILE a heap
// profile taken when the heap was at its largest (polled every 20 ms), so
// that it names what held the peak rather than what was left at exit.
func init() {
	var stops []func()
	if path := os.Getenv("VPNCHECK_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if path := os.Getenv("VPNCHECK_MEMPROFILE"); path != "" {
		runtime.MemProfileRate = 64 << 10
		var mu sync.Mutex
		var peak uint64
		write := func() {
			f, err := os.Create(path)
			if err == nil {
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
		done := make(chan struct{})
		go func() {
			s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			for {
				select {
				case <-done:
					return
				case <-time.After(20 * time.Millisecond):
				}
				metrics.Read(s)
				mu.Lock()
				if v := s[0].Value.Uint64(); v > peak+peak/20 {
					peak = v
					runtime.GC() // the profile's in-use figures are the last GC's
					write()
				}
				mu.Unlock()
			}
		}()
		stops = append(stops, func() { close(done); mu.Lock(); defer mu.Unlock() })
	}
	beforeExit = func() {
		for _, stop := range stops {
			stop()
		}
	}
}
