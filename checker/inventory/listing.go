package inventory

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/vpncheck/vpncheck/checker/input"
)

// listingKey names one listing among inventory files: pages of one listing
// share their region, TotalCount and PageSize.
type listingKey struct {
	region   string
	total    int64
	hasTotal bool
	pageSize int64 // 0: not declared
}

func (k listingKey) pageSizeText() string {
	if k.pageSize <= 0 {
		return ""
	}
	return fmt.Sprintf(", PageSize %d", k.pageSize)
}

func compareListingKeys(a, b listingKey) int {
	if c := strings.Compare(a.region, b.region); c != 0 {
		return c
	}
	if a.total != b.total {
		return cmp.Compare(a.total, b.total)
	}
	return cmp.Compare(a.pageSize, b.pageSize)
}

// listing is what was read of one listing: its distinct connection ids,
// and the connections that came without one (each counts apart).
type listing struct {
	ids   map[string]struct{}
	noID  int
	pages int
}

func newListing() *listing { return &listing{ids: map[string]struct{}{}} }

// add records conns, before the inventory numbers those without an id, and
// returns how many ids were new to the listing.
func (l *listing) add(conns []*input.Connection) int {
	n := 0
	for _, c := range conns {
		id := c.Connection.ID
		if id == "" {
			l.noID++
			continue
		}
		if _, ok := l.ids[id]; !ok {
			l.ids[id] = struct{}{}
			n++
		}
	}
	return n
}

// held is how many distinct connections the listing read.
func (l *listing) held() int64 { return int64(len(l.ids) + l.noID) }
