// Command profile runs one offline check in process, as `vpncheck check
// --inventory FILE --format json` does, and writes a CPU profile and the
// time of each stage: what bench/run.sh measures from outside, taken apart.
//
//	go run ./bench/profile -cpuprofile cpu.out inv.json
//	go tool pprof -top -cum cpu.out
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/output"
	"github.com/vpncheck/vpncheck/policies"
)

func main() {
	cpu := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	if err := run(*cpu, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(1)
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func run(cpu string, files []string) error {
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	stage := func(name string, start time.Time, c0 time.Duration) {
		fmt.Fprintf(os.Stderr, "%-10s %6d ms wall %6d ms CPU\n", name, time.Since(start).Milliseconds(), (cpuTime() - c0).Milliseconds())
	}
	t, c := time.Now(), cpuTime()
	eng, err := checker.NewEngine(ctx, checker.Policies{Builtin: policies.FS})
	if err != nil {
		return err
	}
	stage("engine", t, c)
	t, c = time.Now(), cpuTime()
	inv := inventory.New()
	for _, f := range files {
		if err := inv.ReadFile(f, ""); err != nil {
			return err
		}
	}
	stage("read", t, c)
	t, c = time.Now(), cpuTime()
	res, err := eng.Check(ctx, inv, checker.Options{})
	if err != nil {
		return err
	}
	stage("check", t, c)
	t, c = time.Now(), cpuTime()
	w, err := output.Get("json")
	if err != nil {
		return err
	}
	if err := w.Report(io.Discard, res.Report); err != nil {
		return err
	}
	stage("write", t, c)
	fmt.Fprintf(os.Stderr, "%d findings, GOMAXPROCS %d\n", len(res.Report.Findings), runtime.GOMAXPROCS(0))
	return nil
}
