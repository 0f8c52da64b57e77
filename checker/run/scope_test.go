package run

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/inventory"
	"github.com/vpncheck/vpncheck/checker/report"
)

const (
	connA = "vco-gw8tylx7hvwhl7tu8****" // the sample's first connection
	connB = "vco-gw837v1ybfh74b6dy****"
)

// oneConnection writes an inventory holding only the sample's connection
// id (as DescribeVpnConnections with VpnConnectionId answers), changed by
// edit; edit nil leaves it out (a deleted connection).
func oneConnection(t *testing.T, id string, edit func(c map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var keep []any
	for _, c := range doc["VpnConnections"].(map[string]any)["VpnConnection"].([]any) {
		m := c.(map[string]any)
		if m["VpnConnectionId"] == id && edit != nil {
			edit(m)
			keep = append(keep, m)
		}
	}
	out := map[string]any{"RegionId": "cn-hangzhou", "TotalCount": len(keep), "VpnConnections": map[string]any{"VpnConnection": keep}}
	b, _ = json.Marshal(out)
	p := filepath.Join(t.TempDir(), "one.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fixDPDOff fixes what the sample gets wrong on a connection except its
// key, and turns dead peer detection off.
func fixDPDOff(c map[string]any) {
	c["IkeConfig"] = map[string]any{"IkeVersion": "ikev2", "IkeMode": "main", "IkeEncAlg": "aes256", "IkeAuthAlg": "sha256",
		"IkePfs": "group14", "IkeLifetime": 86400, "Psk": "Vt8#qL2m!Zr5wX9p$Kd3nB7cF1hJ6sQ4", "LocalId": "8.xx.xx.192", "RemoteId": "8.xx.xx.146"}
	c["IpsecConfig"] = map[string]any{"IpsecEncAlg": "aes256", "IpsecAuthAlg": "sha256", "IpsecPfs": "group14", "IpsecLifetime": 86400}
	c["VcoHealthCheck"] = map[string]any{"Enable": "true", "Status": "success"}
	c["EnableDpd"] = false
}

func byConnection(fs []report.Finding) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[f.ConnectionID]++
	}
	return m
}

// A change event's run judges one connection against the state of the
// account: that connection's news and fixes, nothing about the others.
func TestScopedRun(t *testing.T) {
	eng, store, n := engine(t), dirStore(t), &fakeNotifier{failPart: -1}
	ctx := context.Background()
	full := Execute(ctx, plan(t, eng, store, n, "hourly@10", 0, sample(t)))
	if full.Err != nil {
		t.Fatal(full.Err)
	}
	openB := byConnection(full.Report.Findings)[connB]

	change := &report.Change{Event: "ModifyVpnConnectionAttribute", ConnectionID: connA, Region: "cn-hangzhou", Actor: "RAM user alice"}
	scoped := func(key string, at time.Duration, file string) Outcome {
		p := plan(t, eng, store, n, key, at, file)
		p.Scope, p.Change = &Scope{Region: "cn-hangzhou", ConnectionID: connA}, change
		return Execute(ctx, p)
	}

	// A gets a strong new key and configuration, but dead peer detection
	// off: dpd-disabled is new, everything A had is resolved.
	before := len(n.posted)
	out := scoped("event:1", 10*time.Minute, oneConnection(t, connA, fixDPDOff))
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	rep := out.Report
	if rep.Change != change || len(n.reports) == 0 || n.reports[len(n.reports)-1].Change != change {
		t.Error("the change is not on the report the notifier got")
	}
	var rules []string
	for _, f := range rep.Findings {
		if f.ConnectionID != connA {
			t.Errorf("finding outside the scope: %+v", f)
		}
		if f.Status == report.StatusNew {
			rules = append(rules, f.Rule)
		}
	}
	if strings.Join(rules, ",") != "dpd-disabled" {
		t.Errorf("new findings %v, want dpd-disabled", rules)
	}
	if len(rep.Resolved) == 0 || byConnection(rep.Resolved)[connB] != 0 {
		t.Errorf("resolved %v: want A's only", byConnection(rep.Resolved))
	}
	if len(rep.Lifecycle.Held) != 0 || rep.Lifecycle.Digest {
		t.Errorf("held %v digest %v", rep.Lifecycle.Held, rep.Lifecycle.Digest)
	}
	if len(n.posted) != before+2 {
		t.Errorf("posted %v", n.posted[before:])
	}

	// The same event delivered again: nothing more is posted.
	before = len(n.posted)
	if again := scoped("event:1", 11*time.Minute, oneConnection(t, connA, fixDPDOff)); again.Err != nil || len(n.posted) != before {
		t.Errorf("a duplicate event posted: err %v, %v", again.Err, n.posted[before:])
	}

	// A is deleted: its open finding is resolved; B's stay open.
	out = scoped("event:2", 20*time.Minute, oneConnection(t, connA, nil))
	if out.Err != nil || out.Report.Summary.Resolved != 1 || out.Report.Resolved[0].Rule != "dpd-disabled" {
		t.Fatalf("delete: err %v, resolved %+v", out.Err, out.Report.Resolved)
	}
	_, g, err := newLedger(store, "1234", time.Now).latest(ctx)
	if err != nil || len(g.State.Open) != openB {
		t.Errorf("open after the delete: %v, %d, want B's %d", err, len(g.State.Open), openB)
	}

	// The next full run finds B's findings still open, nothing new, but
	// for the reuse of B's key, which only a run over every key can see
	// is gone.
	next := Execute(ctx, plan(t, eng, store, n, "hourly@11", time.Hour, oneConnection(t, connB, func(map[string]any) {})))
	if next.Err != nil || next.Report.Summary.New != 0 || len(next.Report.Resolved) != 1 ||
		next.Report.Resolved[0].Rule != "psk-reused" || next.Report.Resolved[0].ConnectionID != connB {
		t.Errorf("full run after events: err %v summary %+v resolved %+v", next.Err, next.Report.Summary, next.Report.Resolved)
	}
}

// A scoped run whose connection could not be described resolves nothing
// and holds the region.
func TestScopedRunNotDescribed(t *testing.T) {
	eng, store, n := engine(t), dirStore(t), &fakeNotifier{failPart: -1}
	ctx := context.Background()
	Execute(ctx, plan(t, eng, store, n, "hourly@10", 0, sample(t)))
	p := plan(t, eng, store, n, "event:x", time.Minute)
	p.Source = failingSource{}
	p.Scope = &Scope{Region: "cn-hangzhou", ConnectionID: connA}
	out := Execute(ctx, p)
	if out.Err == nil {
		t.Error("a run that described nothing succeeded")
	}
	if out.Report != nil && len(out.Report.Resolved) != 0 {
		t.Errorf("resolved %+v", out.Report.Resolved)
	}
}

type failingSource struct{}

func (failingSource) Collect(_ context.Context, inv *inventory.Inventory) error {
	inv.Fail(report.ErrorEntry{Region: "cn-hangzhou", Code: "Forbidden.RAM", Message: "describe vpn connection: Forbidden.RAM"})
	return nil
}
