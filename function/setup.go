package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/deploy"
	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/state"
	"github.com/vpncheck/vpncheck/policies"
)

// deployFlags are the names setup creates and doctor checks, each with
// its documented default (docs/deploy.md).
type deployFlags struct {
	cfg     deploy.Config
	members string
}

func (f *deployFlags) register(fs *flag.FlagSet) {
	c := &f.cfg
	fs.StringVar(&c.Region, "region", "", "the function's `REGION` (env VPNCHECK_DEPLOY_REGION, else ALIBABA_CLOUD_REGION_ID, else the aliyun CLI profile's)")
	fs.StringVar(&c.Role, "role", deploy.DefaultRole, "the function's RAM `ROLE`")
	fs.StringVar(&c.ReaderPolicy, "reader-policy", deploy.DefaultReaderPolicy, "`NAME` of the policy to read VPN connections and regions")
	fs.StringVar(&c.LogsPolicy, "logs-policy", deploy.DefaultLogsPolicy, "`NAME` of the policy to write the function's logs")
	fs.StringVar(&c.LogProject, "log-project", "", "the function's log `PROJECT` (env VPNCHECK_LOG_PROJECT; default vpncheck-logs-ACCOUNT_ID)")
	fs.StringVar(&c.LogStore, "log-store", "", "the function's `LOGSTORE` (env VPNCHECK_LOG_STORE; default "+deploy.DefaultLogStore+")")
	fs.StringVar(&c.StateBucket, "state-bucket", "", "the state `BUCKET`, created private, unversioned and encrypted (default: the bucket of VPNCHECK_STATE=oss://BUCKET/PREFIX; none: no bucket, no state policy)")
	fs.StringVar(&c.StatePrefix, "state-prefix", "", "the state's `PREFIX` in the bucket (default: VPNCHECK_STATE's, else "+deploy.DefaultStatePrefix+")")
	fs.StringVar(&c.BundleKey, "bundle-key", "", "`KEY` of a policy bundle in the state bucket the function may read")
	fs.StringVar(&c.StatePolicy, "state-policy", deploy.DefaultStatePolicy, "`NAME` of the policy for the state bucket")
	fs.StringVar(&c.SlackSecret, "slack-secret", "", "KMS secret `NAME` holding the Slack webhook or bot token (env "+envSlackSecret+")")
	fs.StringVar(&c.PepperSecret, "pepper-secret", "", "KMS secret `NAME` holding the key-fingerprint pepper (env "+envKeyPepperSecret+")")
	fs.StringVar(&c.SecretsPolicy, "secrets-policy", deploy.DefaultSecretsPolicy, "`NAME` of the policy to read the secrets")
	fs.StringVar(&c.Function, "function", deploy.DefaultFunction, "the function's `NAME`")
	fs.StringVar(&f.members, "member-accounts", "", "`all` member accounts of the resource directory, or account IDs, comma-separated: the reader role in each (env "+envAccounts+")")
	fs.StringVar(&c.ReaderRole, "reader-role", "", "the reader `ROLE` in member accounts (env "+envRoleName+"; default "+deploy.DefaultReaderRole+")")
	fs.StringVar(&c.AccessRole, "access-role", deploy.DefaultAccessRole, "the `ROLE` setup enters member accounts with")
	fs.StringVar(&c.ExternalID, "external-id", "", "external `ID` the reader roles require (env "+envRoleExternalID+")")
	fs.StringVar(&c.CoordinatorPolicy, "coordinator-policy", deploy.DefaultCoordinatorPolicy, "`NAME` of the policy to list, enter and invoke for member accounts")
	fs.StringVar(&c.ConfigRule, "config-rule", "", "`NAME` of a Cloud Config custom rule the function answers: its role may call PutEvaluations, and setup prints the call that creates the rule (docs/integrations.md)")
	fs.StringVar(&c.ConfigPolicy, "config-policy", deploy.DefaultConfigPolicy, "`NAME` of the policy to answer the Cloud Config rule")
}

// resolve fills in what the flags left to the environment.
func (f *deployFlags) resolve(given map[string]bool, getenv func(string) string) error {
	c := &f.cfg
	env := func(p *string, flagName, name string) {
		if !given[flagName] {
			*p = strings.TrimSpace(getenv(name))
		}
	}
	env(&c.LogProject, "log-project", "VPNCHECK_LOG_PROJECT")
	env(&c.LogStore, "log-store", "VPNCHECK_LOG_STORE")
	env(&c.SlackSecret, "slack-secret", envSlackSecret)
	env(&c.PepperSecret, "pepper-secret", envKeyPepperSecret)
	env(&c.ReaderRole, "reader-role", envRoleName)
	env(&c.ExternalID, "external-id", envRoleExternalID)
	if c.Region == "" {
		if c.Region = strings.TrimSpace(getenv("VPNCHECK_DEPLOY_REGION")); c.Region == "" {
			c.Region = homeRegion(getenv)
		}
	}
	if c.Region == "" {
		return badinput.Errorf("no region: give --region (or VPNCHECK_DEPLOY_REGION, ALIBABA_CLOUD_REGION_ID)")
	}
	if spec, ok := strings.CutPrefix(strings.TrimSpace(getenv(envState)), "oss://"); ok {
		b, p, _ := strings.Cut(spec, "/")
		if !given["state-bucket"] {
			c.StateBucket = b
		}
		if !given["state-prefix"] {
			c.StatePrefix = strings.Trim(p, "/")
		}
	}
	members := setting{f.members, "--member-accounts"}
	if !given["member-accounts"] {
		members = setting{getenv(envAccounts), envAccounts}
	}
	o, err := orgSettingsFrom(members, setting{}, getenv)
	if err != nil {
		return err
	}
	c.AllMembers, c.Members = o.all, o.accounts
	return c.WithDefaults().Validate()
}

// parseDeploy parses the flags setup and doctor share, plus a command's
// own (more, when not nil), and fills in what they left to the
// environment: the one way both read them.
func parseDeploy(name string, args []string, getenv func(string) string, stdout io.Writer, more func(*flag.FlagSet)) (deploy.Config, error) {
	fs := newFlagSet(name)
	var f deployFlags
	f.register(fs)
	if more != nil {
		more(fs)
	}
	given, err := parseFlags(fs, args, stdout)
	if err != nil {
		return deploy.Config{}, err
	}
	if err := f.resolve(given, getenv); err != nil {
		return deploy.Config{}, badinput.Errorf("%v", err)
	}
	return f.cfg, nil
}

// deployEnv builds the clients setup and doctor use, as the identity of
// the credential chain: RAM and STS (GetCallerIdentity) always, OSS with a
// state bucket, the resource directory in organisation mode.
func deployEnv(ctx context.Context, c *deploy.Config, getenv func(string) string) (deploy.Env, credentials.Credential, error) {
	var env deploy.Env
	cred, err := chainCredential(getenv)
	if err != nil {
		return env, nil, err
	}
	ep := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	sts, err := org.NewClient(cred, ep(envSTSEndpoint, "sts.aliyuncs.com"), org.ClientOptions{})
	if err != nil {
		return env, nil, badinput.Errorf("%s: %v", envSTSEndpoint, err)
	}
	if c.AccountID, err = deploy.CallerAccount(ctx, sts); err != nil {
		return env, nil, err
	}
	if env.RAM, err = org.NewClient(cred, ep(envRAMEndpoint, deploy.RAMEndpoint), org.ClientOptions{}); err != nil {
		return env, nil, badinput.Errorf("%s: %v", envRAMEndpoint, err)
	}
	if c.StateBucket != "" {
		env.OSS = state.NewOSSClient(state.Options{Region: c.Region, Credential: cred, Endpoint: strings.TrimSpace(getenv(envOSSEndpoint))})
	}
	if c.Org() {
		env.Members = deploy.Directory{Base: cred, AccessRole: c.AccessRole, RMEndpoint: strings.TrimSpace(getenv(envRMEndpoint)),
			STSEndpoint: strings.TrimSpace(getenv(envSTSEndpoint)), RAMEndpoint: strings.TrimSpace(getenv(envRAMEndpoint))}
	}
	return env, cred, nil
}

// cliStdin is where setup reads its confirmation (tests replace it).
var cliStdin io.Reader = os.Stdin

// Exit statuses of setup and doctor beyond the common ones.
const (
	exitDeclined     = 1 // setup: the plan was not confirmed; doctor: a check failed
	exitMemberFailed = 3 // setup: a member account could not be set up
)

func cmdSetup(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	var dryRun, yes *bool
	cfg, err := parseDeploy("vpncheck setup", args, getenv, stdout, func(fs *flag.FlagSet) {
		dryRun = fs.Bool("dry-run", false, "print the plan and change nothing")
		yes = fs.Bool("yes", false, "apply the plan without asking")
	})
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	} else if err != nil {
		return fail(stderr, err)
	}
	env, _, err := deployEnv(ctx, &cfg, getenv)
	if err != nil {
		return fail(stderr, err)
	}
	res, err := deploy.Setup(ctx, cfg, env, deploy.Options{DryRun: *dryRun, Yes: *yes, In: stdin, Out: stdout})
	if errors.Is(err, deploy.ErrDeclined) {
		fmt.Fprintln(stderr, "vpncheck: not confirmed: nothing changed")
		return exitDeclined
	}
	if err != nil {
		return fail(stderr, err)
	}
	for _, m := range res.Members {
		if m.Outcome == "failed" {
			fmt.Fprintln(stderr, "vpncheck: setup of some member accounts failed (see the report)")
			return exitMemberFailed
		}
	}
	if !*dryRun && res.Changes > 0 {
		c := cfg.WithDefaults()
		if _, err := fmt.Fprintf(stdout, "Next: export VPNCHECK_ROLE_ARN=%s VPNCHECK_LOG_PROJECT=%s VPNCHECK_LOG_STORE=%s, then s deploy and vpncheck doctor.\n",
			deploy.RoleARN(c.AccountID, c.Role), c.LogProject, c.LogStore); err != nil {
			return fail(stderr, fmt.Errorf("print the next steps: %w", err))
		}
	}
	return exitOK
}

func cmdDoctor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseDeploy("vpncheck doctor", args, getenv, stdout, nil)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	} else if err != nil {
		return fail(stderr, err)
	}
	env, cred, err := deployEnv(ctx, &cfg, getenv)
	if err != nil {
		return fail(stderr, err)
	}
	denv := deploy.DoctorEnv{Env: env}
	ossEndpoint := strings.TrimSpace(getenv(envOSSEndpoint))
	if denv.OSS == nil { // the bucket may come from the function's environment
		denv.OSS = state.NewOSSClient(state.Options{Region: cfg.Region, Credential: cred, Endpoint: ossEndpoint})
	}
	if denv.Members == nil {
		denv.Members = deploy.Directory{Base: cred, AccessRole: cfg.AccessRole, RMEndpoint: strings.TrimSpace(getenv(envRMEndpoint)),
			STSEndpoint: strings.TrimSpace(getenv(envSTSEndpoint)), RAMEndpoint: strings.TrimSpace(getenv(envRAMEndpoint))}
	}
	fcEP := strings.TrimSpace(getenv(envFCEndpoint))
	if fcEP == "" {
		fcEP = org.FCEndpoint(cfg.AccountID, cfg.Region)
	}
	if denv.FC, err = org.NewClient(cred, fcEP, org.ClientOptions{}); err != nil {
		return fail(stderr, badinput.Errorf("%s: %v", envFCEndpoint, err))
	}
	if denv.Secrets, err = kmsReader(cred, cfg.Region, getenv); err != nil {
		return fail(stderr, err)
	}
	denv.Bundle = func(ctx context.Context, fnEnv map[string]string) error {
		return checkBundle(ctx, fnEnv, state.Options{Region: cfg.Region, Credential: cred, Endpoint: ossEndpoint})
	}
	_, ok, err := deploy.Doctor(ctx, cfg, denv, stdout)
	if err != nil {
		return fail(stderr, err)
	}
	if !ok {
		return exitDeclined
	}
	return exitOK
}

// checkBundle loads the bundle the function's environment names, verified
// with its public key, as the function would.
func checkBundle(ctx context.Context, fnEnv map[string]string, opt state.Options) error {
	url, key := strings.TrimSpace(fnEnv[envPolicyBundle]), fnEnv[envPolicyPublicKey]
	if strings.HasPrefix(url, "oss://") {
		_, err := (&remotePolicies{url: url, publicKey: key}).current(ctx, opt)
		return err
	}
	if _, err := os.Stat(url); err != nil {
		return fmt.Errorf("%s is read from the code package: not found here (%v)", url, err)
	}
	p := checker.Policies{Builtin: policies.FS, PublicKey: key}
	if err := p.Open(url); err != nil {
		return err
	}
	_, err := checker.NewEngine(ctx, p)
	return err
}
