package checker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/keys"
	"github.com/vpncheck/vpncheck/checker/report"

	"golang.org/x/sync/errgroup"
)

// Inventory gathers the connections of one run, region by region, and the
// failures met while gathering them.
type Inventory struct {
	mu      sync.Mutex
	regions map[string]*regionData
	// errors is what a check reports: failures, then what refresh derives
	// (connections without an id, incomplete listings of files).
	errors   []report.ErrorEntry
	failures []report.ErrorEntry     // Fail's entries and notes on what was read, in order
	files    map[listingKey]*listing // listings read from inventory files
}

type regionData struct {
	byID    map[string]int // connection id -> index in conns
	conns   []*input.Connection
	scanned bool
	failed  bool
	noID    int // connections without an id, numbered apart
}

// NewInventory returns an empty inventory.
func NewInventory() *Inventory {
	return &Inventory{regions: map[string]*regionData{}, files: map[listingKey]*listing{}}
}

func (inv *Inventory) region(name string) *regionData {
	r := inv.regions[name]
	if r == nil {
		r = &regionData{byID: map[string]int{}}
		inv.regions[name] = r
	}
	return r
}

// NoIDPrefix begins the id given to a connection that came without one, so
// that each is judged and reported apart: vpncheck:no-id-1, -2, ...
const NoIDPrefix = "vpncheck:no-id-"

// add keeps one copy per connection id and region: the one read last. A
// connection without an id is numbered apart.
func (inv *Inventory) add(region string, conns []*input.Connection) {
	r := inv.region(region)
	for _, c := range conns {
		c.Connection.Region = region
		if c.Connection.ID == "" {
			r.noID++
			c.Connection.ID = NoIDPrefix + strconv.Itoa(r.noID)
			r.conns = append(r.conns, c)
			continue
		}
		if i, ok := r.byID[c.Connection.ID]; ok {
			r.conns[i] = c
			continue
		}
		r.byID[c.Connection.ID] = len(r.conns)
		r.conns = append(r.conns, c)
	}
}

// refresh derives the errors a check reports from what was read. The
// caller holds inv.mu.
func (inv *Inventory) refresh() {
	errs := slices.Clone(inv.failures)
	names := make([]string, 0, len(inv.regions))
	for name := range inv.regions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if n := inv.regions[name].noID; n > 0 {
			errs = append(errs, report.ErrorEntry{Region: name, Code: report.CodeInvalidResponse,
				Message: fmt.Sprintf("%s in %s had no VpnConnectionId: each is judged and reported apart, as %s1 to %s%d",
					report.Plural(n, "connection"), name, NoIDPrefix, NoIDPrefix, n)})
		}
	}
	keys := make([]listingKey, 0, len(inv.files))
	for k, l := range inv.files {
		if k.hasTotal && l.held() < k.total {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareListingKeys)
	for _, k := range keys {
		l := inv.files[k]
		errs = append(errs, report.ErrorEntry{Region: k.region, Code: report.CodeIncompleteInventory,
			Message: fmt.Sprintf("the inventory's listing of %s (TotalCount %d%s) holds %d of its %d connections, in %s: the data is partial",
				k.region, k.total, k.pageSizeText(), l.held(), k.total, report.Plural(l.pages, "file"))})
	}
	inv.errors = errs
}

// decodePage reads one DescribeVpnConnections body into connections of region.
func decodePage(r io.Reader, region string) ([]*input.Connection, apiwire.Page, error) {
	var conns []*input.Connection
	info, err := apiwire.Decode(r, func(raw *apiwire.Connection, odd []string) error {
		c := input.Normalize(raw, region)
		c.OddFields = odd
		conns = append(conns, c)
		return nil
	})
	if err != nil {
		return nil, info, err
	}
	for _, c := range conns {
		c.StampSalt(info.Salt)
	}
	return conns, info, nil
}

// skippedNote reports entries of a list that are not connections at all.
func skippedNote(region, where string, n int) report.ErrorEntry {
	return report.ErrorEntry{Region: region, Code: report.CodeInvalidResponse,
		Message: fmt.Sprintf("%s in %s held %s that %s not a JSON object: skipped", where, region, report.Plural(n, "entry"), map[bool]string{true: "is", false: "are"}[n == 1])}
}

// ReadFile reads a saved DescribeVpnConnections response. Its top-level
// RegionId names its region; else defaultRegion does, else report.UnknownRegion.
// Unreadable input is an error wrapping apiwire.ErrUnreadable, and adds nothing.
// Files that share a region, TotalCount and PageSize are pages of one
// listing: a listing whose distinct connections fall short of its
// TotalCount is reported as IncompleteInventory.
func (inv *Inventory) ReadFile(path, defaultRegion string) error {
	f, err := os.Open(path)
	if err != nil {
		return apiwire.Unreadable(fmt.Sprintf("read inventory %s: %v", path, errors.Unwrap(err)))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return apiwire.Unreadable(fmt.Sprintf("read inventory %s: is a directory", path))
	}
	conns, info, err := decodePage(f, "")
	if errors.Is(err, apiwire.ErrEmpty) {
		return apiwire.Unreadable(fmt.Sprintf("read inventory %s: the file is empty", path))
	}
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
	key := listingKey{region: region, total: info.TotalCount, hasTotal: info.HasTotal, pageSize: info.PageSize}
	l := inv.files[key]
	if l == nil {
		l = newListing()
		inv.files[key] = l
	}
	l.pages++
	l.add(conns)
	inv.add(region, conns)
	inv.region(region).scanned = true
	if info.Skipped > 0 {
		inv.failures = append(inv.failures, skippedNote(region, "inventory "+path, info.Skipped))
	}
	inv.refresh()
	return nil
}

// Listing reads one region's DescribeVpnConnections listing from the API,
// page by page, into an inventory, with the decoder that reads inventory
// files. It judges completeness by the distinct connection ids read against
// the TotalCount the pages declare.
type Listing struct {
	inv      *Inventory
	region   string
	pageSize int
	l        *listing
	total    int64
	hasTotal bool
}

// NewListing starts reading region's listing, asked for pageSize
// connections a page, into inv.
func (inv *Inventory) NewListing(region string, pageSize int) *Listing {
	return &Listing{inv: inv, region: region, pageSize: max(pageSize, 1), l: newListing()}
}

// PageResult is what one page added to a listing, and where it stands.
type PageResult struct {
	Connections int    // entries read as connections
	New         int    // of them, ids the listing had not read before
	Held        int64  // distinct connections read so far
	Total       int64  // the TotalCount declared; -1 when none
	RequestID   string // the page's RequestId
	Complete    bool   // every connection declared was read
	// Incomplete, when set, is why the listing cannot be completed: a
	// missing or changing TotalCount, another page than the one asked for,
	// a page with nothing new, or more pages than TotalCount needs. What
	// was read stays in the inventory; the region must be failed with
	// report.CodeIncompleteResponse.
	Incomplete string
}

// AddPage reads page number of the listing from body. A body that is not a
// DescribeVpnConnections response is an error wrapping apiwire.ErrUnreadable (or
// apiwire.ErrBodyTooLarge, from apiwire.LimitBody), and adds nothing.
func (ls *Listing) AddPage(number int, body io.Reader) (PageResult, error) {
	conns, info, err := decodePage(body, ls.region)
	if err != nil {
		return PageResult{}, err
	}
	inv := ls.inv
	inv.mu.Lock()
	ls.l.pages++
	res := PageResult{Connections: info.Connections, RequestID: info.RequestID, Total: -1, New: ls.l.add(conns)}
	inv.add(ls.region, conns)
	if info.Skipped > 0 {
		inv.failures = append(inv.failures, skippedNote(ls.region, fmt.Sprintf("page %d", number), info.Skipped))
	}
	inv.refresh()
	inv.mu.Unlock()
	res.Held = ls.l.held()
	if info.HasTotal {
		res.Total = info.TotalCount
	}

	size := int64(ls.pageSize)
	if info.PageSize > 0 && info.PageSize < size {
		size = info.PageSize // the API serves fewer a page than asked
	}
	read := fmt.Sprintf("%d of %d connections read", res.Held, res.Total)
	switch {
	case !info.HasTotal:
		res.Incomplete = fmt.Sprintf("the page declares no TotalCount, so what is missing cannot be told (%d connections read)", res.Held)
	case info.TotalCount < 0:
		res.Incomplete = fmt.Sprintf("the page declares a negative TotalCount (%d)", info.TotalCount)
	case ls.hasTotal && info.TotalCount != ls.total:
		res.Incomplete = fmt.Sprintf("TotalCount changed from %d to %d between pages: the listing changed while it was read (%d connections read)", ls.total, info.TotalCount, res.Held)
	case info.PageNumber != 0 && info.PageNumber != int64(number):
		res.Incomplete = fmt.Sprintf("the API answered page %d (%s)", info.PageNumber, read)
	case res.Held >= info.TotalCount:
		res.Complete = true
	case info.Connections == 0:
		res.Incomplete = fmt.Sprintf("the page is empty (%s)", read)
	case res.New == 0:
		res.Incomplete = fmt.Sprintf("the page holds no connection that earlier pages did not: the API ignores the page number or repeats itself (%s)", read)
	case int64(number) >= pagesNeeded(info.TotalCount, size)+1:
		res.Incomplete = fmt.Sprintf("%d pages read, one more than %d connections at %d a page need (%s): the pages overlap or shift", number, info.TotalCount, size, read)
	}
	ls.total, ls.hasTotal = info.TotalCount, info.HasTotal
	return res, nil
}

// pagesNeeded is how many pages of size hold total connections.
func pagesNeeded(total, size int64) int64 { return (total + size - 1) / size }

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
	inv.failures = append(inv.failures, e)
	inv.refresh()
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

// Errors returns the failures recorded so far, and what the data read says
// of itself (connections without an id, incomplete listings of files).
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
}

// Check evaluates every connection of the inventory and builds the report.
func (e *Engine) Check(ctx context.Context, inv *Inventory, opt Options) (*Result, error) {
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()

	rep := report.New()
	rep.AccountID = opt.AccountID
	conns := inv.reportOn(rep)

	secrets, keyErrs, prints := keys.Analyze(ctx, conns, e.keyPolicy(opt.KeyPepper), opt.KnownKeys)
	rep.Errors = append(rep.Errors, keyErrs...)
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
	judged, notJudged, err := e.evaluateAll(ctx, conns, func(c *input.Connection, found []report.Finding) judgement {
		return e.judge(c, found, opt, now)
	})
	if err != nil {
		return nil, err
	}
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
	rep.Summary.Suppressed, rep.Summary.BelowMinSeverity = len(res.Suppressed), len(res.Hidden)
	rep.PolicyRevision = e.policyRevision
	rep.Summary.DisabledRules = e.disabled
	rep.Finish()
	rep.MarkAllNew(now)
	return res, nil
}

// reportOn starts rep from the inventory: its errors, the regions scanned
// and failed, and the counts of connections and tunnels. It returns the
// connections, stamped with rep's account, sorted by region. The caller
// holds inv.mu.
func (inv *Inventory) reportOn(rep *report.Report) []*input.Connection {
	names := make([]string, 0, len(inv.regions))
	for name := range inv.regions {
		names = append(names, name)
	}
	sort.Strings(names)

	rep.Errors = append(rep.Errors, inv.errors...)

	var conns []*input.Connection
	for _, name := range names {
		r := inv.regions[name]
		switch {
		case r.failed:
			rep.Summary.RegionsFailed = append(rep.Summary.RegionsFailed, name)
		case r.scanned:
			rep.Summary.RegionsScan = append(rep.Summary.RegionsScan, name)
		}
		conns = append(conns, r.conns...)
	}
	for _, c := range conns {
		c.Connection.AccountID = rep.AccountID
		rep.Summary.Tunnels += len(c.Tunnels)
		if c.Incomplete() {
			rep.Summary.Incomplete++
		}
	}
	rep.Summary.Connections = len(conns)
	return conns
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
// the others go on.
func (e *Engine) evaluateAll(ctx context.Context, conns []*input.Connection, judge func(*input.Connection, []report.Finding) judgement) (out []judgement, notJudged []report.ErrorEntry, err error) {
	out = make([]judgement, len(conns))
	done := make([]bool, len(conns))
	var mu sync.Mutex // guards notJudged
	// A policy error cancels gctx, and Wait returns the first one.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range conns {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
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
				out[i] = judge(conns[i], fs)
				done[i] = true
				conns[i] = nil
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
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
