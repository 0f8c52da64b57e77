package checker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vpncheck/vpncheck/checker/report"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Inventory gathers the connections of one run, region by region, and the
// failures met while gathering them.
type Inventory struct {
	mu      sync.Mutex
	regions map[string]*regionData
	errors  []report.ErrorEntry
}

type regionData struct {
	byID     map[string]int // connection id -> index in conns
	conns    []*Connection
	declared int64 // the largest TotalCount an inventory file declared
	scanned  bool
	failed   bool
}

// NewInventory returns an empty inventory.
func NewInventory() *Inventory { return &Inventory{regions: map[string]*regionData{}} }

func (inv *Inventory) region(name string) *regionData {
	r := inv.regions[name]
	if r == nil {
		r = &regionData{byID: map[string]int{}}
		inv.regions[name] = r
	}
	return r
}

// add keeps one copy per connection id and region: the one read last.
func (inv *Inventory) add(region string, conns []*Connection) {
	r := inv.region(region)
	for _, c := range conns {
		c.Connection.Region = region
		if c.Connection.ID != "" {
			if i, ok := r.byID[c.Connection.ID]; ok {
				r.conns[i] = c
				continue
			}
			r.byID[c.Connection.ID] = len(r.conns)
		}
		r.conns = append(r.conns, c)
	}
}

// ReadFile reads a saved DescribeVpnConnections response. Its top-level
// RegionId names its region; else defaultRegion does, else report.UnknownRegion.
// Unreadable input is an error wrapping ErrUnreadable, and adds nothing.
func (inv *Inventory) ReadFile(path, defaultRegion string) error {
	f, err := os.Open(path)
	if err != nil {
		return unreadable{fmt.Sprintf("read inventory %s: %v", path, errors.Unwrap(err))}
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return unreadable{fmt.Sprintf("read inventory %s: is a directory", path)}
	}
	var conns []*Connection
	info, err := decodeInventory(f, func(raw *rawConnection) error {
		conns = append(conns, normalize(raw, ""))
		return nil
	})
	if err != nil {
		return fmt.Errorf("read inventory %s: %w", path, err)
	}
	region := info.RegionID
	if region == "" {
		region = defaultRegion
	}
	if region == "" {
		region = report.UnknownRegion
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.add(region, conns)
	r := inv.region(region)
	r.scanned = true
	if info.HasTotal {
		r.declared = max(r.declared, info.TotalCount)
	}
	return nil
}

// AddPage reads one DescribeVpnConnections response body collected live
// from region, and returns how many connections it held and the TotalCount
// it declared.
func (inv *Inventory) AddPage(region string, body io.Reader) (n int, total int64, err error) {
	var conns []*Connection
	info, err := decodeInventory(body, func(raw *rawConnection) error {
		conns = append(conns, normalize(raw, region))
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.add(region, conns)
	return len(conns), info.TotalCount, nil
}

// MarkScanned records that every page of region was read.
func (inv *Inventory) MarkScanned(region string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.region(region).scanned = true
}

// Fail records that region could not be scanned completely; what was read
// of it is still evaluated.
func (inv *Inventory) Fail(e report.ErrorEntry) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	r := inv.region(e.Region)
	r.failed = true
	inv.errors = append(inv.errors, e)
}

// RegionStatus is what an inventory holds of one region.
type RegionStatus struct {
	Name        string
	Connections int
	Scanned     bool // every page or file of it was read
	Failed      bool // it could not be read completely
}

// Regions reports each region of the inventory, sorted by name.
func (inv *Inventory) Regions() []RegionStatus {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	out := make([]RegionStatus, 0, len(inv.regions))
	for name, r := range inv.regions {
		out = append(out, RegionStatus{Name: name, Connections: len(r.conns), Scanned: r.scanned, Failed: r.failed})
	}
	slices.SortFunc(out, func(a, b RegionStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Errors returns the failures recorded so far.
func (inv *Inventory) Errors() []report.ErrorEntry {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return slices.Clone(inv.errors)
}

// Options tune a check.
type Options struct {
	MinSeverity report.Severity // findings below it are dropped
	Now         time.Time       // for exception expiry; zero means time.Now()
	AccountID   string          // stamped on findings when known
	// Inputs, when set, receives the policy inputs as a JSON array (the
	// documents the rules see), for writing fixtures and for `opa eval`.
	Inputs io.Writer
}

// Result is a report plus the run's secrets, kept for the last guard on
// outgoing messages.
type Result struct {
	Report  *report.Report
	Secrets *Secrets
	// Suppressed and Hidden are the findings left out of the report: by
	// an exception, and by the minimum severity. The lifecycle needs them:
	// a finding left out is not a finding fixed.
	Suppressed, Hidden []report.Finding
}

// Check evaluates every connection of the inventory and builds the report.
func (e *Engine) Check(ctx context.Context, inv *Inventory, opt Options) (*Result, error) {
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()

	names := make([]string, 0, len(inv.regions))
	for name := range inv.regions {
		names = append(names, name)
	}
	sort.Strings(names)

	rep := report.New()
	rep.AccountID = opt.AccountID
	rep.Errors = append(rep.Errors, inv.errors...)

	var conns []*Connection
	for _, name := range names {
		r := inv.regions[name]
		switch {
		case r.failed:
			rep.Summary.RegionsFailed = append(rep.Summary.RegionsFailed, name)
		case r.scanned:
			rep.Summary.RegionsScan = append(rep.Summary.RegionsScan, name)
		}
		if r.declared > int64(len(r.conns)) {
			rep.Errors = append(rep.Errors, report.ErrorEntry{
				Region: name, Code: report.CodeIncompleteInventory,
				Message: fmt.Sprintf("the inventory declares %d connections in %s but holds %d: the data is partial", r.declared, name, len(r.conns)),
			})
		}
		conns = append(conns, r.conns...)
	}
	for _, c := range conns {
		c.Connection.AccountID = opt.AccountID
		rep.Summary.Tunnels += len(c.Tunnels)
		if c.incomplete() {
			rep.Summary.Incomplete++
		}
	}
	rep.Summary.Connections = len(conns)

	secrets := analyzeKeys(conns, e.banned)
	if opt.Inputs != nil {
		if err := writeInputs(opt.Inputs, conns); err != nil {
			return nil, fmt.Errorf("write policy inputs: %w", err)
		}
	}

	// The inventory is consumed: each connection is dropped once judged, so
	// a large run does not hold its inputs and its findings at once.
	for _, r := range inv.regions {
		r.conns, r.byID = nil, nil
	}
	judged, notJudged, err := e.evaluateAll(ctx, conns, func(c *Connection, found []report.Finding) judgement {
		var j judgement
		tagged, bad := tagExceptions(&c.Connection)
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
		return j
	})
	if err != nil {
		return nil, err
	}
	rep.Errors = append(rep.Errors, notJudged...)
	n := 0
	for _, j := range judged {
		n += len(j.findings)
	}
	res := &Result{Report: rep, Secrets: secrets}
	rep.Findings = make([]report.Finding, 0, n)
	for _, j := range judged {
		if j.tagError != nil {
			rep.Errors = append(rep.Errors, *j.tagError)
		}
		res.Suppressed = append(res.Suppressed, j.suppressed...)
		res.Hidden = append(res.Hidden, j.hidden...)
		rep.Findings = append(rep.Findings, j.findings...)
	}
	rep.Summary.Suppressed, rep.Summary.BelowMinSeverity = len(res.Suppressed), len(res.Hidden)
	rep.Finish()
	rep.MarkAllNew(now)
	return res, nil
}

// evaluateSafely turns a panic in the evaluator into a policy error, so
// that it fails the run with a reason instead of crashing the process.
func (e *Engine) evaluateSafely(ctx context.Context, c *Connection) (fs []report.Finding, err error) {
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
}

// evaluateAll evaluates the connections on all cores with the one prepared
// query, hands each connection's findings to judge, and then lets go of
// the connection; results keep the connections' order. A policy error
// stops the run. When ctx ends first, what was judged is kept and the rest
// is named in notJudged (with the reason); a connection whose own
// evaluation passes the engine's per-query bound is named there too, and
// the others go on.
func (e *Engine) evaluateAll(ctx context.Context, conns []*Connection, judge func(*Connection, []report.Finding) judgement) (out []judgement, notJudged []report.ErrorEntry, err error) {
	out = make([]judgement, len(conns))
	done := make([]bool, len(conns))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		next     = make(chan int)
		errOnce  sync.Once
		firstErr error
	)
	for range min(runtime.GOMAXPROCS(0), max(len(conns), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fs, err := e.evaluateSafely(ctx, conns[i])
				switch {
				case errors.Is(err, errEvalTimeout):
					ci := &conns[i].Connection
					mu.Lock()
					notJudged = append(notJudged, report.ErrorEntry{Region: ci.Region, ConnectionID: ci.ID, Code: report.CodeNotJudged,
						Message: fmt.Sprintf("connection %s was not judged: evaluating its policies took longer than %s (evaluation.timeout_ms)", ci.ID, e.evalTimeout)})
					mu.Unlock()
					done[i] = true
					conns[i] = nil
				case err != nil && ctx.Err() != nil:
					// the run's deadline: named below with the others left
				case err != nil:
					errOnce.Do(func() { firstErr = err; cancel() })
				default:
					out[i] = judge(conns[i], fs)
					done[i] = true
					conns[i] = nil
				}
			}
		}()
	}
feed:
	for i := range conns {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
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
	return out, notJudged, nil
}

func writeInputs(w io.Writer, conns []*Connection) error {
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
