package deploy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"

	"github.com/vpncheck/vpncheck/checker/org"
	"github.com/vpncheck/vpncheck/checker/output"
)

// Members reaches the member accounts of the resource directory.
type Members interface {
	// List returns every member account.
	List(ctx context.Context) ([]org.Account, error)
	// Enter returns a RAM caller in account, entered with the access role.
	Enter(ctx context.Context, account string) (org.Caller, error)
}

// Env is what setup and doctor reach the cloud with, as the identity
// running them.
type Env struct {
	RAM     org.Caller  // the account being set up
	OSS     *oss.Client // nil when no state bucket is named
	Members Members     // nil outside organisation mode
}

// Change is what a step does.
type Change int

// The changes a step can make, and its failure.
const (
	None   Change = iota // already as wanted
	Create               // the resource is created
	Update               // an existing resource is changed
	Attach               // a policy is attached to a role
	Failed               // the step cannot be made (member accounts)
)

var changeMark = map[Change]string{None: "=", Create: "+", Update: "~", Attach: "+", Failed: "!"}

// Step is one line of the plan.
type Step struct {
	Account string // the member account; "" the account being set up
	Change  Change
	What    string // e.g. "create role vpncheck"
	Why     string
	apply   func(ctx context.Context) error
}

func (s Step) String() string {
	line := changeMark[s.Change] + " " + s.What
	if s.Why != "" {
		line += ": " + s.Why
	}
	return line
}

// Options steer a setup run.
type Options struct {
	DryRun bool      // print the plan and stop
	Yes    bool      // apply without asking
	In     io.Reader // where the answer to "apply?" comes from
	Out    io.Writer // the plan, the progress and the report
}

// ErrDeclined is returned when the user does not confirm the plan.
var ErrDeclined = errors.New("setup: not confirmed, nothing changed")

// Result says what a setup run did.
type Result struct {
	Steps   []Step
	Changes int // steps that change something
	Applied int
	Members []MemberResult
}

// MemberResult is one member account's outcome.
type MemberResult struct {
	Account string
	Name    string
	Outcome string // "created", "already there", "failed"
	Why     string // for failed: the reason
}

// Setup prepares the account (and with c.Org(), the member accounts): it
// looks at what exists (read-only), prints the plan, and applies it when
// confirmed. A second run finds nothing to change and says so.
func Setup(ctx context.Context, c Config, env Env, o Options) (*Result, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	out := &stickyWriter{w: o.Out}
	o.Out = out
	res := &Result{}
	steps, err := planAccount(ctx, c, env)
	if err != nil {
		return nil, err
	}
	var members []memberPlan
	if c.Org() {
		if members, err = planMembers(ctx, c, env); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(o.Out, "Plan for account %s in %s:\n", c.AccountID, c.Region)
	for _, s := range steps {
		fmt.Fprintf(o.Out, "  %s\n", s)
		res.Steps = append(res.Steps, s)
		if s.Change != None {
			res.Changes++
		}
	}
	for _, m := range members {
		fmt.Fprintf(o.Out, "Member account %s:\n", m.label())
		for _, s := range m.steps {
			fmt.Fprintf(o.Out, "  %s\n", s)
			res.Steps = append(res.Steps, s)
			if s.Change != None && s.Change != Failed {
				res.Changes++
			}
		}
	}
	if c.ConfigRule != "" {
		fmt.Fprintf(o.Out, "Then create the Cloud Config rule %s (setup does not; it starts evaluating at once):\n  %s\n", c.ConfigRule, c.ConfigRuleCall())
	}
	if out.err != nil {
		return res, fmt.Errorf("print the plan (nothing changed): %w", out.err)
	}
	switch {
	case res.Changes == 0:
		fmt.Fprintln(o.Out, "Nothing to change.")
	case o.DryRun:
		fmt.Fprintf(o.Out, "Dry run: %s, nothing changed.\n", plural(res.Changes, "change"))
	case !o.Yes && !confirm(o, res.Changes):
		return res, ErrDeclined
	default:
		if err := apply(ctx, steps, o.Out, &res.Applied); err != nil {
			return res, err
		}
		for i := range members {
			if members[i].failed == "" {
				if err := apply(ctx, members[i].steps, o.Out, &res.Applied); err != nil {
					members[i].failed = oneLine(err.Error())
				}
			}
		}
	}
	if c.Org() {
		res.Members = report(members, o.Out, res.Changes > 0 && !o.DryRun)
	}
	if out.err != nil {
		return res, fmt.Errorf("print the outcome of setup: %w", out.err)
	}
	return res, nil
}

// stickyWriter keeps the first write error, so that output nobody saw (a
// closed pipe) fails the command instead of passing in silence.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// confirm asks before changing anything, as terraform apply does.
func confirm(o Options, n int) bool {
	fmt.Fprintf(o.Out, "Apply %s? Only 'yes' is accepted: ", plural(n, "change"))
	if o.In == nil {
		fmt.Fprintln(o.Out)
		return false
	}
	line, _ := bufio.NewReader(o.In).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}

// apply runs the steps that change something, in order, and stops at the
// first failure.
func apply(ctx context.Context, steps []Step, out io.Writer, applied *int) error {
	for _, s := range steps {
		if s.Change == None || s.Change == Failed || s.apply == nil {
			continue
		}
		if err := s.apply(ctx); err != nil {
			return fmt.Errorf("apply the plan: %w", err)
		}
		*applied++
		prefix := ""
		if s.Account != "" {
			prefix = "account " + s.Account + ": "
		}
		fmt.Fprintf(out, "done: %s%s\n", prefix, s.What)
	}
	return nil
}

// planAccount looks at the account being set up and returns its steps.
func planAccount(ctx context.Context, c Config, env Env) ([]Step, error) {
	r := ram{c: env.RAM}
	var steps []Step
	role, err := r.getRole(ctx, c.Role)
	if err != nil {
		return nil, err
	}
	trust := FunctionTrust()
	switch {
	case role == nil:
		steps = append(steps, Step{Change: Create, What: "create role " + c.Role, Why: "the function's identity, trusted by " + FCService + " only",
			apply: func(ctx context.Context) error {
				return r.createRole(ctx, c.Role, trust, "vpncheck function (Function Compute); made by vpncheck setup")
			}})
	case !sameDocument(role.Trust, trust):
		steps = append(steps, Step{Change: Update, What: "update the trust policy of role " + c.Role, Why: "it must trust " + FCService + " only",
			apply: func(ctx context.Context) error { return r.updateTrust(ctx, c.Role, trust) }})
	default:
		steps = append(steps, Step{What: "role " + c.Role, Why: "already there, trusted by " + FCService})
	}
	attached := map[string]bool{}
	if role != nil {
		if attached, err = r.attached(ctx, c.Role); err != nil {
			return nil, err
		}
	}
	for _, p := range c.policies() {
		s, err := policyStep(ctx, r, "", p)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s, attachStep(r, "", c.Role, p.name, attached))
	}
	if c.StateBucket != "" {
		bs, err := bucketSteps(ctx, c, env.OSS)
		if err != nil {
			return nil, err
		}
		steps = append(steps, bs...)
	}
	return steps, nil
}

// policyStep creates the custom policy p, or makes p's document its
// default version when it differs.
func policyStep(ctx context.Context, r ram, account string, p policy) (Step, error) {
	doc, found, err := r.getPolicy(ctx, p.name)
	if err != nil {
		return Step{}, err
	}
	switch {
	case !found:
		return Step{Account: account, Change: Create, What: "create policy " + p.name, Why: p.why,
			apply: func(ctx context.Context) error { return r.createPolicy(ctx, p.name, p.document, "vpncheck: "+p.why) }}, nil
	case !sameDocument(doc, p.document):
		return Step{Account: account, Change: Update, What: "update policy " + p.name, Why: "its document differs from what vpncheck needs: a new default version (" + p.why + ")",
			apply: func(ctx context.Context) error { return r.newVersion(ctx, p.name, p.document) }}, nil
	}
	return Step{Account: account, What: "policy " + p.name, Why: "already there"}, nil
}

func attachStep(r ram, account, role, name string, attached map[string]bool) Step {
	if attached["Custom:"+name] {
		return Step{Account: account, What: "policy " + name + " attached to role " + role, Why: "already there"}
	}
	return Step{Account: account, Change: Attach, What: "attach policy " + name + " to role " + role,
		apply: func(ctx context.Context) error { return r.attach(ctx, role, name) }}
}

// memberPlan is one member account's steps, or why it has none.
type memberPlan struct {
	account org.Account
	steps   []Step
	failed  string
}

// label names the account for the terminal: its id and display name are
// Resource Directory's, so they are printed as inert text.
func (m memberPlan) label() string {
	id := output.TerminalText(m.account.ID, maxName)
	if m.account.DisplayName != "" {
		return id + " (" + output.TerminalText(m.account.DisplayName, maxName) + ")"
	}
	return id
}

// planMembers enters every member account and plans its reader role. An
// account that cannot be entered or read is planned as failed, with why;
// the others go on.
func planMembers(ctx context.Context, c Config, env Env) ([]memberPlan, error) {
	if env.Members == nil {
		return nil, errors.New("member accounts: no access to the resource directory")
	}
	var accounts []org.Account
	if c.AllMembers {
		list, err := env.Members.List(ctx)
		if err != nil {
			return nil, fmt.Errorf("list member accounts: %w", permission("resourcemanager:ListAccounts", err))
		}
		for _, a := range list {
			if a.ID != c.AccountID {
				accounts = append(accounts, a)
			}
		}
	} else {
		for _, id := range c.Members {
			if id != c.AccountID {
				accounts = append(accounts, org.Account{ID: id})
			}
		}
	}
	slices.SortFunc(accounts, func(a, b org.Account) int { return strings.Compare(a.ID, b.ID) })
	var plans []memberPlan
	for _, a := range accounts {
		m := memberPlan{account: a}
		if err := planMember(ctx, c, env, &m); err != nil {
			m.failed = oneLine(err.Error())
			m.steps = []Step{{Account: a.ID, Change: Failed, What: "role " + c.ReaderRole, Why: "cannot be set up: " + m.failed}}
		}
		plans = append(plans, m)
	}
	return plans, nil
}

func planMember(ctx context.Context, c Config, env Env, m *memberPlan) error {
	id := m.account.ID
	caller, err := env.Members.Enter(ctx, id)
	if err != nil {
		return fmt.Errorf("enter with %s: %w", c.AccessRole, err)
	}
	r := ram{c: caller, account: id}
	role, err := r.getRole(ctx, c.ReaderRole)
	if err != nil {
		return err
	}
	trust := c.ReaderTrust()
	switch {
	case role == nil:
		m.steps = append(m.steps, Step{Account: id, Change: Create, What: "create role " + c.ReaderRole,
			Why: "trusted by " + RoleARN(c.AccountID, c.Role) + " only" + externalNote(c),
			apply: func(ctx context.Context) error {
				return r.createRole(ctx, c.ReaderRole, trust, "vpncheck reader, assumed by the vpncheck function of "+c.AccountID+"; made by vpncheck setup")
			}})
	case !sameDocument(role.Trust, trust):
		m.steps = append(m.steps, Step{Account: id, Change: Update, What: "update the trust policy of role " + c.ReaderRole,
			Why:   "it must trust " + RoleARN(c.AccountID, c.Role) + " only" + externalNote(c),
			apply: func(ctx context.Context) error { return r.updateTrust(ctx, c.ReaderRole, trust) }})
	default:
		m.steps = append(m.steps, Step{Account: id, What: "role " + c.ReaderRole, Why: "already there"})
	}
	attached := map[string]bool{}
	if role != nil {
		if attached, err = r.attached(ctx, c.ReaderRole); err != nil {
			return err
		}
	}
	p := policy{c.ReaderPolicy, ReaderDocument(), "read VPN connections and regions, nothing else"}
	s, err := policyStep(ctx, r, id, p)
	if err != nil {
		return err
	}
	m.steps = append(m.steps, s, attachStep(r, id, c.ReaderRole, p.name, attached))
	return nil
}

func externalNote(c Config) string {
	if c.ExternalID != "" {
		return ", with the external id"
	}
	return ""
}

// report prints and returns each member account's outcome.
func report(members []memberPlan, out io.Writer, applied bool) []MemberResult {
	var res []MemberResult
	fmt.Fprintln(out, "Member accounts:")
	for _, m := range members {
		r := MemberResult{Account: m.account.ID, Name: m.account.DisplayName, Outcome: "already there"}
		changes, creates := 0, 0
		for _, s := range m.steps {
			if s.Change != None {
				changes++
			}
			if s.Change == Create {
				creates++
			}
		}
		switch {
		case m.failed != "":
			r.Outcome, r.Why = "failed", m.failed
		case creates > 0 && applied:
			r.Outcome = "created"
		case changes > 0 && applied:
			r.Outcome = "updated"
		case changes > 0:
			r.Outcome = "to be changed"
		}
		line := "  " + m.label() + ": " + r.Outcome
		if r.Why != "" {
			line += " (" + r.Why + ")"
		}
		fmt.Fprintln(out, line)
		res = append(res, r)
	}
	return res
}

// oneLine is an error (often quoting the cloud) as inert terminal text.
func oneLine(s string) string { return output.TerminalText(s, maxLine) }

// The longest account name and error line printed, in characters.
const (
	maxName = 128
	maxLine = 1000
)
