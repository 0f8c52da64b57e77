// Command vpncheck checks Alibaba Cloud IPsec-VPN connections against Rego
// policies. Started with no arguments under Function Compute (FC_RUNTIME_API
// set), it serves timer invocations; otherwise it is a command-line tool.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/vpncheck/vpncheck/checker/run"
)

// adaptMemoryLimit is set when vpncheck owns the heap limit (GOMEMLIMIT
// unset), so a large run may raise it.
var adaptMemoryLimit bool

// beforeExit runs before the process exits (a profiling build's hook).
var beforeExit = func() {}

func main() {
	// The Tea SDK prints request headers, security token included, when
	// DEBUG names it. Never let that reach a log.
	os.Unsetenv("DEBUG")

	// Keep the heap near what the smallest Function Compute instance
	// (128 MB) holds; the garbage collector works harder instead of the
	// process growing. GOMEMLIMIT overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(run.DefaultMemoryLimit)
		adaptMemoryLimit = true
	}

	if len(os.Args) == 1 && os.Getenv("FC_RUNTIME_API") != "" {
		code := serveFC()
		beforeExit()
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runCLI(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	beforeExit()
	os.Exit(code)
}
