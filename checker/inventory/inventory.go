// Package inventory owns the connections of one run as they are gathered,
// region by region: Inventory, with the failures met while gathering them
// and what the data says of itself (connections without an id, incomplete
// listings); reading saved responses (ReadFile) and API listings page by
// page (Listing), normalised into the policy input by DecodePage.
//
// It must not import the engine (checker), key analysis (checker/keys),
// the run, a source or a notifier: they fill it or read it.
package inventory

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/report"
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

// New returns an empty inventory.
func New() *Inventory {
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

// Add adds connections of region normalised by the caller (DecodePage
// normalises what it reads), as a page would: one copy per connection id
// and region, the one added last; a connection without an id is numbered
// apart.
func (inv *Inventory) Add(region string, conns []*input.Connection) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.add(region, conns)
	inv.refresh()
}

// add keeps one copy per connection id and region: the one read last. A
// connection without an id is numbered apart. The caller holds inv.mu.
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

// DecodePage reads one DescribeVpnConnections body into connections of
// region, normalised into the policy input, each with the fields of an
// unexpected type it held (read as absent) and the save's salt.
func DecodePage(r io.Reader, region string) ([]*input.Connection, apiwire.Page, error) {
	var conns []*input.Connection
	var tags input.TagSets
	info, err := apiwire.Decode(r, func(raw *apiwire.Connection, odd []string) error {
		c := input.NormalizeShared(raw, region, &tags)
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
	conns, info, err := DecodePage(f, "")
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
	conns, info, err := DecodePage(body, ls.region)
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

// Len is how many connections the inventory holds so far.
func (inv *Inventory) Len() int {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	n := 0
	for _, r := range inv.regions {
		n += len(r.conns)
	}
	return n
}

// Take starts rep from the inventory: its errors, the regions scanned and
// failed, and the counts of connections and tunnels; and hands over its
// connections, stamped with rep's account, sorted by region. The
// inventory is consumed: it lets go of them, so that a large run does not
// hold its inputs and its findings at once (the taker drops each once
// judged). It stays locked until release is called.
func (inv *Inventory) Take(rep *report.Report) (conns []*input.Connection, release func()) {
	inv.mu.Lock()
	conns = inv.reportOn(rep)
	for _, r := range inv.regions {
		r.conns, r.byID = nil, nil
	}
	return conns, inv.mu.Unlock
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
