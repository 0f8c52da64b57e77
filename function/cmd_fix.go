package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/output"
	"github.com/vpncheck/vpncheck/checker/run"
)

// fixConfig is what vpncheck fix needs: a check's source flags, the
// policies, and the connection.
type fixConfig struct {
	checkConfig
	connection string
	format     string
}

func parseFix(args []string, getenv func(string) string, stdout io.Writer) (*fixConfig, error) {
	cfg := &fixConfig{}
	fs := newFlagSet("vpncheck fix")
	fs.StringVar(&cfg.connection, "connection", "", "the connection `ID` to plan the fix of (required)")
	var src sourceFlags
	src.register(fs, &cfg.checkConfig)
	cfg.policy.register(fs)
	fs.StringVar(&cfg.format, "format", "text", "plan `format` on stdout: text or json")
	cfg.registerRun(fs, "leave findings below `LEVEL` out of the plan", "deadline for the whole run, e.g. 2m")
	given, err := parseFlags(fs, args, stdout)
	if err != nil {
		return nil, err
	}
	if cfg.connection == "" {
		return nil, badinput.Errorf("--connection is required (see 'vpncheck fix -h')")
	}
	if cfg.format != "text" && cfg.format != "json" {
		return nil, badinput.Errorf("--format: unknown format %q (want text or json)", cfg.format)
	}
	cfg.policy.resolve(given, getenv)
	if err := cfg.resolveRun(given, getenv); err != nil {
		return nil, err
	}
	if err := src.resolve(given, &cfg.checkConfig, getenv); err != nil {
		return nil, err
	}
	return cfg, nil
}

// cmdFix runs a check (offline on inventories, or live) and prints one
// combined plan per connection with the id: it changes nothing.
func cmdFix(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseFix(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return fail(stderr, err)
	}
	ctx, cancel := cfg.withDeadline(ctx)
	defer cancel()
	plan := run.Plan{MinSeverity: cfg.minSeverity, Now: cfg.now, FixFor: cfg.connection, FitMemory: adaptMemoryLimit}
	if plan.Engine, err = loadEngine(ctx, cfg.policy.dir, cfg.policy.noBuiltin, getenv); err != nil {
		return fail(stderr, err)
	}
	if plan.Source, err = cfg.source(getenv); err != nil {
		return fail(stderr, err)
	}
	out := run.Execute(ctx, plan)
	if len(out.Plans) == 0 {
		if out.Err != nil {
			return fail(stderr, out.Err)
		}
		return fail(stderr, badinput.Errorf("connection %s is not in what was checked (%s)", cfg.connection, scanned(out)))
	}
	if err := output.FixPlans(stdout, cfg.format, out.Plans); err != nil {
		return fail(stderr, fmt.Errorf("write plan: %w", err))
	}
	if out.Err != nil {
		return fail(stderr, out.Err) // the plan stands; the rest of the check did not complete
	}
	return exitOK
}

// scanned says what a check covered, for a connection not found.
func scanned(out run.Outcome) string {
	if out.Report == nil {
		return "nothing"
	}
	s := out.Report.Summary
	return fmt.Sprintf("%d connections in %d regions", s.Connections, len(s.RegionsScan))
}
