package alibaba

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/vpncheck/vpncheck/checker"
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
func (l Live) Collect(ctx context.Context, inv *checker.Inventory) error {
	if len(l.Regions) == 0 {
		return checker.Inputf("no region to scan: give --regions (or VPNCHECK_REGIONS, ALIBABA_CLOUD_REGION_ID, or an aliyun CLI profile with a region), or --inventory")
	}
	col, err := NewCollector(l.Config)
	if errors.Is(err, ErrInvalidEndpoint) {
		return checker.Inputf("VPNCHECK_VPC_ENDPOINT: %v", err)
	}
	if err != nil {
		return err
	}
	regions := l.Regions
	if slices.ContainsFunc(regions, func(r string) bool { return strings.EqualFold(r, "all") }) {
		if regions, err = col.Regions(ctx, l.Home); err != nil {
			return err
		}
	}
	regions = slices.DeleteFunc(slices.Clone(regions), func(r string) bool { return slices.Contains(l.Exclude, r) })
	if len(regions) == 0 {
		return checker.Inputf("no region left to scan after --exclude-regions %s", strings.Join(l.Exclude, ","))
	}
	err = col.Collect(ctx, regions, inv)
	if l.Config.Save != nil {
		err = errors.Join(err, l.Config.Save.Close())
	}
	return err
}
