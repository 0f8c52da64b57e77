package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/vpncheck/vpncheck/checker/alibaba"
	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/output"
	"github.com/vpncheck/vpncheck/checker/region"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/run"
	"github.com/vpncheck/vpncheck/checker/saved"
)

// Exit statuses (docs/report.md, "Exit status").
const (
	exitOK         = 0 // the check ran
	exitFailOn     = 1 // --fail-on was reached
	exitUsage      = 2 // usage error or unreadable input
	exitIncomplete = 3 // the check could not complete
)

// version and commit are set at build time with -ldflags
// "-X main.version=... -X main.commit=..." (s.yaml's build step does).
var version, commit = "", ""

const usage = `usage:
  vpncheck check [flags]              one check now: collect, evaluate, report
  vpncheck fix --connection ID        print one combined fix plan for a connection (changes nothing)
  vpncheck event --file EVENT.json    one change event (ActionTrail CloudEvent) as the function takes it
  vpncheck rules [--format text|json] the rule catalogue
  vpncheck setup [--dry-run] [--yes]  prepare the account for the function (docs/deploy.md)
  vpncheck doctor                     check a deployed function, one line per check
  vpncheck version
Run 'vpncheck COMMAND -h' for a command's flags, 'vpncheck help env' for the environment.
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
	case "fix":
		return cmdFix(ctx, args[1:], getenv, stdout, stderr)
	case "rules":
		return cmdRules(ctx, args[1:], getenv, stdout, stderr)
	case "event":
		return cmdEvent(ctx, args[1:], getenv, stdout, stderr)
	case "setup":
		return cmdSetup(ctx, args[1:], getenv, cliStdin, stdout, stderr)
	case "doctor":
		return cmdDoctor(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		return cmdVersion(ctx, getenv, stdout, stderr)
	case "help", "-h", "--help":
		if len(args) > 1 && (args[1] == "env" || args[1] == "environment") {
			printEnvironment(stdout)
			return exitOK
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "vpncheck: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

// cmdVersion prints the build (version, commit, Go) and the policies a
// check would run: the built-in set's hash, or the team bundle's revision.
func cmdVersion(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	c := commit
	if bi, ok := debug.ReadBuildInfo(); ok && c == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				c = s.Value[:12]
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	fmt.Fprintf(stdout, "vpncheck %s (commit %s, %s)\n", buildVersion(), c, runtime.Version())
	eng, err := loadEngine(ctx, getenv(envPolicyDir), false, getenv)
	if err != nil {
		return fail(stderr, err)
	}
	pol := eng.PolicyRevision() // what every report's policy_revision says
	if rev := eng.Revision(); rev != "" {
		pol = "built-in and team bundle revision " + rev
	} else if dir := getenv(envPolicyDir); dir != "" {
		pol += " (" + dir + ")"
	}
	fmt.Fprintf(stdout, "policies: %s, %s\n", pol, report.Plural(len(eng.Rules()), "rule"))
	return exitOK
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

// maxErrorLine bounds the one line an error prints on stderr.
const maxErrorLine = 2000

// fail prints one line on stderr and returns the status that fits err.
func fail(stderr io.Writer, err error) int {
	// One line, and inert for the terminal: errors can quote cloud text
	// (a region id, a name).
	fmt.Fprintf(stderr, "vpncheck: %s\n", output.TerminalText(err.Error(), maxErrorLine))
	if errors.Is(err, badinput.Err) {
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

// parseFlags parses args and returns the names of the flags given; -h
// prints the flags on stdout and returns flag.ErrHelp; positional
// arguments are a usage error.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (map[string]bool, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "usage of %s:\n", fs.Name())
			printFlags(stdout, fs)
			if ex := examples[fs.Name()]; ex != "" {
				fmt.Fprintf(stdout, "example:\n  %s\n", ex)
			}
			return nil, err
		}
		return nil, badinput.Errorf("%v (see '%s -h')", err, fs.Name())
	}
	if fs.NArg() > 0 {
		return nil, badinput.Errorf("unexpected argument %q (see '%s -h')", fs.Arg(0), fs.Name())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given, nil
}

// examples holds one example per command, printed under its flags.
var examples = map[string]string{
	"vpncheck check":  "vpncheck check --regions cn-hangzhou,cn-shanghai --min-severity medium --format json",
	"vpncheck fix":    "vpncheck fix --connection vco-bp1example --inventory saved.json --format json",
	"vpncheck event":  "vpncheck event --file event.json --inventory saved.json --state ./state",
	"vpncheck rules":  "vpncheck rules --policies ./team-policies --format json",
	"vpncheck setup":  "vpncheck setup --state-bucket vpncheck-state-1234567890123456 --slack-secret vpncheck/slack --dry-run",
	"vpncheck doctor": "vpncheck doctor --function vpncheck",
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

func (p *policyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.dir, "policies", "", "add a team's Rego rules and data to the built-in set: a directory, or a bundle .tar.gz from policies/bundle.sh (`DIR|BUNDLE`; env "+envPolicyDir+")")
	fs.BoolVar(&p.noBuiltin, "no-builtin-policies", false, "with --policies: leave out the built-in rules")
}

// resolve fills in the directory from the environment when the flag was
// not given.
func (p *policyFlags) resolve(given map[string]bool, getenv func(string) string) {
	if !given["policies"] {
		p.dir = getenv(envPolicyDir)
	}
}

func cmdRules(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("vpncheck rules")
	format := fs.String("format", "text", "output `format`: "+strings.Join(output.Formats(), " or "))
	var pf policyFlags
	pf.register(fs)
	given, err := parseFlags(fs, args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	} else if err != nil {
		return fail(stderr, err)
	}
	pf.resolve(given, getenv)
	w, err := output.Get(*format)
	if err != nil {
		return fail(stderr, badinput.Errorf("--format: %v", err))
	}
	eng, err := loadEngine(ctx, pf.dir, pf.noBuiltin, getenv)
	if err != nil {
		return fail(stderr, err)
	}
	if err := w.Rules(stdout, eng.Rules()); err != nil {
		return fail(stderr, fmt.Errorf("write output: %w", err))
	}
	return exitOK
}

// checkConfig is everything a check needs, from flags and environment.
type checkConfig struct {
	runFlags
	inventories    []string
	region         string
	regions        []string // empty: none given
	excludeRegions []string
	concurrency    int
	saveInventory  string
	liveFlags      []string // flags given that only a live check reads
	estimateMax    int      // the policies' psk.estimate_max_length, for --save-inventory
	dumpInput      string
	org            orgSettings // member accounts (accounts.go); none: the caller's own account
}

func parseCheck(args []string, getenv func(string) string, stdout io.Writer) (*checkConfig, error) {
	cfg := &checkConfig{}
	fs := newFlagSet("vpncheck check")
	var src sourceFlags
	src.register(fs, cfg)
	cfg.runFlags.register(fs, "a region failed")
	fs.StringVar(&cfg.saveInventory, "save-inventory", "", "write what was collected to `DIR`, secrets redacted")
	fs.StringVar(&cfg.dumpInput, "dump-input", "", "write the policy inputs (what the rules see, keys reduced to facts) to `FILE` as a JSON array")
	var accounts orgFlags
	accounts.register(fs)
	given, err := parseFlags(fs, args, stdout)
	if err != nil {
		return nil, err
	}
	if err := cfg.runFlags.resolve(given, getenv); err != nil {
		return nil, err
	}
	if err := src.resolve(given, cfg, getenv); err != nil {
		return nil, err
	}
	if given["save-inventory"] {
		cfg.liveFlags = append(cfg.liveFlags, "--save-inventory")
	}
	if err := accounts.resolve(given, cfg, getenv); err != nil {
		return nil, err
	}
	return cfg, nil
}

// sourceFlags are where a command's connections come from (saved
// inventories, or regions read live), parsed the one way check and fix
// share.
type sourceFlags struct {
	inv              listFlag
	regions, exclude *string
}

func (s *sourceFlags) register(fs *flag.FlagSet, cfg *checkConfig) {
	fs.Var(&s.inv, "inventory", "read connections from a saved DescribeVpnConnections response `FILE` (repeatable)")
	fs.StringVar(&cfg.region, "region", "", "region `ID` of --inventory files that do not name their own")
	s.regions = fs.String("regions", "", "region IDs, comma-separated, or \"all\" (env "+envRegions+")")
	s.exclude = fs.String("exclude-regions", "", "regions to skip (env "+envExcludeRegions+")")
	fs.IntVar(&cfg.concurrency, "concurrency", defaultConcurrency, "regions scanned at once")
}

func (s *sourceFlags) resolve(given map[string]bool, cfg *checkConfig, getenv func(string) string) error {
	cfg.inventories = s.inv
	if cfg.region = strings.TrimSpace(cfg.region); cfg.region != "" {
		// Offline, only the built-in list can tell a region from a typo.
		if err := region.Check([]string{cfg.region}, nil); err != nil {
			return badinput.Errorf("--region: %v", err)
		}
	}
	for _, f := range []string{"regions", "exclude-regions"} {
		if given[f] {
			cfg.liveFlags = append(cfg.liveFlags, "--"+f)
		}
	}
	cfg.regions = pick(*s.regions, given["regions"], "regions", envRegions, getenv).list()
	cfg.excludeRegions = pick(*s.exclude, given["exclude-regions"], "exclude-regions", envExcludeRegions, getenv).list()
	if cfg.concurrency < 1 {
		return badinput.Errorf("--concurrency must be at least 1")
	}
	return nil
}

func cmdCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseCheck(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return fail(stderr, err)
	}
	ctx, cancel := cfg.withDeadline(ctx)
	defer cancel()
	b, err := cfg.plan(ctx, getenv)
	if err != nil {
		return fail(stderr, err)
	}
	if b.Plan.Engine != nil {
		cfg.estimateMax = b.Plan.Engine.Config().PSK.EstimateMaxLength // saved key facts judged as the run judges them
	}
	if b.Plan.Source, err = cfg.source(getenv); err != nil {
		return fail(stderr, err)
	}
	if cfg.dumpInput != "" {
		f, err := createPrivate(cfg.dumpInput)
		if err != nil {
			return fail(stderr, badinput.Errorf("--dump-input: %v", err))
		}
		defer f.Close()
		b.Plan.Inputs = f
	}
	plan, err := b.Build()
	return cfg.finish(cfg.org.execute(ctx, plan, err, ""), stdout, stderr) // run.Start, per member account with --accounts
}

// createPrivate creates or truncates name readable by its owner only, as
// saved inventories are: the policy inputs name every weak key's length and
// guess estimate. A file that existed loses its wider mode too; a device
// (--dump-input /dev/stdout) is left as it is.
func createPrivate(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// homeRegion is the command line's own region: ALIBABA_CLOUD_REGION_ID,
// else the aliyun CLI profile's.
func homeRegion(getenv func(string) string) string {
	if r := getenv("ALIBABA_CLOUD_REGION_ID"); r != "" {
		return r
	}
	return profileRegion(getenv)
}

// source is where the check's connections come from: the --inventory
// files, or the live API.
func (cfg *checkConfig) source(getenv func(string) string) (run.Source, error) {
	if len(cfg.inventories) > 0 {
		if len(cfg.liveFlags) > 0 {
			return nil, badinput.Errorf("%s cannot be used with --inventory: the files are read as they are (--region names the region of files that do not name their own)",
				strings.Join(cfg.liveFlags, " and "))
		}
		return saved.Files{Paths: cfg.inventories, Region: cfg.region}, nil
	}
	home := homeRegion(getenv)
	regions := cfg.regions
	if len(regions) == 0 && home != "" {
		regions = []string{home}
	}
	if len(regions) == 0 {
		return nil, badinput.Errorf("no region to scan: give --regions (or %s, ALIBABA_CLOUD_REGION_ID, or an aliyun CLI profile with a region), or --inventory", envRegions)
	}
	cred, err := chainCredential(getenv)
	if err != nil {
		return nil, err
	}
	var save alibaba.PageSaver
	if cfg.saveInventory != "" {
		cfg.fingerprints = true
		saver, err := saved.NewSaver(cfg.saveInventory, cfg.pepper)
		if err != nil {
			return nil, badinput.Errorf("--save-inventory: %v", err)
		}
		saver.EstimateMaxLength = cfg.estimateMax
		save = saver
	}
	return alibaba.Live{
		Config: alibaba.CollectorConfig{
			Credential:  cred,
			Endpoint:    vpcEndpoint(getenv),
			Concurrency: cfg.concurrency,
			Save:        save,
		},
		Regions: regions,
		Exclude: cfg.excludeRegions,
		Home:    home,
	}, nil
}
