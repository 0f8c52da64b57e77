package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/fleet"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/secrets"
	"github.com/vpncheck/vpncheck/checker/state"
	"github.com/vpncheck/vpncheck/notify/slack"
	"github.com/vpncheck/vpncheck/policies"
)

// The environment both modes read (docs/configuration.md). This file is the
// only place that reads it; a flag wins over its variable.
const (
	envRegions         = "VPNCHECK_REGIONS"
	envExcludeRegions  = "VPNCHECK_EXCLUDE_REGIONS"
	envVPCEndpoint     = "VPNCHECK_VPC_ENDPOINT"
	envPolicyDir       = "VPNCHECK_POLICY_DIR"
	envMinSeverity     = "VPNCHECK_MIN_SEVERITY"
	envSlackAllClear   = "VPNCHECK_SLACK_ALL_CLEAR"
	envState           = "VPNCHECK_STATE"
	envDigest          = "VPNCHECK_DIGEST"
	envOSSEndpoint     = "VPNCHECK_OSS_ENDPOINT"
	envSlackMax        = "VPNCHECK_SLACK_MAX_MESSAGES"
	envPolicyBundle    = "VPNCHECK_POLICY_BUNDLE"
	envPolicyPublicKey = "VPNCHECK_POLICY_PUBLIC_KEY"
	envNow             = "VPNCHECK_NOW"
	envKeyPepper       = "VPNCHECK_KEY_PEPPER"

	// Organisation-wide checks (accounts.go; docs/organisation.md).
	envAccounts        = "VPNCHECK_ACCOUNTS"
	envExcludeAccounts = "VPNCHECK_EXCLUDE_ACCOUNTS"
	envRoleName        = "VPNCHECK_ROLE_NAME"
	envRoleExternalID  = "VPNCHECK_ROLE_EXTERNAL_ID"
	envFanout          = "VPNCHECK_FANOUT"
	envRMEndpoint      = "VPNCHECK_RESOURCEMANAGER_ENDPOINT"
	envSTSEndpoint     = "VPNCHECK_STS_ENDPOINT"
	envFCEndpoint      = "VPNCHECK_FC_ENDPOINT"
	// Set by Function Compute: the function's name and qualifier, which
	// the fan-out invokes when the invocation's headers do not name them.
	envFCFunctionName = "FC_FUNCTION_NAME"
	envFCQualifier    = "FC_QUALIFIER"

	// Secrets from KMS Secrets Manager and the deploy commands (secrets.go,
	// setup.go; docs/deploy.md).
	envSlackSecret     = "VPNCHECK_SLACK_SECRET"
	envKeyPepperSecret = "VPNCHECK_KEY_PEPPER_SECRET"
	envKMSEndpoint     = "VPNCHECK_KMS_ENDPOINT"
	envRAMEndpoint     = "VPNCHECK_RAM_ENDPOINT"
)

// Findings for a SIEM and Cloud Config custom-rule evaluations (fc_ocsf.go,
// fc_config.go).
const (
	envLogFindings    = "VPNCHECK_LOG_FINDINGS"
	envConfigEndpoint = "VPNCHECK_CONFIG_ENDPOINT"
)

// defaultDigest is how often the open findings are sent whole.
const defaultDigest = 24 * time.Hour

// digestPeriod reads VPNCHECK_DIGEST: a duration ("24h", "168h"), or "off".
func digestPeriod(getenv func(string) string) (time.Duration, error) {
	v := strings.TrimSpace(getenv(envDigest))
	switch strings.ToLower(v) {
	case "":
		return defaultDigest, nil
	case "off", "0", "none":
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute {
		return 0, badinput.Errorf("%s: %q is not a duration of a minute or more (e.g. 24h), or off", envDigest, v)
	}
	return d, nil
}

// minKeyPepper is the shortest pepper accepted, in bytes: a pepper is
// worth having only when it cannot be guessed.
const minKeyPepper = 16

// keyPepper reads VPNCHECK_KEY_PEPPER, the secret HMAC key of the key
// fingerprints in the state and in saved inventories (nil when unset).
// Its value is never quoted, in an error or anywhere else.
func keyPepper(getenv func(string) string) ([]byte, error) {
	v := strings.TrimSpace(getenv(envKeyPepper))
	if v == "" {
		return nil, nil
	}
	if len(v) < minKeyPepper {
		return nil, badinput.Errorf("%s is %d bytes long: give a random secret of at least %d (e.g. openssl rand -base64 32)", envKeyPepper, len(v), minKeyPepper)
	}
	return []byte(v), nil
}

// unpepperedWarning is logged once per run that keeps key fingerprints
// without a pepper.
const unpepperedWarning = "key fingerprints are not peppered: whoever reads the state (or a saved inventory) can test guesses of a pre-shared key against them; set " + envKeyPepper + " to a random secret kept outside the state"

// runClock reads VPNCHECK_NOW, the run's clock for tests and replays (RFC
// 3339): it dates the lifecycle, the digest and exception expiry. Unset:
// the zero time, which the run reads as time.Now().
func runClock(getenv func(string) string) (time.Time, error) {
	v := strings.TrimSpace(getenv(envNow))
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, badinput.Errorf("%s: %q is not an RFC 3339 time (e.g. 2026-11-25T10:00:00Z)", envNow, v)
	}
	if t.Before(clockMin) || !t.Before(clockMax) {
		return time.Time{}, badinput.Errorf("%s: %q is out of range: give a time from %s to before %s",
			envNow, v, clockMin.Format(time.DateOnly), clockMax.Format(time.DateOnly))
	}
	return t, nil
}

// The range of VPNCHECK_NOW. The state stores times as RFC 3339, which
// has four-digit years, and a run stores times after its clock (a lease,
// a deadline): a clock near the end of year 9999 would fail only when the
// state is written, after the check.
var (
	clockMin = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	clockMax = time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkStateLocation refuses, before anything runs, a state location that
// can never work (state.CheckLocation), and an OSS one without a region
// to reach it in: a run without its state would report every finding as
// new, and post them all again, on every run.
func checkStateLocation(spec, name, region string) error {
	if spec = strings.TrimSpace(spec); spec == "" {
		return nil
	}
	if err := state.CheckLocation(spec); err != nil {
		return badinput.Errorf("%s: %v", name, err)
	}
	if strings.HasPrefix(spec, "oss://") && region == "" {
		return badinput.Errorf("%s: %s: no OSS region: set ALIBABA_CLOUD_REGION_ID (or an aliyun CLI profile with a region) to the bucket's region", name, spec)
	}
	return nil
}

// openState opens the state store of spec (a directory, or
// oss://bucket/prefix signed with cred in region). A bucket with versioning
// (create-only writes do not hold there) and a location that can never
// work are refused; any other failure to open (OSS unreachable, denied) is
// returned as stateErr, and the run goes on without state.
func openState(ctx context.Context, spec, region string, cred credentials.Credential, internal bool, getenv func(string) string) (store state.Store, stateErr, err error) {
	if spec = strings.TrimSpace(spec); spec == "" {
		return nil, nil, nil
	}
	opt := state.Options{Region: region, Credential: cred, Internal: internal, Endpoint: strings.TrimSpace(getenv(envOSSEndpoint))}
	if opt.Endpoint != "" {
		opt.Internal = false
	}
	store, err = state.Open(ctx, spec, opt)
	switch {
	case err == nil:
		return store, nil, nil
	case errors.Is(err, state.ErrVersioned), errors.Is(err, state.ErrInvalidKey), errors.Is(err, state.ErrLocation):
		return nil, nil, err
	}
	return nil, fmt.Errorf("open state %s: %w", spec, err), nil
}

// defaultConcurrency is how many regions are scanned at once. Each region
// has at most one call in flight, spaced by the collector's MinInterval, so
// the API's per-region limit (600 calls a minute) is never approached
// whatever this is; it only bounds open connections.
const defaultConcurrency = 8

// setting is one value from a flag or, when the flag is not given, its
// environment variable; errors name whichever was used.
type setting struct {
	value string
	name  string // "--min-severity" or "VPNCHECK_MIN_SEVERITY"
}

// pick returns the flag's value when it was given, else the variable's.
func pick(flagValue string, flagGiven bool, flagName, env string, getenv func(string) string) setting {
	if flagGiven {
		return setting{flagValue, "--" + flagName}
	}
	return setting{getenv(env), env}
}

func (s setting) list() []string { return splitComma(s.value) }

// severity reads a level (info..critical, any case); empty is info.
func (s setting) severity() (report.Severity, error) {
	if strings.TrimSpace(s.value) == "" {
		return report.Info, nil
	}
	v, err := report.ParseSeverity(s.value)
	if err != nil {
		return v, badinput.Errorf("%s: %v", s.name, err)
	}
	return v, nil
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

// vpcEndpoint is VPNCHECK_VPC_ENDPOINT, trimmed; empty: each region's own.
func vpcEndpoint(getenv func(string) string) string { return strings.TrimSpace(getenv(envVPCEndpoint)) }

// loadEngine loads the built-in policies, with those at path added (a
// directory or a bundle file from policies/bundle.sh), or alone with
// noBuiltin. With VPNCHECK_POLICY_PUBLIC_KEY set (PEM), only a bundle signed
// with its private key loads. A missing or unreadable path is bad input.
func loadEngine(ctx context.Context, path string, noBuiltin bool, getenv func(string) string) (*checker.Engine, error) {
	p := checker.Policies{Builtin: policies.FS, NoBuiltinRules: noBuiltin, PublicKey: getenv(envPolicyPublicKey)}
	if noBuiltin && path == "" {
		return nil, badinput.Errorf("--no-builtin-policies needs --policies DIR or BUNDLE")
	}
	if path != "" {
		if err := p.Open(path); err != nil {
			return nil, badinput.Errorf("%v", err)
		}
	}
	return checker.NewEngine(ctx, p)
}

// notifierFromEnv builds the Slack notifier from SLACK_WEBHOOK_URL, or
// SLACK_BOT_TOKEN with SLACK_CHANNEL (SLACK_API_URL overrides the Web API
// base, for tests), and VPNCHECK_SLACK_ALL_CLEAR. Neither configured is
// slack.ErrNotConfigured. In Function Compute build it once per instance:
// it remembers what each run key delivered, so a retried timer event does
// not post the same messages again.
func notifierFromEnv(getenv func(string) string) (*slack.Notifier, error) {
	cfg := slack.Config{
		WebhookURL: getenv("SLACK_WEBHOOK_URL"),
		Token:      getenv("SLACK_BOT_TOKEN"),
		Channel:    getenv("SLACK_CHANNEL"),
		APIURL:     strings.TrimSpace(getenv("SLACK_API_URL")),
	}
	if v := strings.TrimSpace(getenv(envSlackMax)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a number of messages of 1 or more", envSlackMax, v)
		}
		cfg.MaxMessages = n
	}
	if v := strings.TrimSpace(getenv(envSlackAllClear)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not true or false", envSlackAllClear, v)
		}
		cfg.AllClear = b
	}
	return slack.New(cfg)
}

// orgSettings are the organisation-wide settings (docs/organisation.md):
// fleet.Settings as read here, with the Function Compute fan-out mode.
type orgSettings struct {
	all      bool     // every member account of the resource directory
	accounts []string // else these
	exclude  []string

	roleName   string
	externalID string
	fanout     string // fanoutAsync or fanoutOff (Function Compute only)

	rmEndpoint  string // Resource Manager; "" is the public endpoint
	stsEndpoint string // STS, host[:port] (HTTPS only); "" is the public endpoint
	fcEndpoint  string // FC 3.0; "" is the function's own account and region
}

// orgSettingsFrom reads the accounts and the excluded accounts (a flag or
// its variable) and the rest from the environment.
func orgSettingsFrom(accounts, exclude setting, getenv func(string) string) (orgSettings, error) {
	o := orgSettings{
		roleName:    strings.TrimSpace(getenv(envRoleName)),
		externalID:  strings.TrimSpace(getenv(envRoleExternalID)),
		fanout:      strings.ToLower(strings.TrimSpace(getenv(envFanout))),
		rmEndpoint:  strings.TrimSpace(getenv(envRMEndpoint)),
		stsEndpoint: strings.TrimSpace(getenv(envSTSEndpoint)),
		fcEndpoint:  strings.TrimSpace(getenv(envFCEndpoint)),
	}
	for _, id := range accounts.list() {
		switch {
		case strings.EqualFold(id, "all"):
			o.all = true
		case isAccountID(id):
			if !slices.Contains(o.accounts, id) {
				o.accounts = append(o.accounts, id)
			}
		default:
			return o, badinput.Errorf("%s: %q is not an account id (digits) or all", accounts.name, id)
		}
	}
	if o.all && len(o.accounts) > 0 {
		return o, badinput.Errorf("%s: all and account ids together: give one or the other", accounts.name)
	}
	for _, id := range exclude.list() {
		if !isAccountID(id) {
			return o, badinput.Errorf("%s: %q is not an account id (digits)", exclude.name, id)
		}
		o.exclude = append(o.exclude, id)
	}
	if o.roleName == "" {
		o.roleName = fleet.DefaultRoleName
	}
	switch o.fanout {
	case "":
		o.fanout = fanoutAsync
	case fanoutAsync, fanoutOff:
	default:
		return o, badinput.Errorf("%s: %q is not async or off", envFanout, o.fanout)
	}
	return o, nil
}

// settings are o as the fleet package takes them.
func (o orgSettings) settings() fleet.Settings {
	return fleet.Settings{All: o.all, Accounts: o.accounts, Exclude: o.exclude, RoleName: o.roleName, ExternalID: o.externalID,
		RMEndpoint: o.rmEndpoint, STSEndpoint: o.stsEndpoint, FCEndpoint: o.fcEndpoint}
}

// secretPepper is the key-fingerprint pepper held in the secret that
// VPNCHECK_KEY_PEPPER_SECRET names, read through r; "" when the variable is
// unset (the plain VPNCHECK_KEY_PEPPER, read beside it, then applies).
func secretPepper(ctx context.Context, getenv func(string) string, r func() (secrets.Reader, error)) (pepper string, err error) {
	name := strings.TrimSpace(getenv(envKeyPepperSecret))
	if name == "" {
		return "", nil
	}
	reader, err := r()
	if err != nil {
		return "", fmt.Errorf("%s: %w", envKeyPepperSecret, err)
	}
	if strings.TrimSpace(getenv(envKeyPepper)) != "" {
		return "", badinput.Errorf("%s and %s are both set: keep the secret, unset the plain variable", envKeyPepperSecret, envKeyPepper)
	}
	if pepper, err = secrets.Pepper(ctx, reader, name); err != nil {
		return "", fmt.Errorf("%s: %w", envKeyPepperSecret, err)
	}
	if pepper = strings.TrimSpace(pepper); len(pepper) < minKeyPepper {
		return "", badinput.Errorf("%s: the secret %s holds %d bytes: give a random pepper of at least %d (e.g. openssl rand -base64 32)", envKeyPepperSecret, name, len(pepper), minKeyPepper)
	}
	return pepper, nil
}
