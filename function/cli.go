package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/notify"
	"github.com/vpncheck/vpncheck/policies"
)

// Exit statuses (README, "Exit status").
const (
	exitOK         = 0 // the check ran
	exitFailOn     = 1 // --fail-on was reached
	exitUsage      = 2 // usage error or unreadable input
	exitIncomplete = 3 // the check could not complete
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

const usage = `usage:
  vpncheck check [flags]              one check now: collect, evaluate, report
  vpncheck rules [--format text|json] the rule catalogue
  vpncheck version
Run 'vpncheck check -h' for the check flags.
`

// runCLI runs one command and returns the process exit status.
func runCLI(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "check":
		return cmdCheck(ctx, args[1:], getenv, stdout, stderr)
	case "rules":
		return cmdRules(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "vpncheck %s\n", buildVersion())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "vpncheck: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// usageError is bad input from the user: exit 2 with its one line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// fail prints one line on stderr and returns the status that fits err.
func fail(stderr io.Writer, err error) int {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	fmt.Fprintf(stderr, "vpncheck: %s\n", msg)
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, checker.ErrUnreadable) {
		return exitUsage
	}
	return exitIncomplete
}

// newFlagSet returns a flag set that reports errors through the caller, as
// one line, instead of printing the whole usage.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args; -h prints the flags on stdout and returns
// flag.ErrHelp; positional arguments are a usage error.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "usage of %s:\n", fs.Name())
			printFlags(stdout, fs)
			return err
		}
		return usagef("%v (see '%s -h')", err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (see '%s -h')", fs.Arg(0), fs.Name())
	}
	return nil
}

// printFlags lists the flags GNU-style, as the README spells them.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%-28s %s", line, usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// policyFlags are shared by check and rules.
type policyFlags struct {
	dir       string
	noBuiltin bool
}

func (p *policyFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&p.dir, "policies", getenv("VPNCHECK_POLICY_DIR"), "add `DIR`'s Rego rules and data to the built-in set (env VPNCHECK_POLICY_DIR)")
	fs.BoolVar(&p.noBuiltin, "no-builtin-policies", false, "with --policies: leave out the built-in rules")
}

// engine loads the policies; a missing directory is a usage error.
func (p *policyFlags) engine(ctx context.Context) (*checker.Engine, error) {
	set := checker.Policies{Builtin: policies.FS, NoBuiltinRules: p.noBuiltin}
	if p.noBuiltin && p.dir == "" {
		return nil, usagef("--no-builtin-policies needs --policies DIR")
	}
	if p.dir != "" {
		st, err := os.Stat(p.dir)
		if err != nil || !st.IsDir() {
			return nil, usagef("policy directory %s: not a readable directory", p.dir)
		}
		set.Custom = os.DirFS(p.dir)
	}
	return checker.NewEngine(ctx, set)
}

func cmdRules(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("vpncheck rules")
	format := fs.String("format", "text", "output `format`: text or json")
	var pf policyFlags
	pf.register(fs, getenv)
	if err := parseFlags(fs, args, stdout); errors.Is(err, flag.ErrHelp) {
		return exitOK
	} else if err != nil {
		return fail(stderr, err)
	}
	if *format != "text" && *format != "json" {
		return fail(stderr, usagef("--format %q: want text or json", *format))
	}
	eng, err := pf.engine(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	if *format == "json" {
		return writeOut(stderr, checker.WriteRulesJSON(stdout, eng.Rules()))
	}
	return writeOut(stderr, checker.WriteRulesText(stdout, eng.Rules()))
}

func writeOut(stderr io.Writer, err error) int {
	if err != nil {
		return fail(stderr, fmt.Errorf("write output: %w", err))
	}
	return exitOK
}

// checkConfig is everything a check needs, from flags and environment.
type checkConfig struct {
	inventories    []string
	region         string
	regions        []string // empty: none given
	excludeRegions []string
	policy         policyFlags
	format         string
	minSeverity    checker.Severity
	failOn         *checker.Severity
	notify         bool
	timeout        time.Duration
	concurrency    int
	saveInventory  string
	dumpInput      string
}

func parseCheck(args []string, getenv func(string) string, stdout io.Writer) (*checkConfig, error) {
	cfg := &checkConfig{}
	fs := newFlagSet("vpncheck check")
	var inv listFlag
	fs.Var(&inv, "inventory", "read connections from a saved DescribeVpnConnections response `FILE` (repeatable)")
	fs.StringVar(&cfg.region, "region", "", "region `ID` of --inventory files that do not name their own")
	regions := fs.String("regions", getenv("VPNCHECK_REGIONS"), "region IDs, comma-separated, or \"all\" (env VPNCHECK_REGIONS)")
	exclude := fs.String("exclude-regions", getenv("VPNCHECK_EXCLUDE_REGIONS"), "regions to skip (env VPNCHECK_EXCLUDE_REGIONS)")
	cfg.policy.register(fs, getenv)
	fs.StringVar(&cfg.format, "format", "text", "report `format` on stdout: text or json")
	minSev := fs.String("min-severity", getenv("VPNCHECK_MIN_SEVERITY"), "drop findings below `LEVEL`: info|low|medium|high|critical (env VPNCHECK_MIN_SEVERITY)")
	failOn := fs.String("fail-on", "", "exit 1 when a finding at or above `LEVEL` remains, or a region failed")
	fs.BoolVar(&cfg.notify, "notify", false, "post the findings to Slack as the function does")
	fs.DurationVar(&cfg.timeout, "timeout", 0, "deadline for the whole run, e.g. 2m (collection stops early, partial report)")
	fs.IntVar(&cfg.concurrency, "concurrency", defaultConcurrency, "regions scanned at once")
	fs.StringVar(&cfg.saveInventory, "save-inventory", "", "write what was collected to `DIR`, secrets redacted")
	fs.StringVar(&cfg.dumpInput, "dump-input", "", "write the policy inputs (what the rules see, keys reduced to facts) to `FILE` as a JSON array")
	if err := parseFlags(fs, args, stdout); err != nil {
		return nil, err
	}
	cfg.inventories = inv
	cfg.regions = splitComma(*regions)
	cfg.excludeRegions = splitComma(*exclude)
	if cfg.format != "text" && cfg.format != "json" {
		return nil, usagef("--format %q: want text or json", cfg.format)
	}
	if *minSev != "" {
		s, err := checker.ParseSeverity(*minSev)
		if err != nil {
			return nil, usagef("--min-severity: %v", err)
		}
		cfg.minSeverity = s
	}
	if *failOn != "" {
		s, err := checker.ParseSeverity(*failOn)
		if err != nil {
			return nil, usagef("--fail-on: %v", err)
		}
		cfg.failOn = &s
	}
	if cfg.timeout < 0 {
		return nil, usagef("--timeout must not be negative")
	}
	if cfg.concurrency < 1 {
		return nil, usagef("--concurrency must be at least 1")
	}
	return cfg, nil
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func cmdCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseCheck(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return fail(stderr, err)
	}
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}

	eng, err := cfg.policy.engine(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	var notifier *notify.Notifier
	if cfg.notify {
		// Checked before collecting, so a misconfigured --notify costs no API calls.
		if notifier, err = notifierFromEnv(getenv); err != nil {
			return fail(stderr, usagef("--notify: %v", err))
		}
	}

	inv := checker.NewInventory()
	var saveErr error
	if len(cfg.inventories) > 0 {
		for _, path := range cfg.inventories {
			if err := inv.ReadFile(path, cfg.region); err != nil {
				return fail(stderr, err)
			}
		}
	} else if err := collectLive(ctx, cfg, getenv, inv); errors.Is(err, checker.ErrSaveInventory) {
		// What was collected is still judged and reported; the run then
		// says it could not save.
		saveErr = err
	} else if err != nil {
		return fail(stderr, err)
	}

	opt := checker.Options{MinSeverity: cfg.minSeverity}
	if cfg.dumpInput != "" {
		f, err := os.Create(cfg.dumpInput)
		if err != nil {
			return fail(stderr, usagef("--dump-input: %v", err))
		}
		defer f.Close()
		opt.Inputs = f
	}
	res, err := evaluate(ctx, eng, inv, opt)
	if err != nil {
		return fail(stderr, err)
	}
	rep := res.Report

	if cfg.format == "json" {
		err = checker.WriteJSON(stdout, rep)
	} else {
		err = checker.WriteText(stdout, rep)
	}
	if err != nil {
		return fail(stderr, fmt.Errorf("write report: %w", err))
	}

	status := exitOK
	if err := noRegionScanned(rep); err != nil {
		status = fail(stderr, err)
	}
	if saveErr != nil {
		status = fail(stderr, saveErr)
	}
	if notifier != nil {
		if ctx.Err() != nil { // the deadline passed: still deliver what was found
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), evaluationGrace)
			defer cancel()
		}
		if err := notifyCLI(ctx, notifier, res); err != nil {
			fmt.Fprintf(stderr, "vpncheck: %s\n", strings.Join(strings.Fields(err.Error()), " "))
			status = exitIncomplete
		}
	}
	if status == exitOK && cfg.failOn != nil {
		if worst, any := rep.Worst(); (any && worst >= *cfg.failOn) || rep.Failed() {
			status = exitFailOn
		}
	}
	return status
}
