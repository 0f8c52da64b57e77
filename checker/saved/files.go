package saved

import (
	"context"
	"errors"

	"github.com/vpncheck/vpncheck/checker/inventory"
)

// ErrSaveInventory marks pages that were collected but could not be saved
// (--save-inventory): the run still has their data and still reports it.
var ErrSaveInventory = errors.New("save inventory")

// Files is a source of connections: saved DescribeVpnConnections responses.
type Files struct {
	Paths []string
	// Region labels the files that do not name their own (a top-level
	// RegionId); empty: report.UnknownRegion.
	Region string
}

// Collect reads every file into inv. An unreadable file is an error
// wrapping apiwire.ErrUnreadable, and the run stops there.
func (f Files) Collect(_ context.Context, inv *inventory.Inventory) error {
	for _, p := range f.Paths {
		if err := inv.ReadFile(p, f.Region); err != nil {
			return err
		}
	}
	return nil
}
