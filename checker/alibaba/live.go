package alibaba

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/region"
)

// Live is a source of connections: the VPC OpenAPI of the regions named,
// or of every region DescribeRegions returns ("all"), less the excluded.
type Live struct {
	Config  CollectorConfig
	Regions []string // region ids, or "all"
	Exclude []string
	// Home is the region whose endpoint answers DescribeRegions ("" is
	// cn-hangzhou); VPNCHECK_VPC_ENDPOINT wins over it.
	Home string
}

// Validate is run.Validator: the configuration, before the run claims its key.
func (l Live) Validate() error { return l.Config.Validate() }

// Collect reads every connection of the regions into inv. Failures of a
// region are recorded in inv; the error is for what stops the whole run
// (a bad endpoint, no region left, credentials, DescribeRegions) or for
// pages that could not be saved (ErrSaveInventory).
func (l Live) Collect(ctx context.Context, inv *inventory.Inventory) error {
	if len(l.Regions) == 0 {
		return badinput.Errorf("no region to scan: give --regions (or VPNCHECK_REGIONS, ALIBABA_CLOUD_REGION_ID, or an aliyun CLI profile with a region), or --inventory")
	}
	col, err := newCollector(l.Config)
	if errors.Is(err, ErrInvalidEndpoint) {
		return badinput.Errorf("VPNCHECK_VPC_ENDPOINT: %v", err)
	}
	if err != nil {
		return err
	}
	regions, err := l.resolve(ctx, col)
	if err != nil {
		return err
	}
	regions = slices.DeleteFunc(slices.Clone(regions), func(r string) bool { return slices.Contains(l.Exclude, r) })
	if len(regions) == 0 {
		return badinput.Errorf("no region left to scan after --exclude-regions %s", strings.Join(l.Exclude, ","))
	}
	err = col.Collect(ctx, regions, inv)
	if l.Config.Save != nil {
		err = errors.Join(err, l.Config.Save.Close())
	}
	return err
}

// resolve turns the regions asked for into the regions to scan, and
// refuses an id that is not a region (a typo would otherwise fail as a DNS
// error after the SDK's retries). Ids in the built-in list are taken as
// they are; DescribeRegions is asked for "all", and about any other id (a
// region newer than the list, or a test double's), before anything is
// described.
func (l Live) resolve(ctx context.Context, col *collector) ([]string, error) {
	all := slices.ContainsFunc(l.Regions, func(r string) bool { return strings.EqualFold(r, "all") })
	unsure := region.Unknown(l.Regions, l.Exclude)
	if !all && len(unsure) == 0 {
		return l.Regions, nil
	}
	home := l.Home
	if !region.IsBuiltin(home) {
		home = "" // a misspelt home region cannot answer either: ask the default endpoint
	}
	offered, err := col.Regions(ctx, home)
	switch {
	case err != nil && all:
		return nil, err
	case err != nil:
		return nil, badinput.Errorf("%v", &region.UnknownError{ID: unsure[0], Nearest: region.Nearest(unsure[0], region.Builtin()), Why: err.Error()})
	}
	if err := region.Check(unsure, offered); err != nil {
		return nil, badinput.Errorf("%v", err)
	}
	if all {
		return offered, nil
	}
	return l.Regions, nil
}
