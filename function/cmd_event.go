package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vpncheck/vpncheck/checker/alibaba"
	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/badinput"
	"github.com/vpncheck/vpncheck/checker/change"
	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/output"
	"github.com/vpncheck/vpncheck/checker/run"
)

// cmdEvent replays a saved ActionTrail CloudEvent through the function's
// change path: the connection it names is described live (or read from
// --inventory files), judged, and compared with --state as the function
// would. Exit statuses are check's; an event that is not a change to an
// IPsec-VPN connection is acknowledged and ignored (exit 0).
func cmdEvent(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("vpncheck event")
	file := fs.String("file", "", "the CloudEvent to replay, as EventBridge delivers it (JSON `FILE`)")
	var inv listFlag
	fs.Var(&inv, "inventory", "judge the connection as a saved DescribeVpnConnections response `FILE` holds it, instead of describing it (repeatable)")
	regions := fs.String("regions", "", "the regions the deployment checks, comma-separated, or \"all\": an event of another region is ignored, as the function ignores it (env "+envRegions+"; default: the home region)")
	exclude := fs.String("exclude-regions", "", "regions the deployment skips: their events are ignored (env "+envExcludeRegions+")")
	var rf runFlags
	rf.register(fs, "the connection could not be judged")
	given, err := parseFlags(fs, args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return fail(stderr, err)
	}
	if err := rf.resolve(given, getenv); err != nil {
		return fail(stderr, err)
	}
	if *file == "" {
		return fail(stderr, badinput.Errorf("--file is required (see 'vpncheck event -h')"))
	}
	ev, err := readEvent(*file)
	if err != nil {
		return fail(stderr, err)
	}
	if !ev.Relevant {
		fmt.Fprintf(stderr, "vpncheck: event %s ignored: not a change to an IPsec-VPN connection\n", output.TerminalText(ev.Name, 80))
		return exitOK
	}
	rule := regionRule{regions: pick(*regions, given["regions"], "regions", envRegions, getenv),
		exclude: pick(*exclude, given["exclude-regions"], "exclude-regions", envExcludeRegions, getenv), home: homeRegion(getenv)}
	if why := rule.ignores(ev.Region); why != "" {
		fmt.Fprintf(stderr, "vpncheck: event %s ignored: %s\n", output.TerminalText(ev.Name, 80), output.TerminalText(why, maxErrorLine))
		return exitOK
	}
	ctx, cancel := rf.withDeadline(ctx)
	defer cancel()
	b, err := rf.plan(ctx, getenv)
	if err != nil {
		return fail(stderr, err)
	}
	changePlan(&b.Plan, ev)
	if len(inv) > 0 {
		b.Plan.Source = savedConnection{paths: inv, region: ev.Region, id: ev.ConnectionID}
	} else {
		cred, err := chainCredential(getenv)
		if err != nil {
			return fail(stderr, err)
		}
		b.Plan.Source = alibaba.One{Config: alibaba.CollectorConfig{Credential: cred, Endpoint: vpcEndpoint(getenv)},
			Region: ev.Region, ConnectionID: ev.ConnectionID}
	}
	plan, err := b.Build()
	return rf.finish(run.Start(ctx, plan, err), stdout, stderr)
}

// readEvent reads and parses a saved CloudEvent; anything unreadable or
// malformed is bad input.
func readEvent(path string) (*change.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, badinput.Errorf("read event %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, change.MaxBody+1))
	if err != nil {
		return nil, badinput.Errorf("read event %s: %v", path, err)
	}
	ev, err := change.Parse(body)
	if err != nil {
		return nil, badinput.Errorf("event %s: %v", path, err)
	}
	return ev, nil
}

// savedConnection is the source of `vpncheck event --inventory`: the
// event's connection as saved DescribeVpnConnections responses hold it,
// read as DescribeVpnConnections with its VpnConnectionId would answer
// (that connection alone, or nothing when it is not there: deleted).
// Files of other regions are skipped; of the files of the event's region,
// the one read last that holds the connection wins.
type savedConnection struct {
	paths      []string
	region, id string
}

func (s savedConnection) Collect(_ context.Context, inv *inventory.Inventory) error {
	var (
		found    json.RawMessage
		salt     json.RawMessage
		inRegion int
	)
	for _, path := range s.paths {
		b, err := os.ReadFile(path)
		if err != nil {
			return badinput.Errorf("read inventory %s: %v", path, errors.Unwrap(err))
		}
		var page struct {
			RegionID       json.RawMessage            `json:"RegionId"`
			Salt           json.RawMessage            `json:"VpncheckSalt"`
			VpnConnections map[string]json.RawMessage `json:"VpnConnections"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return fmt.Errorf("read inventory %s: %w", path, apiwire.ErrUnreadable)
		}
		var conns []json.RawMessage
		if json.Unmarshal(page.VpnConnections["VpnConnection"], &conns) != nil {
			return fmt.Errorf("read inventory %s: no VpnConnections.VpnConnection list: %w", path, apiwire.ErrUnreadable)
		}
		var region string
		if json.Unmarshal(page.RegionID, &region) != nil || region == "" {
			region = s.region // a file that names no region is taken as the event's
		}
		if region != s.region {
			continue
		}
		inRegion++
		for _, c := range conns {
			var v struct {
				ID json.RawMessage `json:"VpnConnectionId"`
			}
			var id string
			if json.Unmarshal(c, &v) == nil && json.Unmarshal(v.ID, &id) == nil && id == s.id {
				found, salt = c, page.Salt
			}
		}
	}
	if inRegion == 0 {
		return badinput.Errorf("no --inventory file is of region %s, the event's: cannot tell whether %s is there", s.region, s.id)
	}
	page := map[string]any{"RegionId": s.region, "TotalCount": 0, "VpnConnections": map[string]any{"VpnConnection": []json.RawMessage{}}}
	if found != nil {
		page["TotalCount"] = 1
		page["VpnConnections"] = map[string]any{"VpnConnection": []json.RawMessage{found}}
		if len(salt) > 0 {
			page["VpncheckSalt"] = salt // the saved key facts' fingerprints read with it
		}
	}
	body, err := json.Marshal(page)
	if err != nil {
		return err
	}
	res, err := inv.NewListing(s.region, alibaba.PageSize).AddPage(1, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("read inventory: %w", err)
	}
	if res.Complete {
		inv.MarkScanned(s.region)
	}
	return nil
}
