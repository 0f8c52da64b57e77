// Command irgen compiles the built-in policies ahead of time: it plans
// data.vpncheck.main.findings with OPA's planner and writes Go that runs
// the plan (see package gen).
//
//	go generate ./checker/compiled
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/vpncheck/vpncheck/tools/irgen/gen"
)

func main() {
	out := flag.String("o", "policy_gen.go", "output file")
	pkg := flag.String("package", "compiled", "package name")
	flag.Parse()
	src, err := gen.Generate(context.Background(), *pkg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "irgen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "irgen:", err)
		os.Exit(1)
	}
}
