package checker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/keys"
	"github.com/vpncheck/vpncheck/checker/report"
	"golang.org/x/sync/errgroup"
)

// Options tune a check.
type Options struct {
	MinSeverity report.Severity // findings below it are dropped
	Now         time.Time       // for exception expiry; zero means time.Now()
	AccountID   string          // stamped on findings when known
	// Inputs, when set, receives the policy inputs as a JSON array (the
	// documents the rules see), for writing fixtures and for `opa eval`.
	Inputs io.Writer
	// KnownKeys, when set, asks for the fingerprints of the run's keys
	// (Result.KeyPrints), made with its Salt (a new one when it has none),
	// and counts in psk-reused the tunnels of its Tunnels that share a key
	// with one of the run: a change event's run sees one connection, and
	// the state the others. Its entries of the run's own connections are
	// left out (the run's read is newer). A whole run passes the Salt alone.
	KnownKeys *keys.KeyPrints
	// KeyPepper, when set, is the HMAC key of every key fingerprint the
	// run makes or compares (VPNCHECK_KEY_PEPPER): a secret that never
	// enters the state, a save, a report or a log. Fingerprints made with
	// another pepper, or none, never match the run's.
	KeyPepper []byte
	// PlanFor, when set, asks for the combined fix of the connection with
	// this id (in any region): Result.Plans.
	PlanFor string
	// Remember asks for Result.Memory: what the next run needs to judge
	// afresh only what changed. Previous is the last run's: a connection
	// whose policy input it knows, judged by the same policies, takes its
	// findings without evaluation, and a key it knows takes its estimate
	// without zxcvbn. It is used only with KnownKeys (its salt).
	Remember bool
	Previous *Memory
}

// Result is a report plus the run's secrets, kept for the last guard on
// outgoing messages.
type Result struct {
	Report  *report.Report
	Secrets *keys.Secrets
	// Suppressed and Hidden are the findings left out of the report: by
	// an exception, and by the minimum severity. The lifecycle needs them:
	// a finding left out is not a finding fixed.
	Suppressed, Hidden []report.Finding
	// KeyPrints are the fingerprints of the run's keys, by tunnel; nil
	// unless Options.KnownKeys asked for them.
	KeyPrints *keys.KeyPrints
	// Plans are the combined fixes Options.PlanFor asked for, one per
	// connection with that id that has findings, by region.
	Plans []Plan
	// Memory is what the next run needs (see Options.Remember); nil
	// unless asked for.
	Memory *Memory
}

// Check evaluates every connection of the inventory and builds the report.
func (e *Engine) Check(ctx context.Context, inv *inventory.Inventory, opt Options) (*Result, error) {
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep := report.New()
	rep.AccountID = opt.AccountID
	conns, release := inv.Take(rep)
	defer release()

	remember := opt.Remember && opt.KnownKeys != nil
	var rc *recall
	var prevKeys *keys.Estimates
	if remember {
		rc = &recall{prev: e.usablePrevious(opt.Previous), digests: make([]string, len(conns)), found: make([][]report.Finding, len(conns))}
		if rc.prev != nil {
			prevKeys = rc.prev.Keys
		}
	}
	an := keys.AnalyzeWith(ctx, conns, e.keyPolicy(opt.KeyPepper), opt.KnownKeys, prevKeys)
	secrets, prints := an.Secrets, an.Prints
	rep.Errors = append(rep.Errors, an.Errors...)
	salt := ""
	if prints != nil {
		salt = prints.Salt
	}
	if rc != nil && rc.prev != nil && rc.prev.Salt != salt {
		rc.prev = nil // another salt or pepper: judged afresh
	}
	if opt.Inputs != nil {
		if err := writeInputs(opt.Inputs, conns); err != nil {
			return nil, fmt.Errorf("write policy inputs: %w", err)
		}
	}

	// Each connection is dropped once judged (the inventory let go of them
	// in Take), so a large run does not hold its inputs and its findings at
	// once.
	judged, notJudged, afresh, err := e.evaluateAll(ctx, conns, rc, func(c *input.Connection, found []report.Finding) judgement {
		return e.judge(c, found, opt, now)
	})
	if err != nil {
		return nil, err
	}
	rep.Summary.JudgedAfresh = &afresh
	rep.Errors = append(rep.Errors, notJudged...)
	n := 0
	for _, j := range judged {
		n += len(j.findings)
	}
	res := &Result{Report: rep, Secrets: secrets, KeyPrints: prints}
	rep.Findings = make([]report.Finding, 0, n)
	for _, j := range judged {
		if j.tagError != nil {
			rep.Errors = append(rep.Errors, *j.tagError)
		}
		res.Suppressed = append(res.Suppressed, j.suppressed...)
		res.Hidden = append(res.Hidden, j.hidden...)
		if j.plan != nil {
			res.Plans = append(res.Plans, *j.plan)
		}
		rep.Findings = append(rep.Findings, j.findings...)
	}
	if rc != nil {
		res.Memory = rc.next(e.memoryRevision(), salt, an.Estimates)
	}
	rep.Summary.Suppressed, rep.Summary.BelowMinSeverity = len(res.Suppressed), len(res.Hidden)
	rep.PolicyRevision = e.policyRevision
	rep.Summary.DisabledRules = e.disabled
	rep.Finish()
	rep.MarkAllNew(now)
	return res, nil
}

// judge sorts one connection's findings: below the minimum severity,
// covered by an exception (the policy data's or the connection's tags'),
// or reported; and makes its combined fix when Options.PlanFor names it.
func (e *Engine) judge(c *input.Connection, found []report.Finding, opt Options, now time.Time) judgement {
	var j judgement
	tagged, bad := tagExceptions(&c.Connection, e.tagPolicy, now, e.ruleSeverity)
	j.tagError = bad
	for _, f := range found {
		if f.Severity < opt.MinSeverity {
			j.hidden = append(j.hidden, f)
			continue
		}
		if applyExceptions(&f, [][]Exception{e.exceptions, tagged}, now) {
			j.suppressed = append(j.suppressed, f)
			continue
		}
		j.findings = append(j.findings, f)
	}
	want := opt.PlanFor != "" && c.Connection.ID == opt.PlanFor
	j.plan = e.addFixes(c, j.findings, want)
	return j
}

// evaluateSafely turns a panic in the evaluator into a policy error, so
// that it fails the run with a reason instead of crashing the process.
func (e *Engine) evaluateSafely(ctx context.Context, c *input.Connection) (fs []report.Finding, err error) {
	defer func() {
		if r := recover(); r != nil {
			fs, err = nil, fmt.Errorf("%w: evaluating connection %s stopped on an internal error: %v", ErrPolicy, c.Connection.ID, r)
		}
	}()
	return e.evaluate(ctx, c)
}

// judgement is what became of one connection's findings.
type judgement struct {
	findings   []report.Finding
	suppressed []report.Finding // covered by an exception
	hidden     []report.Finding // below the minimum severity
	tagError   *report.ErrorEntry
	plan       *Plan // the combined fix Options.PlanFor asked for
}

// evaluateAll evaluates the connections on all cores with the one prepared
// query, hands each connection's findings to judge, and then lets go of
// the connection; results keep the connections' order. A policy error
// stops the run. When ctx ends first, what was judged is kept and the rest
// is named in notJudged (with the reason); a connection whose own
// evaluation passes the engine's per-query bound is named there too, and
// the others go on. With rc, a connection whose input the last run judged
// takes its findings from it, and each judged connection's are kept in
// rc; afresh counts the connections evaluated.
func (e *Engine) evaluateAll(ctx context.Context, conns []*input.Connection, rc *recall, judge func(*input.Connection, []report.Finding) judgement) (out []judgement, notJudged []report.ErrorEntry, afresh int, err error) {
	out = make([]judgement, len(conns))
	done := make([]bool, len(conns))
	var mu sync.Mutex // guards notJudged
	var evaluated atomic.Int64
	// A policy error cancels gctx, and Wait returns the first one.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range conns {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			var d string
			if rc != nil {
				d, _ = inputDigest(conns[i]) // an input that does not encode is judged afresh, and not kept
				if fs, ok := rc.findings(d, conns[i]); ok && d != "" {
					rc.digests[i], rc.found[i] = d, fs
					out[i] = judge(conns[i], fs)
					done[i] = true
					conns[i] = nil
					return nil
				}
			}
			evaluated.Add(1)
			fs, err := e.evaluateSafely(gctx, conns[i])
			switch {
			case errors.Is(err, errEvalTimeout):
				ci := &conns[i].Connection
				mu.Lock()
				notJudged = append(notJudged, report.ErrorEntry{Region: ci.Region, ConnectionID: ci.ID, Code: report.CodeNotJudged,
					Message: fmt.Sprintf("connection %s was not judged: evaluating its policies took longer than %s (evaluation.timeout_ms)", ci.ID, e.evalTimeout)})
				mu.Unlock()
				done[i] = true
				conns[i] = nil
			case err != nil && gctx.Err() != nil:
				// the run's deadline, or another connection's policy error:
				// named below with the others left, or dropped with the run
			case err != nil:
				return err
			default:
				if rc != nil {
					rc.digests[i], rc.found[i] = d, fs
				}
				out[i] = judge(conns[i], fs)
				done[i] = true
				conns[i] = nil
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, 0, err
	}
	// Connections the deadline left unjudged, counted per region.
	left := map[string][]string{}
	var regions []string
	for i, ok := range done {
		if ok {
			continue
		}
		ci := &conns[i].Connection
		if _, seen := left[ci.Region]; !seen {
			regions = append(regions, ci.Region)
		}
		left[ci.Region] = append(left[ci.Region], ci.ID)
	}
	for _, r := range regions {
		ids := left[r]
		shown := ids[:min(len(ids), 10)]
		more := ""
		if len(ids) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(ids)-len(shown))
		}
		notJudged = append(notJudged, report.ErrorEntry{Region: r, Code: report.CodeNotJudged,
			Message: fmt.Sprintf("%s in %s not judged: the run's deadline came first (%s%s)",
				report.Plural(len(ids), "connection"), r, strings.Join(shown, ", "), more)})
	}
	return out, notJudged, int(evaluated.Load()), nil
}

func writeInputs(w io.Writer, conns []*input.Connection) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	enc := json.NewEncoder(bw)
	for i, c := range conns {
		if i > 0 {
			bw.WriteString(",")
		}
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	bw.WriteString("]\n")
	return bw.Flush()
}
