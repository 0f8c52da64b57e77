package run

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/lifecycle"
	"github.com/vpncheck/vpncheck/checker/report"
)

// A generation keeps at most 200 bytes per open finding, whatever the
// findings' texts: they are rebuilt from the run that sees them again.
func TestGenerationIsCompact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	id := func(prefix string) string {
		const abc = "abcdefghijklmnopqrstuvwxyz0123456789"
		b := []byte(prefix)
		for range 20 {
			b = append(b, abc[rng.IntN(len(abc))])
		}
		return string(b)
	}
	rules := []string{"psk-weak", "ike-weak-encryption", "ike-weak-integrity", "ike-v1", "ipsec-no-pfs", "dpd-disabled", "subnet-any"}
	for _, n := range []int{700, 7000} {
		rep := report.New()
		keys := &lifecycle.KeyPrints{Salt: "pbkdf2-sha256/600000/" + id(""), Tunnels: map[string]string{}}
		for len(rep.Findings) < n {
			conn, tun, gw := id("vco-"), id("tun-"), id("vpn-")
			name := "branch office " + id("")
			keys.Tunnels[lifecycle.TunnelPlace("cn-hangzhou", conn, tun)] = id("") + id("")
			for _, r := range rules {
				rep.Findings = append(rep.Findings, report.Finding{Rule: r, Severity: report.Severity(rng.IntN(5)), AccountID: "1234567890123456",
					Region: "cn-hangzhou", ConnectionID: conn, ConnectionName: name, VPNGatewayID: gw, TunnelID: tun,
					Title: "A title of some forty characters for " + r, Message: strings.Repeat("a message that names the connection "+conn+" ", 4),
					Remediation: strings.Repeat("what to do about it, at some length. ", 6), Value: "des"})
			}
		}
		rep.Findings = rep.Findings[:n]
		next := lifecycle.Advance(nil, rep, lifecycle.Options{Now: t0, Judged: func(*report.Finding) bool { return true }, Keys: keys})
		doc, err := encodeGeneration(&generation{State: next, Outbox: &outbox{RunKey: "hourly@10", Created: t0, LeaseUntil: t0, Head: headOf(rep)}})
		if err != nil {
			t.Fatal(err)
		}
		if limit := 200*n + 4096; len(doc) > limit {
			t.Errorf("%d open findings: generation of %d bytes (%d a finding), over %d", n, len(doc), len(doc)/n, limit)
		}
		t.Logf("%d open findings: %d bytes, %d a finding", n, len(doc), len(doc)/n)
		st, err := ReadState(doc)
		if err != nil || len(st.Open) != n {
			t.Fatalf("read back: %v, %d open", err, len(st.Open))
		}
		if bytes.Contains(doc, []byte("what to do")) {
			t.Error("the generation keeps texts")
		}
	}
}

// v1 is a generation as state version 1 wrote it: plain JSON, every
// record a whole finding, the outbox holding the whole report.
func v1(t *testing.T, st *lifecycle.State, rep *report.Report, lc report.Lifecycle, texts map[string]report.Finding, key string) []byte {
	t.Helper()
	type whole struct {
		Finding    report.Finding `json:"finding"`
		LastPosted time.Time      `json:"last_posted,omitzero"`
	}
	open := map[string]whole{}
	for id, r := range st.Open {
		f := r.Finding(id)
		f.Title, f.Message, f.Remediation = texts[id].Title, texts[id].Message, texts[id].Remediation
		open[id] = whole{Finding: f, LastPosted: r.LastPosted}
	}
	doc, err := json.Marshal(map[string]any{
		"state":  map[string]any{"version": 1, "open": open, "resolved": map[string]any{}, "last_digest": st.LastDigest},
		"outbox": map[string]any{"run_key": key, "created": t0, "lease_until": t0.Add(time.Minute), "report": rep, "lifecycle": lc, "account_id": "1234"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// A generation written before state version 2 still loads: its open
// findings stay open (not new), and its undelivered news goes out from the
// report it holds inline.
func TestOldGenerationLoads(t *testing.T) {
	eng, ctx := engine(t), context.Background()
	p := plan(t, eng, nil, nil, "", 0, sample(t))
	p.Notifier = nil
	first := Execute(ctx, p)
	if first.Err != nil || first.Report.Summary.New != 15 {
		t.Fatalf("first run: %v %+v", first.Err, first.Report.Summary)
	}
	st := lifecycle.Advance(nil, first.Report, lifecycle.Options{Now: t0, Judged: func(*report.Finding) bool { return true }})
	texts := map[string]report.Finding{}
	for _, f := range first.Report.Findings {
		texts[f.ID] = f
	}
	store := dirStore(t)
	led := newLedger(store, "1234", time.Now)
	if err := led.log.Append(ctx, 1, v1(t, st, first.Report, first.Report.Lifecycle, texts, "hourly@10")); err != nil {
		t.Fatal(err)
	}

	n := &fakeNotifier{failPart: -1}
	out := Execute(ctx, plan(t, eng, store, n, "hourly@11", time.Hour, sample(t)))
	if out.Err != nil || out.Report.Summary.New != 0 || out.Report.Lifecycle.Unchanged != 15 {
		t.Fatalf("the run after an old generation: err %v, summary %+v, lifecycle %+v", out.Err, out.Report.Summary, out.Report.Lifecycle)
	}
	for _, f := range out.Report.Findings {
		if f.Status != report.StatusOpen || !f.FirstSeen.Equal(t0) || f.Message != texts[f.ID].Message {
			t.Errorf("%s: status %s, first seen %v, message %q", f.ID, f.Status, f.FirstSeen, f.Message)
		}
	}
	// The old generation's news (never marked done) went out first, from
	// its inline report, whole.
	if got := strings.Join(n.posted, " "); got != "hourly@10/0 hourly@10/1" || len(n.reports[0].Findings) != 15 {
		t.Errorf("posted %s; first report %d findings", got, len(n.reports[0].Findings))
	}
	gen, doc, err := led.log.Latest(ctx)
	if err != nil || gen != 2 || !bytes.HasPrefix(doc, gzipMagic) {
		t.Fatalf("next generation %d: %v, gzip'd %v", gen, err, bytes.HasPrefix(doc, gzipMagic))
	}
	next, err := ReadState(doc)
	if err != nil || next.Version != lifecycle.Version || len(next.Open) != 15 {
		t.Fatalf("next state: %v, %+v", err, next)
	}
}

// A run's news is stored apart from its generation until delivered, then
// deleted: a retry delivers what was not acknowledged from it, and a
// replay of the delivered run returns the report's head.
func TestNewsKeptUntilDelivered(t *testing.T) {
	eng, store, ctx := engine(t), dirStore(t), context.Background()
	n := &fakeNotifier{failPart: 1}
	news := func() []string {
		keys, err := store.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range keys {
			if strings.Contains(k, "/news-") {
				out = append(out, k)
			}
		}
		return out
	}
	if out := Execute(ctx, plan(t, eng, store, n, "hourly@10", 0, sample(t))); out.Err == nil {
		t.Fatal("Slack failed, the run did not say so")
	}
	if got := news(); len(got) != 1 || !strings.Contains(got[0], "/gens/1/") {
		t.Fatalf("news after a failed delivery: %q", got)
	}
	// Another instance, whose first run knows nothing of the report, retries.
	n.failPart = -1
	out := Execute(ctx, plan(t, eng, store, n, "hourly@10", time.Minute, sample(t)))
	if out.Err != nil || strings.Join(n.posted, " ") != "hourly@10/0 hourly@10/1" {
		t.Fatalf("retry: err %v, posted %v", out.Err, n.posted)
	}
	if got := news(); len(got) != 0 {
		t.Errorf("news kept after delivery: %q", got)
	}
	again := Execute(ctx, plan(t, eng, store, n, "hourly@10", 2*time.Minute, sample(t)))
	if again.Err != nil || again.Report == nil || again.Report.Summary.Findings != 15 || again.Report.Summary.New != 15 || len(n.posted) != 2 {
		t.Errorf("replay of the delivered run: err %v, report %+v, posted %v", again.Err, again.Report, n.posted)
	}
	// Runs with nothing to say store no news.
	Execute(ctx, plan(t, eng, store, n, "hourly@11", time.Hour, sample(t)))
	if got := news(); len(got) != 0 {
		t.Errorf("a quiet run stored news: %q", got)
	}
}
