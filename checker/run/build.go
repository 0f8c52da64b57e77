package run

import (
	"context"
	"errors"

	"github.com/vpncheck/vpncheck/checker"
)

// A Builder builds a Plan, or finds the reason its run cannot start. Each
// step that can fail gives its reason to Fail, and the steps go on (the
// plan still needs its notifier, run key and clock to say so). Which
// reason is reported is decided here, once: the first one given; policies
// that did not load (Policies) only when nothing else is wrong.
type Builder struct {
	Plan             Plan
	err, policiesErr error
}

// Fail records why the run cannot start, unless a reason was given before.
func (b *Builder) Fail(err error) {
	if err != nil && b.err == nil {
		b.err = err
	}
}

// Policies sets the plan's compiled policies, or why they did not load.
// A later call replaces an earlier one (a team bundle over the built-in
// policies).
func (b *Builder) Policies(e *checker.Engine, err error) {
	b.Plan.Engine, b.policiesErr = e, err
}

// Build returns the plan, and the reason its run cannot start. With a
// reason, the plan is still the one to tell the notifier with (Start).
func (b *Builder) Build() (Plan, error) {
	if b.err != nil {
		return b.Plan, b.err
	}
	return b.Plan, b.policiesErr
}

// Start runs p, or, when err says why it cannot start, ends it with that
// reason, told to p's notifier like any failure (a broken checker must not
// look like a quiet one).
func Start(ctx context.Context, p Plan, err error) Outcome {
	if err != nil {
		return p.failed(ctx, Outcome{}, err)
	}
	return Execute(ctx, p)
}

// errNoPolicies is the reason of a plan built without policies.
var errNoPolicies = errors.New("no policies")
