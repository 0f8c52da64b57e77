package run

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// An hourly run of an unchanged fleet judges nothing afresh and reports
// what the first run reported; a change event's run judges its one
// connection, and the next whole run what the event's change touched in
// the others (a key now shared); the state keeps no key.
func TestIncrementalRunsJudgeWhatChanged(t *testing.T) {
	ctx := context.Background()
	eng, store, n := engine(t), dirStore(t), &fakeNotifier{failPart: -1}
	afresh := func(o Outcome) int {
		t.Helper()
		if o.Err != nil || o.Report.Summary.JudgedAfresh == nil {
			t.Fatalf("err %v, summary %+v", o.Err, o.Report.Summary)
		}
		return *o.Report.Summary.JudgedAfresh
	}
	texts := func(o Outcome) string {
		var b strings.Builder
		for _, f := range o.Report.Findings {
			b.WriteString(f.ID + " " + f.Severity.String() + " " + f.Title + " " + f.Message + " " + f.Remediation + "\n")
		}
		return b.String()
	}
	two := withKeys(t, map[string]string{connA: keyA, connB: keyB})
	first := Execute(ctx, plan(t, eng, store, n, "hourly@10", 0, two))
	if got := afresh(first); got != 2 {
		t.Fatalf("first run: %d judged afresh, want 2", got)
	}
	second := Execute(ctx, plan(t, eng, store, n, "hourly@11", time.Hour, two))
	if got := afresh(second); got != 0 {
		t.Fatalf("nothing changed: %d judged afresh, want 0", got)
	}
	if a, b := texts(first), texts(second); a != b || a == "" {
		t.Fatalf("the unchanged run's findings differ:\n%s\n%s", b, a)
	}

	p := plan(t, eng, store, n, "event:1", time.Hour+10*time.Minute, oneConnection(t, connA, func(c map[string]any) {
		c["IkeConfig"].(map[string]any)["Psk"] = keyB
	}))
	p.Scope = &Scope{Region: "cn-hangzhou", ConnectionID: connA}
	if got := afresh(Execute(ctx, p)); got != 1 {
		t.Fatalf("change event: %d judged afresh, want 1", got)
	}
	// A's input is as the event's run saw it (shared with B by the
	// state's prints); B's changed (it shares its key now).
	third := Execute(ctx, plan(t, eng, store, n, "hourly@12", 2*time.Hour, withKeys(t, map[string]string{connA: keyB, connB: keyB})))
	if got := afresh(third); got != 1 {
		t.Fatalf("after the event: %d judged afresh, want 1 (B)", got)
	}
	if got := reused(third.Report); len(got) != 2 {
		t.Fatalf("psk-reused on %v, want both", got)
	}

	_, g, err := newLedger(store, "1234", time.Now).latest(ctx)
	if err != nil || g.Judged == nil || len(g.Judged.Judged) == 0 {
		t.Fatalf("state: %v, judged %+v", err, g.Judged)
	}
	raw, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{keyA, keyB} {
		if strings.Contains(string(raw), k) {
			t.Fatalf("the state holds a key: %s", raw)
		}
	}
}

// A generation whose memory does not read is still read; the run judges
// every connection afresh and says why in its report.
func TestUnreadableMemoryIsSaid(t *testing.T) {
	ctx := context.Background()
	eng, store, n := engine(t), dirStore(t), &fakeNotifier{failPart: -1}
	two := withKeys(t, map[string]string{connA: keyA, connB: keyB})
	if o := Execute(ctx, plan(t, eng, store, n, "hourly@10", 0, two)); o.Err != nil {
		t.Fatal(o.Err)
	}
	led := newLedger(store, "1234", time.Now)
	gen, g, err := led.latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(struct {
		State  any             `json:"state"`
		Judged json.RawMessage `json:"judged"`
	}{g.State, json.RawMessage(`{"v": 1, "revision": "r", "texts": [""], "judged": "digest 1,2,x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := led.log.Append(ctx, gen+1, doc); err != nil {
		t.Fatal(err)
	}
	o := Execute(ctx, plan(t, eng, store, n, "hourly@11", time.Hour, two))
	if o.Err != nil || o.Report.Summary.JudgedAfresh == nil || *o.Report.Summary.JudgedAfresh != 2 {
		t.Fatalf("err %v, summary %+v: want both judged afresh", o.Err, o.Report.Summary)
	}
	said := false
	for _, e := range o.Report.Errors {
		said = said || (e.Code == "StateUnreadable" && strings.Contains(e.Message, "judged afresh"))
	}
	if !said {
		t.Fatalf("errors %+v: the unreadable memory is not said", o.Report.Errors)
	}
}
