package run

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vpncheck/vpncheck/checker"
	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/lifecycle"
	"github.com/vpncheck/vpncheck/checker/report"
	"github.com/vpncheck/vpncheck/checker/state"
	"github.com/vpncheck/vpncheck/notify"
)

// The state of one account lives under "<account>/" in the store:
//
//	state/gen-<n>.json       the generations: the lifecycle state after run n
//	                         (gzip'd JSON; plain JSON before state version 2,
//	                         still read), with its outbox: who wrote it, and
//	                         where the news that run n had to deliver is;
//	                         and what run n judged, for run n+1 (incremental.go)
//	gens/<n>/news-<id>       that news (the report, gzip'd), from before the
//	                         generation is written until it is delivered
//	gens/<n>/part-<i>        message i of generation n's news, acknowledged
//	gens/<n>/done            every message of generation n delivered
//	runs/<key>/claim         attempt 1 of a run key (a lease, and the digest
//	runs/<key>/claim-<n>     of the event), and attempt n of it
//	runs/<key>/end-<n>       attempt n ended without completing
//	runs/<key>/gen           the generation a completed attempt wrote
//
// Every write is create-only. A generation is written before its news is
// delivered and marked done after, so news is never lost: a retry of the
// same run, or any later run, finds a generation without done and delivers
// what is not acknowledged (at least once). Acknowledged parts are never
// posted again, and concurrent runs compute their news against each
// other's generations, so no finding is posted twice.
//
// Only a run that collected everything records its generation under its
// run key, and only such a run is replayed by a retry. A retry of any other
// attempt (a region failed, a listing was partial, the source could not
// start) takes the next attempt and checks again, against the generations
// before it, delivering first what the earlier attempt left undelivered.

// keepGenerations is how many generations the log keeps, and
// keepGenerationBytes how much room they may take together: a
// generation holds about 50 bytes per open finding (4 MiB for 73,000).
const (
	keepGenerations     = 24
	keepGenerationBytes = 64 << 20
)

// generation is one generation's document.
type generation struct {
	State  *lifecycle.State `json:"state"`
	Outbox *outbox          `json:"outbox,omitempty"`
	// Judged is what the run judged, for the next run (see incremental.go).
	Judged *checker.Memory `json:"judged,omitempty"`
}

// outbox is what a generation has to deliver, and who wrote it.
type outbox struct {
	RunKey     string    `json:"run_key"`
	Created    time.Time `json:"created"`
	LeaseUntil time.Time `json:"lease_until"`
	AccountID  string    `json:"account_id"`
	// News is the key of the object holding the report to deliver; ""
	// when the run had nothing to deliver, or no one to deliver it to. It
	// is deleted once delivered.
	News string `json:"news,omitempty"`
	// Head is the report without its findings: what a retry of the run
	// returns once the news is delivered (and gone).
	Head *report.Report `json:"head,omitempty"`
	// Report and Lifecycle are the news itself: read from News when it is
	// to be delivered again, inline in generations before state version 2.
	Report    *report.Report    `json:"report,omitempty"`
	Lifecycle *report.Lifecycle `json:"lifecycle,omitempty"`
}

// stateRead is one read of the newest generation (see ledger.latest).
type stateRead struct {
	gen int64
	g   *generation
	err error
}

// knownKeys is what the check compares the run's keys with: for a change
// event's run, the state's prints of the account's tunnels; for a run of
// the whole account, which sees every key itself, the salt alone (kept,
// so that the prints it leaves compare with the next event's). A dry run
// of the whole account would leave none: it makes none.
func (p Plan) knownKeys(k *lifecycle.KeyPrints) *lifecycle.KeyPrints {
	switch {
	case p.Scope == nil && p.ReadOnlyState:
		return nil
	case k == nil:
		return &lifecycle.KeyPrints{}
	case p.Scope == nil:
		return &lifecycle.KeyPrints{Salt: k.Salt}
	}
	return k
}

// ledger is one account's state in a store.
type ledger struct {
	store   state.Store
	account string
	log     state.Log
	now     func() time.Time
}

func newLedger(store state.Store, account string, now func() time.Time) *ledger {
	if account == "" {
		account = "default"
	}
	prefix := safeKey(account) + "/"
	return &ledger{store: store, account: prefix, log: state.Log{Store: store, Prefix: prefix + "state/", Keep: keepGenerations, MaxBytes: keepGenerationBytes}, now: now}
}

// safeKey turns any text (a run key, an account id) into one store key
// segment: readable where it can be, unique by a short hash.
func safeKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 60 {
			break
		}
	}
	sum := sha256.Sum256([]byte(s))
	return strings.TrimLeft(b.String(), "_") + "-" + hex.EncodeToString(sum[:4])
}

func (l *ledger) runKey(key, name string) string {
	return l.account + "runs/" + safeKey(key) + "/" + name
}
func (l *ledger) genKey(gen int64, name string) string {
	return l.account + "gens/" + strconv.FormatInt(gen, 10) + "/" + name
}

// claimRecord is an attempt's claim on its run key.
type claimRecord struct {
	LeaseUntil time.Time `json:"lease_until"`
	// Digest is what the run's event said (Plan.EventDigest); "" for runs
	// of no event, and in claims older than it.
	Digest string `json:"digest,omitempty"`
}

// attemptKey names attempt n's claim ("claim" for the first, as before
// attempts were numbered) and endKey the mark it leaves when it ends
// without having completed.
func attemptKey(n int) string {
	if n == 1 {
		return "claim"
	}
	return "claim-" + strconv.Itoa(n)
}
func endKey(n int) string { return "end-" + strconv.Itoa(n) }

// claim is what claiming a run key found. Exactly one of these holds:
// held > 0, this run holds attempt held of the key; gen > 0, an attempt
// completed and wrote generation gen (replay it); live, another attempt
// holds the key and may still be working; reused, the key was first
// claimed by an event with another digest.
type claim struct {
	held   int
	gen    int64
	live   bool
	reused bool
}

// claim takes a run key. Attempts are numbered; each is a create-only
// claim, so of racing attempts exactly one takes the next number. An
// attempt that ends without completing leaves an end mark (release), and
// one that died is taken over when its lease has passed: either way the
// next attempt collects and judges again. Only a completed attempt's
// generation, recorded under "gen", ends the key for good.
func (l *ledger) claim(ctx context.Context, key, digest string, lease time.Time) (*claim, error) {
	prefix := l.runKey(key, "")
	body, _ := json.Marshal(claimRecord{LeaseUntil: lease, Digest: digest})
	for range 5 {
		names, err := l.store.List(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("claim run %s: %w", key, err)
		}
		have := map[string]bool{}
		for _, k := range names {
			have[strings.TrimPrefix(k, prefix)] = true
		}
		last := 0
		for have[attemptKey(last+1)] {
			last++
		}
		var first, prev claimRecord
		if last > 0 {
			first = l.readClaim(ctx, key, 1)
			prev = first
			if last > 1 {
				prev = l.readClaim(ctx, key, last)
			}
		}
		if first.Digest != "" && digest != "" && first.Digest != digest {
			return &claim{reused: true}, nil
		}
		if have["gen"] {
			b, err := l.store.Get(ctx, l.runKey(key, "gen"))
			if err != nil {
				return nil, fmt.Errorf("claim run %s: read its generation: %w", key, err)
			}
			// A record that is not a generation number cannot be replaced
			// (create-only): the run checks again rather than wedge its key.
			if gen, err := strconv.ParseInt(string(b), 10, 64); err == nil && gen > 0 {
				return &claim{gen: gen}, nil
			}
		}
		if last > 0 && !have[endKey(last)] && l.now().Before(prev.LeaseUntil) {
			return &claim{live: true}, nil
		}
		err = l.store.Create(ctx, l.runKey(key, attemptKey(last+1)), body)
		if err == nil {
			return &claim{held: last + 1}, nil
		}
		if !errors.Is(err, state.ErrExists) {
			return nil, fmt.Errorf("claim run %s: %w", key, err)
		}
		// Another attempt took this number first: look again.
	}
	return &claim{live: true}, nil
}

// readClaim reads attempt n's claim; one that cannot be read counts as
// lapsed, with no digest.
func (l *ledger) readClaim(ctx context.Context, key string, n int) claimRecord {
	var c claimRecord
	if b, err := l.store.Get(ctx, l.runKey(key, attemptKey(n))); err == nil {
		_ = json.Unmarshal(b, &c)
	}
	return c
}

// release ends attempt n of a run key that did not complete, so that a
// retry collects and judges again at once instead of waiting out the lease.
// It is written even when the run's deadline has passed.
func (l *ledger) release(ctx context.Context, key string, n int) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reserveDelivery)
	defer cancel()
	err := l.store.Create(ctx, l.runKey(key, endKey(n)), []byte(l.now().UTC().Format(time.RFC3339)))
	if err != nil && !errors.Is(err, state.ErrExists) {
		return fmt.Errorf("release run %s: %w", key, err)
	}
	return nil
}

// errCorrupt is a generation that was read but cannot be used. The run
// writes the next generation over it (from the empty state), so that only
// this run is noisy, not every run after it.
var errCorrupt = errors.New("corrupt or of another version")

// latest reads the newest generation. A state that cannot be read or is
// corrupt comes back empty with the reason: the run goes on as if nothing
// were open (noisy, but nothing lost).
func (l *ledger) latest(ctx context.Context) (int64, *generation, error) {
	gen, doc, err := l.log.Latest(ctx)
	if errors.Is(err, state.ErrDamaged) {
		return gen, &generation{State: lifecycle.Empty()}, fmt.Errorf("state generation %d is %w (%v): every finding counts as new, and the state starts afresh", gen, errCorrupt, err)
	}
	if err != nil {
		return 0, &generation{State: lifecycle.Empty()}, fmt.Errorf("read state: %w", err)
	}
	g := &generation{}
	if gen == 0 {
		g.State = lifecycle.Empty()
		return 0, g, nil
	}
	if err := decodeGeneration(doc, g); err != nil || g.State == nil || g.State.Version != lifecycle.Version {
		g.State = lifecycle.Empty()
		return gen, g, fmt.Errorf("state generation %d is %w: every finding counts as new, and the state starts afresh", gen, errCorrupt)
	}
	return gen, g, nil
}

// at reads one generation.
func (l *ledger) at(ctx context.Context, gen int64) (*generation, error) {
	doc, err := l.log.At(ctx, gen)
	if err != nil {
		return nil, err
	}
	g := &generation{}
	if err := decodeGeneration(doc, g); err != nil {
		return nil, fmt.Errorf("state generation %d is corrupt", gen)
	}
	return g, nil
}

// encodeGeneration is a generation's document: gzip'd JSON. The records
// are alike (rule ids, regions, times), so it shrinks about fourfold.
func encodeGeneration(g *generation) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err := json.NewEncoder(zw).Encode(g); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeGeneration reads a generation's document: gzip'd JSON, or the
// plain JSON that generations before state version 2 were.
func decodeGeneration(doc []byte, g *generation) error {
	if !bytes.HasPrefix(doc, gzipMagic) {
		return json.Unmarshal(doc, g)
	}
	zr, err := gzip.NewReader(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	if err := json.NewDecoder(apiwire.LimitBody(zr, int64(maxInflated))).Decode(g); err != nil {
		return err
	}
	return zr.Close()
}

var gzipMagic = []byte{0x1f, 0x8b}

// maxInflated bounds what a gzip'd state object (a generation, a run's
// news) may inflate to: the store caps what is read (state.MaxObject), and
// this caps what a small object of repeated bytes would otherwise grow
// into. A variable only so that its test need not inflate 256 MiB.
var maxInflated = 4 * state.MaxObject

// newsHead is the first line of a news object: the report without its
// findings, and how many findings and fixed findings follow, one a line.
type newsHead struct {
	Report    *report.Report   `json:"report"`
	Lifecycle report.Lifecycle `json:"lifecycle"`
	Findings  int              `json:"findings"`
	Resolved  int              `json:"resolved"`
}

// writeNews stores a run's report under a new key of generation gen, for
// delivery again should this run not finish delivering it. It is written
// a finding at a time: the report's JSON whole would double the run's
// memory.
func (l *ledger) writeNews(ctx context.Context, gen int64, rep *report.Report) (string, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(newsHead{Report: headOf(rep), Lifecycle: rep.Lifecycle, Findings: len(rep.Findings), Resolved: len(rep.Resolved)}); err != nil {
		return "", err
	}
	for _, fs := range [][]report.Finding{rep.Findings, rep.Resolved} {
		for i := range fs {
			if err := enc.Encode(&fs[i]); err != nil {
				return "", err
			}
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	key := l.genKey(gen, "news-"+newsID())
	if err := l.store.Create(ctx, key, buf.Bytes()); err != nil {
		return "", err
	}
	return key, nil
}

// readNews reads what writeNews stored.
func (l *ledger) readNews(ctx context.Context, key string) (*report.Report, error) {
	b, err := l.store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(apiwire.LimitBody(zr, int64(maxInflated)))
	var h newsHead
	if err := dec.Decode(&h); err != nil || h.Report == nil {
		return nil, fmt.Errorf("news %s: corrupt head: %v", key, err)
	}
	// The counts size the lists: a finding takes more than 64 bytes of
	// the inflated object, so no honest count passes this. (Each is
	// bounded before they are added: their sum could overflow.)
	if limit := maxInflated / 64; h.Findings < 0 || h.Resolved < 0 || h.Findings > limit || h.Resolved > limit-h.Findings {
		return nil, fmt.Errorf("news %s: corrupt head: %d findings and %d fixed", key, h.Findings, h.Resolved)
	}
	rep := h.Report
	rep.Lifecycle = h.Lifecycle
	rep.Findings, rep.Resolved = make([]report.Finding, h.Findings), make([]report.Finding, h.Resolved)
	for _, fs := range [][]report.Finding{rep.Findings, rep.Resolved} {
		for i := range fs {
			if err := dec.Decode(&fs[i]); err != nil {
				return nil, fmt.Errorf("news %s: finding %d: %w", key, i, err)
			}
		}
	}
	return rep, nil
}

func newsID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// headOf is the report without its findings: its summary, errors and
// policy revision.
func headOf(rep *report.Report) *report.Report {
	h := *rep
	h.Findings, h.Resolved, h.Lifecycle = []report.Finding{}, []report.Finding{}, report.Lifecycle{}
	return &h
}

// parts lists what was acknowledged of generation gen's news, and whether
// all of it was. Once it was, news objects left there (a delete that
// failed, a writer that lost the race to the generation and died) are
// deleted.
func (l *ledger) parts(ctx context.Context, gen int64) (map[int]string, bool, error) {
	prefix := l.genKey(gen, "")
	keys, err := l.store.List(ctx, prefix)
	if err != nil {
		return nil, false, fmt.Errorf("read deliveries of generation %d: %w", gen, err)
	}
	out, done := map[int]string{}, false
	var news []string
	defer func() {
		if done {
			for _, k := range news {
				_ = l.store.Delete(ctx, k) // only storage: the next look deletes it
			}
		}
	}()
	for _, k := range keys {
		name := strings.TrimPrefix(k, prefix)
		if name == "done" {
			done = true
			continue
		}
		if strings.HasPrefix(name, "news-") {
			news = append(news, k)
			continue
		}
		if s, ok := strings.CutPrefix(name, "part-"); ok {
			if i, err := strconv.Atoi(s); err == nil {
				ts, _ := l.store.Get(ctx, k)
				out[i] = string(ts)
			}
		}
	}
	return out, done, nil
}

// posted records one acknowledged message (create-only: a part is
// recorded once).
func (l *ledger) posted(ctx context.Context, gen int64, part int, ts string) error {
	err := l.store.Create(ctx, l.genKey(gen, "part-"+strconv.Itoa(part)), []byte(ts))
	if errors.Is(err, state.ErrExists) {
		return nil
	}
	return err
}

func (l *ledger) done(ctx context.Context, gen int64) error {
	err := l.store.Create(ctx, l.genKey(gen, "done"), []byte(l.now().UTC().Format(time.RFC3339)))
	if errors.Is(err, state.ErrExists) {
		return nil
	}
	return err
}

// leaseUntil is when an attempt's hold on its run key or its generation's
// news lapses: the deadline and a minute, or 15 minutes without one. It is
// reckoned on the run's own clock (Plan.Now may set it apart from the real
// one), which is the clock the lease is later compared with.
func leaseUntil(ctx context.Context, now time.Time) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return now.Add(time.Until(dl) + time.Minute)
	}
	return now.Add(15 * time.Minute)
}

// pending lists the recent generations whose news was not all delivered
// and whose writer's lease has passed (a run that died mid-delivery), or
// that an earlier attempt of runKey wrote: this run holds the key, so that
// attempt has ended.
func (l *ledger) pending(ctx context.Context, upTo int64, runKey string) []int64 {
	var out []int64
	for g := max(upTo-3, 1); g <= upTo; g++ {
		if _, done, err := l.parts(ctx, g); err != nil || done {
			continue
		}
		gd, err := l.at(ctx, g)
		if err != nil || gd.Outbox == nil || (l.now().Before(gd.Outbox.LeaseUntil) && (runKey == "" || gd.Outbox.RunKey != runKey)) {
			continue
		}
		out = append(out, g)
	}
	return out
}

// deliver posts a generation's news, skipping what was acknowledged, and
// marks it done.
func (l *ledger) deliver(ctx context.Context, n Notifier, gen int64, ob *outbox, scrub notify.Scrubber) (*notify.Delivery, error) {
	got, done, err := l.parts(ctx, gen)
	if err != nil {
		return nil, err
	}
	if done {
		return &notify.Delivery{Skipped: len(got)}, nil
	}
	d := notify.Delivery{}
	if n != nil && ob.Report == nil && ob.News != "" {
		rep, err := l.readNews(ctx, ob.News)
		switch {
		case errors.Is(err, state.ErrNotFound):
			// Deleted by hand: nothing is left to deliver.
		case err != nil:
			return nil, fmt.Errorf("read the news of generation %d: %w", gen, err)
		default:
			ob.Report, ob.Lifecycle = rep, &rep.Lifecycle
		}
	}
	news := false
	if ob.Report != nil {
		r := *ob.Report
		if ob.Lifecycle != nil {
			r.Lifecycle = *ob.Lifecycle
		}
		news = r.News()
	}
	if n != nil && news { // nothing changed: nothing is said
		rep := *ob.Report
		rep.AccountID = ob.AccountID
		if ob.Lifecycle != nil {
			rep.Lifecycle = *ob.Lifecycle
		}
		run := notify.Run{Key: ob.RunKey, AccountID: ob.AccountID, Scrubber: scrub, Delivered: got, At: ob.Created,
			OnPosted: func(part int, ts string) error { return l.posted(ctx, gen, part, ts) }}
		if d, err = n.NotifyReport(ctx, run, &rep); err != nil {
			return &d, err
		}
	}
	if err := l.done(ctx, gen); err != nil {
		return &d, err
	}
	if ob.News != "" {
		_ = l.store.Delete(ctx, ob.News) // delivered: only storage now (parts deletes it later)
	}
	return &d, nil
}

// advance compares the run with the state, writes the next generation with
// its news, delivers the news and marks it done. With ReadOnlyState it
// only compares (the caller then delivers as a stateless run would). A
// state that cannot be read or written is an error entry in the report,
// and the run goes on without it.
//
// handled is false when the news is left to the caller to deliver (read
// only, or the state could not be used). read, when set, is the state as
// the run read it before its check: the first comparison uses it. whole
// says the run collected everything it was asked to: only then is its
// generation recorded under its run key (recorded), for retries to replay.
func (p Plan) advance(ctx context.Context, led *ledger, res *checker.Result, now time.Time, read *stateRead, whole bool) (d *notify.Delivery, handled, recorded bool, err error) {
	rep := res.Report
	judged := completelyJudged(rep)
	opts := lifecycle.Options{Now: now, DigestEvery: p.DigestEvery, Judged: judged, Suppressed: res.Suppressed, Hidden: res.Hidden,
		Partial: p.Scope.partial(rep.AccountID), Keys: res.KeyPrints}
	var scrub notify.Scrubber
	if res.Secrets != nil {
		scrub = res.Secrets
	}
	for attempt := 1; ; attempt++ {
		r := read
		if attempt > 1 || r == nil {
			r = &stateRead{}
			r.gen, r.g, r.err = led.latest(ctx)
		}
		gen, g, err := r.gen, r.g, r.err
		if err != nil {
			rep.Errors = append(rep.Errors, report.ErrorEntry{Code: report.CodeStateUnreadable, Message: err.Error() + " (" + led.store.String() + ")"})
		}
		if err == nil && !p.ReadOnlyState {
			if err := p.deliverPending(ctx, led, gen); err != nil {
				return nil, true, false, err
			}
		}
		rep.Resolved = rep.Resolved[:0]
		next := lifecycle.Advance(g.State, rep, opts)
		g.State = nil // the previous state, as large as the next one: free while the next is written
		nameResolved(p.Engine, rep.Resolved)
		if p.ReadOnlyState || (err != nil && !errors.Is(err, errCorrupt)) {
			return nil, false, false, nil // a store that cannot be read is not written either
		}
		ob := &outbox{RunKey: p.RunKey, Created: now.UTC(), LeaseUntil: leaseUntil(ctx, led.now()), AccountID: rep.AccountID, Head: headOf(rep)}
		err = nil
		if p.Notifier != nil && rep.News() {
			// Kept apart until delivered: a retry, or the next run, posts
			// from it what was not acknowledged.
			if ob.News, err = led.writeNews(ctx, gen+1, rep); err != nil {
				err = fmt.Errorf("write the news of state generation %d: %w", gen+1, err)
			}
		}
		var doc []byte
		if err == nil {
			if doc, err = encodeGeneration(&generation{State: next, Outbox: ob, Judged: p.memory(res, g, whole)}); err != nil {
				return nil, false, false, fmt.Errorf("encode state: %w", err)
			}
			err = led.log.Append(ctx, gen+1, doc)
		}
		if err != nil && ob.News != "" {
			_ = led.store.Delete(ctx, ob.News) // no generation names it
		}
		if errors.Is(err, state.ErrExists) && attempt < 5 {
			continue // another run wrote first: compare with what it wrote
		}
		if err != nil {
			rep.Errors = append(rep.Errors, report.ErrorEntry{Code: report.CodeStateUnwritable,
				Message: fmt.Sprintf("write state generation %d: %v (%s): this run's news is delivered without duplicate protection", gen+1, err, led.store.String())})
			return nil, false, false, nil
		}
		if p.RunKey != "" && whole {
			recorded = p.recordRun(ctx, led, gen+1, rep)
		}
		ob.Report, ob.Lifecycle = rep, &rep.Lifecycle // in memory: not read back
		d, err := led.deliver(ctx, p.Notifier, gen+1, ob, scrub)
		if err == nil {
			_ = led.log.Prune(ctx) // old generations only cost storage
		}
		return d, true, recorded, err
	}
}

// resume finishes a run key whose generation an earlier attempt wrote:
// posts what was not acknowledged, nothing if all was.
func (p Plan) resume(ctx context.Context, led *ledger, gen int64) Outcome {
	var out Outcome
	g, err := led.at(ctx, gen)
	if err != nil || g.Outbox == nil {
		out.Err = fmt.Errorf("resume run %s: read generation %d: %v", p.RunKey, gen, err)
		return out
	}
	ob := g.Outbox
	out.Delivery, err = led.deliver(ctx, p.Notifier, gen, ob, nil)
	if err != nil {
		out.Err = fmt.Errorf("notify: %w", err)
	}
	// The report as delivered when its news was read back (or kept whole,
	// as generations before state version 2 did); else its head: the
	// findings went out with the run that found them.
	rep := ob.Report
	if rep == nil {
		rep = ob.Head
	}
	if rep == nil {
		out.Err = errors.Join(out.Err, fmt.Errorf("resume run %s: generation %d keeps no report", p.RunKey, gen))
		return out
	}
	if ob.Lifecycle != nil {
		rep.Lifecycle = *ob.Lifecycle
	}
	rep.AccountID = ob.AccountID
	out.Report = rep
	return out
}

// deliverPending sends first the news that runs which died before
// delivering left in generations up to gen.
func (p Plan) deliverPending(ctx context.Context, led *ledger, gen int64) error {
	for _, pg := range led.pending(ctx, gen, p.RunKey) {
		if old, err := led.at(ctx, pg); err == nil && old.Outbox != nil {
			if _, err := led.deliver(ctx, p.Notifier, pg, old.Outbox, nil); err != nil {
				return fmt.Errorf("deliver the news of generation %d, left undelivered by an earlier run: %w", pg, err)
			}
		}
	}
	return nil
}

// recordRun records the run key as done with generation gen, before the
// news goes out: a retry after a crash mid-delivery replays this
// generation's news, no more. (A run that did not collect everything is
// not recorded: its retry checks again, against this generation.) A
// failure to record is an error of the report.
func (p Plan) recordRun(ctx context.Context, led *ledger, gen int64, rep *report.Report) bool {
	err := led.store.Create(ctx, led.runKey(p.RunKey, "gen"), []byte(strconv.FormatInt(gen, 10)))
	if err == nil || errors.Is(err, state.ErrExists) {
		return true
	}
	rep.Errors = append(rep.Errors, report.ErrorEntry{Code: report.CodeStateUnwritable, Message: fmt.Sprintf("record run %s: %v", p.RunKey, err)})
	return false
}

// completelyJudged says whether a finding's place was judged whole in this
// run: its region scanned, with no page, listing or evaluation missing.
func completelyJudged(rep *report.Report) func(*report.Finding) bool {
	ok := map[string]bool{}
	for _, r := range rep.Summary.RegionsScan {
		ok[r] = true
	}
	for _, r := range rep.Summary.RegionsFailed {
		delete(ok, r)
	}
	for _, e := range rep.Errors {
		switch e.Code {
		case report.CodeIncompleteInventory, report.CodeIncompleteResponse, report.CodeNotJudged, report.CodeDeadlineExceeded:
			delete(ok, e.Region)
		}
	}
	return func(f *report.Finding) bool {
		return ok[f.Region] && (rep.AccountID == "" || f.AccountID == "" || f.AccountID == rep.AccountID)
	}
}

// nameResolved gives fixed findings their rule's title: the state keeps
// of a finding its rule and place, not its texts.
func nameResolved(eng *checker.Engine, fs []report.Finding) {
	if eng == nil || len(fs) == 0 {
		return
	}
	titles := map[string]string{}
	for _, r := range eng.Rules() {
		titles[r.ID] = r.Title
	}
	for i := range fs {
		if fs[i].Title == "" {
			fs[i].Title = titles[fs[i].Rule]
		}
	}
}

// ReadState is the lifecycle state a generation's document holds (as
// state.Log returns it), in either format: for tools and tests that look
// into a store.
func ReadState(doc []byte) (*lifecycle.State, error) {
	g := &generation{}
	if err := decodeGeneration(doc, g); err != nil {
		return nil, fmt.Errorf("decode state generation: %w", err)
	}
	if g.State == nil {
		return nil, errors.New("decode state generation: no state")
	}
	return g.State, nil
}
