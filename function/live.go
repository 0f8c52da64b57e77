package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aliyun/credentials-go/credentials"

	"github.com/vpncheck/vpncheck/checker"
)

// defaultConcurrency is how many regions are scanned at once. Each region
// has at most one call in flight, spaced by the collector's MinInterval, so
// the API's per-region limit (600 calls a minute) is never approached
// whatever this is; it only bounds open connections.
const defaultConcurrency = 8

// liveConfig is one live collection, from the CLI or a Function Compute
// invocation.
type liveConfig struct {
	credential  credentials.Credential
	regions     []string // region IDs, or "all"
	exclude     []string
	homeRegion  string // endpoint region for DescribeRegions; "" is cn-hangzhou
	endpoint    string // VPNCHECK_VPC_ENDPOINT
	concurrency int
	saveDir     string
}

// collectLive reads every connection of the configured regions from the VPC
// API: regions from --regions or VPNCHECK_REGIONS, else
// ALIBABA_CLOUD_REGION_ID, else the aliyun CLI profile's region; credentials
// from the standard chain.
func collectLive(ctx context.Context, cfg *checkConfig, getenv func(string) string, inv *checker.Inventory) error {
	home := getenv("ALIBABA_CLOUD_REGION_ID")
	if home == "" {
		home = profileRegion(getenv)
	}
	regions := cfg.regions
	if len(regions) == 0 && home != "" {
		regions = []string{home}
	}
	if len(regions) == 0 {
		return usagef("no region to scan: give --regions (or VPNCHECK_REGIONS, ALIBABA_CLOUD_REGION_ID, or an aliyun CLI profile with a region), or --inventory")
	}
	cred, err := chainCredential(getenv)
	if err != nil {
		return err
	}
	return collectRegions(ctx, liveConfig{
		credential:  cred,
		regions:     regions,
		exclude:     cfg.excludeRegions,
		homeRegion:  home,
		endpoint:    getenv("VPNCHECK_VPC_ENDPOINT"),
		concurrency: cfg.concurrency,
		saveDir:     cfg.saveInventory,
	}, inv)
}

// chainCredential is the standard Alibaba Cloud credential chain. The keys
// in the environment come first, as in the chain, but read through getenv.
func chainCredential(getenv func(string) string) (credentials.Credential, error) {
	id, secret := getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
	if id != "" && secret != "" {
		return checker.StaticCredential(id, secret, getenv("ALIBABA_CLOUD_SECURITY_TOKEN"))
	}
	cred, err := credentials.NewCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("load Alibaba Cloud credentials (set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or run aliyun configure): %w", err)
	}
	return cred, nil
}

// collectRegions runs one live collection into inv. When ctx has a
// deadline, collection stops a little before it (a tenth of the time left,
// at most 5s), to leave time to evaluate and report what was read.
func collectRegions(ctx context.Context, lc liveConfig, inv *checker.Inventory) error {
	col, err := checker.NewCollector(checker.CollectorConfig{
		Credential:  lc.credential,
		Endpoint:    lc.endpoint,
		Concurrency: lc.concurrency,
		SaveDir:     lc.saveDir,
	})
	if errors.Is(err, checker.ErrInvalidEndpoint) {
		return usagef("VPNCHECK_VPC_ENDPOINT: %v", err)
	}
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		reserve := min(time.Until(dl)/10, 5*time.Second)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-reserve))
		defer cancel()
	}

	regions := lc.regions
	if slices.ContainsFunc(regions, func(r string) bool { return strings.EqualFold(r, "all") }) {
		if regions, err = col.Regions(ctx, lc.homeRegion); err != nil {
			return err
		}
	}
	regions = slices.DeleteFunc(slices.Clone(regions), func(r string) bool { return slices.Contains(lc.exclude, r) })
	if len(regions) == 0 {
		return usagef("no region left to scan after --exclude-regions %s", strings.Join(lc.exclude, ","))
	}
	return col.Collect(ctx, regions, inv)
}

// profileRegion is the region of the aliyun CLI's current profile
// (~/.aliyun/config.json, or ALIBABA_CLOUD_CONFIG_FILE; the profile named by
// ALIBABA_CLOUD_PROFILE wins over "current"), or "" when there is none.
func profileRegion(getenv func(string) string) string {
	if strings.EqualFold(getenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED"), "true") {
		return ""
	}
	path := getenv("ALIBABA_CLOUD_CONFIG_FILE")
	if path == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		path = filepath.Join(home, ".aliyun", "config.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var conf struct {
		Current  string `json:"current"`
		Profiles []struct {
			Name     string `json:"name"`
			RegionID string `json:"region_id"`
		} `json:"profiles"`
	}
	if json.Unmarshal(b, &conf) != nil {
		return ""
	}
	name := getenv("ALIBABA_CLOUD_PROFILE")
	if name == "" {
		name = conf.Current
	}
	if name == "" {
		name = "default"
	}
	for _, p := range conf.Profiles {
		if p.Name == name {
			return strings.TrimSpace(p.RegionID)
		}
	}
	return ""
}
