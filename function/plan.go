package main

import (
	"context"
	"time"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/run"
)

// planBase is the part of a run's plan every command shares, however the
// command found it (flags and variables at a terminal: runFlags.plan; the
// instance and the invocation in Function Compute: fcHandler.basePlan).
type planBase struct {
	engine    *checker.Engine
	engineErr error        // why the policies did not load
	notifier  run.Notifier // nil: none
	pepper    []byte       // the key fingerprints' pepper; nil: none
	digest    time.Duration
	now       time.Time
	minSev    report.Severity
	// state is where the findings are kept between runs (a directory,
	// oss://bucket/prefix; "": nowhere), opened in stateRegion and signed
	// with stateCred; internal reaches OSS by its internal endpoint.
	state       string
	stateRegion string
	stateCred   credentials.Credential
	internal    bool
}

// builder starts the plan's builder and opens its state store. err is why
// the store was refused (a bucket with versioning, a location that can
// never work): whether that is said at once or as the run's failure is the
// caller's choice. Any other failure to open it lets the run go on
// without state, saying so in its report (run.Plan.StateErr).
func (b planBase) builder(ctx context.Context, getenv func(string) string) (*run.Builder, error) {
	bld := &run.Builder{Plan: run.Plan{
		MinSeverity: b.minSev, FitMemory: adaptMemoryLimit, DigestEvery: b.digest, Now: b.now, KeyPepper: b.pepper,
		Notifier: b.notifier,
	}}
	bld.Policies(b.engine, b.engineErr)
	if b.state == "" {
		return bld, nil
	}
	var err error
	bld.Plan.State, bld.Plan.StateErr, err = openState(ctx, b.state, b.stateRegion, b.stateCred, b.internal, getenv)
	return bld, err
}
