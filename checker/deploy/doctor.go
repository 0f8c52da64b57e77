package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"

	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/secrets"
)

// Check is one line of doctor's report.
type Check struct {
	Name string
	OK   bool
	Fix  string // for a failed check: what to do
}

func (c Check) String() string {
	if c.OK {
		return "✓ " + c.Name
	}
	return "✗ " + c.Name + "\n    fix: " + c.Fix
}

// DoctorEnv is what doctor reads with, besides Env.
type DoctorEnv struct {
	Env
	FC      org.Caller     // FC 3.0 in the function's account and region
	Secrets secrets.Reader // KMS as the identity running doctor
	// Bundle loads the team policy bundle the function's environment
	// names (VPNCHECK_POLICY_BUNDLE, verified with
	// VPNCHECK_POLICY_PUBLIC_KEY): nil error when it loads. nil: not checked.
	Bundle func(ctx context.Context, env map[string]string) error
}

// function is what GetFunction answers that doctor reads.
type function struct {
	Role      string            `json:"role"`
	Env       map[string]string `json:"environmentVariables"`
	LogConfig *struct {
		Project  string `json:"project"`
		Logstore string `json:"logstore"`
	} `json:"logConfig"`
}

// Doctor checks a deployed setup, read-only but for one probe object in
// the state bucket (created and deleted), and prints one line per check.
// It reports whether every check passed, and an error when the checks
// could not be printed. The function's environment fills
// in what c leaves empty: the state bucket (VPNCHECK_STATE), the secrets,
// the member accounts (VPNCHECK_ACCOUNTS).
func Doctor(ctx context.Context, c Config, env DoctorEnv, w io.Writer) ([]Check, bool, error) {
	out := &stickyWriter{w: w}
	d := &doctor{c: c.WithDefaults(), env: env, out: out}
	d.run(ctx)
	ok := true
	for _, ch := range d.checks {
		ok = ok && ch.OK
	}
	if ok {
		fmt.Fprintf(out, "All %d checks passed.\n", len(d.checks))
	} else {
		failed := 0
		for _, ch := range d.checks {
			if !ch.OK {
				failed++
			}
		}
		fmt.Fprintf(out, "%s of %d failed.\n", plural(failed, "check"), len(d.checks))
	}
	if out.err != nil {
		return d.checks, ok, fmt.Errorf("print the checks: %w", out.err)
	}
	return d.checks, ok, nil
}

type doctor struct {
	c      Config
	env    DoctorEnv
	out    io.Writer
	checks []Check
}

func (d *doctor) add(name string, err error, fix string) bool {
	// Names and fixes quote the deployed function's configuration, errors
	// the cloud: all of it is printed as inert text.
	ch := Check{Name: oneLine(name), OK: err == nil}
	if err != nil {
		ch.Name += ": " + oneLine(err.Error())
		ch.Fix = oneLine(fix)
	}
	d.checks = append(d.checks, ch)
	fmt.Fprintln(d.out, ch)
	return ch.OK
}

const fixSetup = "run vpncheck setup (same flags as this doctor run) and apply its plan"

func (d *doctor) run(ctx context.Context) {
	c := &d.c
	fn, fnErr := d.function(ctx)
	if fnErr == nil {
		d.fillFromFunction(fn)
	}
	d.role(ctx)
	d.functionChecks(ctx, fn, fnErr)
	if c.StateBucket != "" {
		d.bucket(ctx)
	}
	if c.SlackSecret != "" {
		d.slackSecret(ctx)
	}
	if c.PepperSecret != "" {
		d.add("secret "+c.PepperSecret+" (key pepper) is readable and not empty", d.pepper(ctx), "create the secret in KMS Secrets Manager in "+c.Region+" with the pepper as its value")
	}
	if fnErr == nil && fn.Env["VPNCHECK_POLICY_BUNDLE"] != "" && d.env.Bundle != nil {
		d.add("policy bundle "+fn.Env["VPNCHECK_POLICY_BUNDLE"]+" loads and its signature verifies", d.env.Bundle(ctx, fn.Env),
			"rebuild it with policies/bundle.sh DIR OUT --signing-key KEY and upload it, or set VPNCHECK_POLICY_PUBLIC_KEY to the key that signed it")
	}
	if c.Org() {
		d.members(ctx)
	}
}

// fillFromFunction takes what the flags left empty from the deployed
// function's environment (names and locations, never secret values).
func (d *doctor) fillFromFunction(fn *function) {
	c := &d.c
	if c.StateBucket == "" {
		if spec, ok := strings.CutPrefix(fn.Env["VPNCHECK_STATE"], "oss://"); ok {
			b, p, _ := strings.Cut(spec, "/")
			c.StateBucket = b
			if p = strings.Trim(p, "/"); p != "" {
				c.StatePrefix = p
			}
		}
	}
	if c.SlackSecret == "" {
		c.SlackSecret = strings.TrimSpace(fn.Env["VPNCHECK_SLACK_SECRET"])
	}
	if c.PepperSecret == "" {
		c.PepperSecret = strings.TrimSpace(fn.Env["VPNCHECK_KEY_PEPPER_SECRET"])
	}
	if !c.Org() {
		for _, a := range strings.Split(fn.Env["VPNCHECK_ACCOUNTS"], ",") {
			switch a = strings.TrimSpace(a); {
			case strings.EqualFold(a, "all"):
				c.AllMembers = true
			case a != "":
				c.Members = append(c.Members, a)
			}
		}
	}
	if r := strings.TrimSpace(fn.Env["VPNCHECK_ROLE_NAME"]); r != "" && c.ReaderRole == DefaultReaderRole {
		c.ReaderRole = r
	}
}

func (d *doctor) role(ctx context.Context) {
	c := d.c
	r := ram{c: d.env.RAM}
	role, err := r.getRole(ctx, c.Role)
	if err == nil && role == nil {
		err = errors.New("it does not exist")
	} else if err == nil && !sameDocument(role.Trust, FunctionTrust()) {
		err = errors.New("its trust policy is not Function Compute alone")
	}
	if !d.add("role "+c.Role+" exists and trusts "+FCService+" only", err, fixSetup) {
		return
	}
	attached, err := r.attached(ctx, c.Role)
	for _, p := range c.policies() {
		perr := err
		if perr == nil {
			perr = policyState(ctx, r, p, attached)
		}
		d.add("role "+c.Role+" has policy "+p.name+" ("+p.why+")", perr, fixSetup)
	}
}

// policyState says what is wrong with policy p, or nil.
func policyState(ctx context.Context, r ram, p policy, attached map[string]bool) error {
	doc, found, err := r.getPolicy(ctx, p.name)
	switch {
	case err != nil:
		return err
	case !found:
		return errors.New("the policy does not exist")
	case !sameDocument(doc, p.document):
		return errors.New("its document differs from what vpncheck needs")
	case !attached["Custom:"+p.name]:
		return errors.New("not attached")
	}
	return nil
}

// fcParams are FC 3.0's ROA parameters for a GET of path.
func fcParams(action, path string) *openapiutil.Params {
	return &openapiutil.Params{
		Action: tea.String(action), Version: tea.String("2023-03-30"), Protocol: tea.String("HTTPS"),
		Pathname: tea.String(path), Method: tea.String("GET"), AuthType: tea.String("AK"), Style: tea.String("ROA"),
		ReqBodyType: tea.String("json"), BodyType: tea.String("json"),
	}
}

func decode(res map[string]any, v any) error {
	b, err := json.Marshal(res["body"])
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (d *doctor) function(ctx context.Context) (*function, error) {
	if d.env.FC == nil {
		return nil, errors.New("no FC client")
	}
	res, err := d.env.FC.CallAPI(ctx, fcParams("GetFunction", "/2023-03-30/functions/"+d.c.Function), &openapiutil.OpenApiRequest{})
	if err != nil {
		return nil, permission("fc:GetFunction", err)
	}
	var fn function
	if err := decode(res, &fn); err != nil {
		return nil, fmt.Errorf("decode GetFunction: %w", err)
	}
	return &fn, nil
}

func (d *doctor) functionChecks(ctx context.Context, fn *function, fnErr error) {
	c := d.c
	if !d.add("function "+c.Function+" is deployed in "+c.Region, fnErr, "run s deploy (docs/deploy.md)") {
		return
	}
	var err error
	if want := RoleARN(c.AccountID, c.Role); !strings.EqualFold(fn.Role, want) {
		err = fmt.Errorf("it runs as %q", fn.Role)
	}
	d.add("function "+c.Function+" runs as role "+c.Role, err, "export VPNCHECK_ROLE_ARN="+RoleARN(c.AccountID, c.Role)+" and run s deploy")

	err = nil
	switch {
	case fn.LogConfig == nil || fn.LogConfig.Project == "":
		err = errors.New("it has no log configuration")
	case fn.LogConfig.Project != c.LogProject || fn.LogConfig.Logstore != c.LogStore:
		err = fmt.Errorf("it logs to %s/%s, which %s does not grant", fn.LogConfig.Project, fn.LogConfig.Logstore, c.LogsPolicy)
	}
	d.add("function "+c.Function+" logs to "+c.LogProject+"/"+c.LogStore, err,
		"export VPNCHECK_LOG_PROJECT="+c.LogProject+" VPNCHECK_LOG_STORE="+c.LogStore+" and run s deploy, or give setup --log-project/--log-store")

	names := make([]string, 0, len(fn.Env))
	for k := range fn.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	err = nil
	fix := ""
	switch {
	case fn.Env["SLACK_WEBHOOK_URL"] != "" || fn.Env["SLACK_BOT_TOKEN"] != "":
		err = errors.New("a Slack credential is in plain text in the function's configuration")
		fix = "store it in a KMS secret, export VPNCHECK_SLACK_SECRET=NAME, unset SLACK_WEBHOOK_URL and SLACK_BOT_TOKEN, run vpncheck setup and s deploy"
	case strings.TrimSpace(fn.Env["VPNCHECK_SLACK_SECRET"]) == "":
		err = errors.New("no Slack destination: VPNCHECK_SLACK_SECRET is empty")
		fix = "export VPNCHECK_SLACK_SECRET=NAME (a KMS secret holding {\"webhook_url\": ...}) and run s deploy"
	}
	d.add("function environment ("+strings.Join(names, ", ")+") takes Slack from a KMS secret", err, fix)

	d.triggers(ctx)
}

type trigger struct {
	Name string `json:"triggerName"`
	Type string `json:"triggerType"`
}

func (d *doctor) triggers(ctx context.Context) {
	c := d.c
	var list struct {
		Triggers []trigger `json:"triggers"`
	}
	res, err := d.env.FC.CallAPI(ctx, fcParams("ListTriggers", "/2023-03-30/functions/"+c.Function+"/triggers"), &openapiutil.OpenApiRequest{Query: map[string]*string{"limit": tea.String("100")}})
	if err == nil {
		err = decode(res, &list)
	} else {
		err = permission("fc:ListTriggers", err)
	}
	for _, typ := range []string{"timer", "eventbridge"} {
		terr := err
		if terr == nil && !slices.ContainsFunc(list.Triggers, func(t trigger) bool { return t.Type == typ }) {
			terr = errors.New("none")
		}
		fix := "run s deploy (s.yaml declares it)"
		if typ == "eventbridge" {
			fix = "activate EventBridge, authorise its service-linked role for Function Compute, then run s deploy (docs/deploy.md)"
		}
		d.add("function "+c.Function+" has "+map[string]string{"timer": "a timer", "eventbridge": "an EventBridge"}[typ]+" trigger", terr, fix)
	}
}

func (d *doctor) bucket(ctx context.Context) {
	c := d.c
	b := c.StateBucket
	fix := "run vpncheck setup --state-bucket " + b
	cl := d.env.OSS
	if cl == nil {
		d.add("state bucket "+b, errors.New("no OSS client"), fix)
		return
	}
	info, err := cl.GetBucketInfo(ctx, &oss.GetBucketInfoRequest{Bucket: oss.Ptr(b)})
	if code, msg := ossCode(err); code == "AccessDenied" && strings.Contains(msg, "does not belong to you") {
		err = fmt.Errorf("it belongs to another account")
		fix = "choose a bucket of your own with --state-bucket, e.g. " + suggestBucket(b, c.AccountID) + ", and set VPNCHECK_STATE to it"
	} else if err != nil {
		err = ossErr("oss:GetBucketInfo", err)
	} else if v := oss.ToString(info.BucketInfo.Versioning); v == "Enabled" || v == "Suspended" {
		err = fmt.Errorf("versioning is %s: create-only writes do not hold", v)
		fix = "use a new bucket whose versioning was never enabled (vpncheck setup --state-bucket NEW) and set VPNCHECK_STATE to it"
	} else if acl := oss.ToString(info.BucketInfo.ACL); acl != "private" {
		err = fmt.Errorf("its ACL is %s", acl)
	}
	if !d.add("state bucket "+b+" exists, is yours, private and never versioned", err, fix) {
		return
	}
	d.add("state bucket "+b+" takes create-only writes under "+c.StatePrefix+"/ (probe as you)", probe(ctx, cl, b, c.StatePrefix),
		"check the bucket's policy and that versioning was never enabled; the function's policy is "+c.StatePolicy)
}

// probe writes one object create-only, checks that a second create of the
// same key is refused, and deletes it.
func probe(ctx context.Context, cl *oss.Client, bucket, prefix string) error {
	key := prefix + "/.doctor/probe-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	put := func() error {
		_, err := cl.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr(bucket), Key: oss.Ptr(key), ForbidOverwrite: oss.Ptr("true"), Body: bytes.NewReader([]byte("vpncheck doctor probe\n"))})
		return err
	}
	if err := put(); err != nil {
		return fmt.Errorf("put %s: %w", key, ossErr("oss:PutObject", err))
	}
	defer cl.DeleteObject(context.WithoutCancel(ctx), &oss.DeleteObjectRequest{Bucket: oss.Ptr(bucket), Key: oss.Ptr(key)})
	err := put()
	if code, _ := ossCode(err); code == "FileAlreadyExists" {
		return nil
	}
	if err == nil {
		return errors.New("a second create-only write of the same key succeeded: the bucket ignores x-oss-forbid-overwrite (versioning?)")
	}
	return fmt.Errorf("second put %s: %w", key, ossErr("oss:PutObject", err))
}

func (d *doctor) slackSecret(ctx context.Context) {
	c := d.c
	fix := "create the secret " + c.SlackSecret + " in KMS Secrets Manager in " + c.Region + ` holding {"webhook_url": "https://hooks.slack.com/services/..."} or {"bot_token": "xoxb-...", "channel": "..."}`
	var err error
	if d.env.Secrets == nil {
		err = errors.New("no KMS client")
	} else {
		var s secrets.Slack
		if s, err = secrets.ReadSlack(ctx, d.env.Secrets, c.SlackSecret); err == nil {
			d.add("secret "+c.SlackSecret+" holds a Slack "+s.Kind(), nil, "")
			return
		}
		if !errors.Is(err, secrets.ErrNotFound) {
			fix = `make its value {"webhook_url": "https://hooks.slack.com/services/..."} or {"bot_token": "xoxb-...", "channel": "..."}`
			if errors.Is(err, ErrNoPermission) || strings.Contains(err.Error(), "Forbidden") {
				fix = "grant kms:GetSecretValue on it to the identity running doctor, or check it in the KMS console"
			}
		}
	}
	d.add("secret "+c.SlackSecret+" holds a Slack webhook or bot token", err, fix)
}

func (d *doctor) pepper(ctx context.Context) error {
	if d.env.Secrets == nil {
		return errors.New("no KMS client")
	}
	_, err := secrets.Pepper(ctx, d.env.Secrets, d.c.PepperSecret)
	return err
}

func (d *doctor) members(ctx context.Context) {
	c := d.c
	plans, err := planMembers(ctx, c, d.env.Env)
	if !d.add("member accounts can be listed and entered", err, "run doctor as the management account (or a delegated administrator) with resourcemanager:ListAccounts and sts:AssumeRole on "+c.AccessRole) {
		return
	}
	for _, m := range plans {
		var err error
		switch {
		case m.failed != "":
			err = errors.New(m.failed)
		default:
			var wrong []string
			for _, s := range m.steps {
				if s.Change != None {
					wrong = append(wrong, s.What)
				}
			}
			if len(wrong) > 0 {
				err = errors.New("missing: " + strings.Join(wrong, "; "))
			}
		}
		d.add("account "+m.label()+" has role "+c.ReaderRole+" trusting "+RoleARN(c.AccountID, c.Role)+" with "+c.ReaderPolicy, err,
			"run vpncheck setup --member-accounts "+m.account.ID)
	}
}
