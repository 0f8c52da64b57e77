package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/output"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/run"
)

// runFlags are what every command that runs a check shares (check, event):
// the policies, the report's format and levels, the deadline, delivery and
// state. They are registered, read and turned into a plan here only.
type runFlags struct {
	policy      policyFlags
	format      output.Writer
	minSeverity report.Severity
	failOn      *report.Severity
	notify      bool
	timeout     time.Duration
	state       string // a directory, or oss://bucket/prefix
	digest      time.Duration
	now         time.Time // VPNCHECK_NOW; zero: the real clock
	pepper      []byte    // VPNCHECK_KEY_PEPPER; nil: none
	// fingerprints is set once the run is planned to keep key
	// fingerprints (--state, --save-inventory): unpeppered, it warns.
	fingerprints bool

	formatFlag, minSevFlag, failOnFlag, stateFlag *string
}

// register adds the shared flags; failOnWhat says what else --fail-on counts.
func (r *runFlags) register(fs *flag.FlagSet, failOnWhat string) {
	r.policy.register(fs)
	r.formatFlag = fs.String("format", "text", "report `format` on stdout: "+strings.Join(output.Formats(), " or "))
	r.registerRun(fs, "drop findings below `LEVEL`", "deadline for the whole run, e.g. 2m (collection stops early, partial report)")
	r.failOnFlag = fs.String("fail-on", "", "exit 1 when a finding at or above `LEVEL` remains, or "+failOnWhat)
	fs.BoolVar(&r.notify, "notify", false, "post the findings to Slack as the function does")
	r.stateFlag = fs.String("state", "", "keep findings between runs in `DIR` (or oss://bucket/prefix): report new, open and resolved, notify only news (env "+envState+")")
}

// resolve reads the flags given, else their variables.
func (r *runFlags) resolve(given map[string]bool, getenv func(string) string) error {
	var err error
	r.policy.resolve(given, getenv)
	st := pick(*r.stateFlag, given["state"], "state", envState, getenv)
	r.state = strings.TrimSpace(st.value)
	if err := checkStateLocation(r.state, st.name, homeRegion(getenv)); err != nil {
		return err
	}
	if r.digest, err = digestPeriod(getenv); err != nil {
		return err
	}
	if r.pepper, err = keyPepper(getenv); err != nil {
		return err
	}
	if r.format, err = output.Get(*r.formatFlag); err != nil {
		return badinput.Errorf("--format: %v", err)
	}
	if given["fail-on"] {
		s, err := setting{*r.failOnFlag, "--fail-on"}.severity()
		if err != nil {
			return err
		}
		r.failOn = &s
	}
	return r.resolveRun(given, getenv)
}

// registerRun adds the rules of the run every command that runs a check
// takes (check, event, fix): the least severity and the deadline.
func (r *runFlags) registerRun(fs *flag.FlagSet, minSevUsage, timeoutUsage string) {
	r.minSevFlag = fs.String("min-severity", "", minSevUsage+": info|low|medium|high|critical (env "+envMinSeverity+")")
	fs.DurationVar(&r.timeout, "timeout", 0, timeoutUsage)
}

// resolveRun reads the rules of the run: the clock (VPNCHECK_NOW), the
// least severity and the deadline.
func (r *runFlags) resolveRun(given map[string]bool, getenv func(string) string) error {
	var err error
	if r.now, err = runClock(getenv); err != nil {
		return err
	}
	if r.minSeverity, err = pick(*r.minSevFlag, given["min-severity"], "min-severity", envMinSeverity, getenv).severity(); err != nil {
		return err
	}
	if r.timeout < 0 {
		return badinput.Errorf("--timeout must not be negative")
	}
	return nil
}

// withDeadline is ctx with the --timeout deadline, if one was given.
func (r *runFlags) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.timeout > 0 {
		return context.WithTimeout(ctx, r.timeout)
	}
	return ctx, func() {}
}

// plan starts a command's plan with its shared part: the policies, the
// notifier (checked before anything is collected, so a misconfigured
// --notify costs no API calls) and the state store. Its error is the
// user's to fix, said at once; policies that did not load otherwise are the
// run's failure, told to the notifier (run.Builder).
func (r *runFlags) plan(ctx context.Context, getenv func(string) string) (*run.Builder, error) {
	base := planBase{minSev: r.minSeverity, digest: r.digest, now: r.now, pepper: r.pepper}
	base.engine, base.engineErr = loadEngine(ctx, r.policy.dir, r.policy.noBuiltin, getenv)
	if errors.Is(base.engineErr, badinput.Err) {
		return nil, base.engineErr
	}
	if r.notify {
		sg, err := slackGetenv(ctx, getenv, cliReader(getenv))
		if err != nil {
			return nil, fmt.Errorf("--notify: %w", err)
		}
		n, err := notifierFromEnv(sg)
		if err != nil {
			return nil, badinput.Errorf("--notify: %v", err)
		}
		base.notifier = n
	}
	if strings.TrimSpace(getenv(envKeyPepperSecret)) != "" {
		p, err := secretPepper(ctx, getenv, cliReader(getenv))
		if err != nil {
			return nil, err
		}
		r.pepper, base.pepper = []byte(p), []byte(p)
	}
	if r.state != "" {
		r.fingerprints = true
		if strings.HasPrefix(r.state, "oss://") {
			var err error
			if base.stateCred, err = chainCredential(getenv); err != nil {
				return nil, err
			}
		}
		base.state, base.stateRegion = r.state, homeRegion(getenv)
	}
	b, err := base.builder(ctx, getenv)
	if err != nil {
		return nil, badinput.Errorf("--state: %v", err)
	}
	return b, nil
}

// finish prints the outcome's report and maps it to the exit status.
func (r *runFlags) finish(out run.Outcome, stdout, stderr io.Writer) int {
	if r.fingerprints && len(r.pepper) == 0 {
		slog.New(slog.NewTextHandler(stderr, nil)).Warn(unpepperedWarning)
	}
	if out.Report != nil {
		out.Report.ProductVersion = buildVersion() // OCSF names its producer
		if err := r.format.Report(stdout, out.Report); err != nil {
			return fail(stderr, fmt.Errorf("write report: %w", err))
		}
	}
	if out.Err != nil {
		return fail(stderr, out.Err)
	}
	if r.failOn != nil {
		if reached, why := run.FailOn(out.Report, *r.failOn); reached {
			fmt.Fprintf(stderr, "vpncheck: --fail-on %s reached: %s\n", *r.failOn, output.TerminalText(why, maxErrorLine))
			return exitFailOn
		}
	}
	return exitOK
}
