package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/state"
	"github.com/vpncheck/vpncheck/policies"
	"github.com/vpncheck/vpncheck/policies/remote"
)

// instancePolicies loads what a Function Compute instance checks with: the
// built-in policies, plus VPNCHECK_POLICY_DIR (a directory or bundle in the
// code package), or VPNCHECK_POLICY_BUNDLE (a bundle in the code package,
// loaded now; or oss://bucket/key, loaded by the first invocation, whose
// credentials can read it, and re-checked by every invocation after).
func instancePolicies(ctx context.Context, getenv func(string) string) (*checker.Engine, *remotePolicies, error) {
	dir, bundle := strings.TrimSpace(getenv(envPolicyDir)), strings.TrimSpace(getenv(envPolicyBundle))
	switch {
	case dir != "" && bundle != "":
		return nil, nil, fmt.Errorf("%s and %s are both set: give the team's policies one way", envPolicyDir, envPolicyBundle)
	case strings.HasPrefix(bundle, "oss://"):
		return nil, &remotePolicies{url: bundle, publicKey: getenv(envPolicyPublicKey)}, nil
	case bundle != "":
		dir = bundle
	}
	eng, err := loadEngine(ctx, dir, false, getenv)
	return eng, nil, err
}

// remotePolicies is a team bundle in OSS. Each invocation asks OSS whether
// it changed (a conditional GET, 304 when not), so a new bundle takes
// effect without a redeploy. A bundle that does not load or verify leaves
// the instance with no rules: every invocation fails and says why, until a
// good bundle is uploaded. Never a silent fall-back to the built-in set.
type remotePolicies struct {
	url       string
	publicKey string

	mu     sync.Mutex
	etag   string
	engine *checker.Engine
	err    error
}

func (r *remotePolicies) current(ctx context.Context, opt state.Options) (*checker.Engine, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if opt.Credential == nil {
		return nil, fmt.Errorf("policy bundle %s: the invocation carries no credentials to read it", r.url)
	}
	data, etag, err := remote.Fetch(ctx, r.url, opt, r.etag)
	switch {
	case errors.Is(err, remote.ErrNotModified):
		return r.engine, r.err
	case err != nil && r.engine != nil:
		// OSS did not answer this time: the bundle last verified stays.
		return r.engine, nil
	case err != nil:
		return nil, fmt.Errorf("%w: policy bundle %s: %v", policies.ErrPolicy, r.url, err)
	}
	r.etag = etag
	r.engine, r.err = checker.NewEngine(ctx, checker.Policies{Builtin: policies.FS, Bundle: data, Source: r.url, PublicKey: r.publicKey})
	return r.engine, r.err
}
