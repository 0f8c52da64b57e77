// Package storetest is the contract every state.Store passes: run it
// against each store with a fresh, empty store per subtest.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vpncheck/vpncheck/checker/state"
)

// Run runs the contract. open returns a new, empty store each call.
func Run(t *testing.T, open func(t *testing.T) state.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, state.Store)
	}{
		{"GetMissing", getMissing},
		{"CreateGet", createGet},
		{"CreateTwice", createTwice},
		{"CreateRace", createRace},
		{"List", list},
		{"Delete", deleteKeys},
		{"InvalidKeys", invalidKeys},
		{"LogCounter", logCounter},
		{"LogPrune", logPrune},
		{"LogStaleWriter", logStaleWriter},
		{"LogStrayGeneration", logStrayGeneration},
		{"TooLarge", tooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

func getMissing(t *testing.T, s state.Store) {
	for _, key := range []string{"missing", "a/b/missing"} {
		if _, err := s.Get(t.Context(), key); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("Get(%q) error %v, want ErrNotFound", key, err)
		}
	}
	mustCreate(t, s, "dir/file", "x")
	if _, err := s.Get(t.Context(), "dir"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Get of a key's parent: error %v, want ErrNotFound", err)
	}
	if _, err := s.Get(t.Context(), "dir/file/below"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Get below a key: error %v, want ErrNotFound", err)
	}
}

func createGet(t *testing.T, s state.Store) {
	tests := []struct{ key, data string }{
		{"plain", `{"a":1}`},
		{"deep/er/key.json", "nested"},
		{"empty", ""},
		{"binary", "\x00\xff\n\r\x7f"},
		{"spaces and ü+%", "odd key"},
	}
	for _, tt := range tests {
		mustCreate(t, s, tt.key, tt.data)
		got, err := s.Get(t.Context(), tt.key)
		if err != nil || string(got) != tt.data {
			t.Errorf("Get(%q) = %q, %v; want %q", tt.key, got, err, tt.data)
		}
	}
}

func createTwice(t *testing.T, s state.Store) {
	mustCreate(t, s, "k", "first")
	if err := s.Create(t.Context(), "k", []byte("second")); !errors.Is(err, state.ErrExists) {
		t.Fatalf("second Create: error %v, want ErrExists", err)
	}
	if got, err := s.Get(t.Context(), "k"); err != nil || string(got) != "first" {
		t.Errorf("Get = %q, %v; want the first content", got, err)
	}
}

func createRace(t *testing.T, s state.Store) {
	const n = 16
	var wins, losses atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := s.Create(t.Context(), "claim", fmt.Appendf(nil, "writer %d", i))
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, state.ErrExists):
				losses.Add(1)
			default:
				t.Errorf("writer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || losses.Load() != n-1 {
		t.Fatalf("%d winners, %d losers; want 1 and %d", wins.Load(), losses.Load(), n-1)
	}
	if got, err := s.Get(t.Context(), "claim"); err != nil || len(got) == 0 {
		t.Errorf("Get = %q, %v", got, err)
	}
}

func list(t *testing.T, s state.Store) {
	var all []string
	for i := range 12 {
		all = append(all, fmt.Sprintf("findings/%02d.json", i))
	}
	all = append(all, "findings-old", "findings/sub/deep.json", "claims/a", "claims/b/c", "top")
	for _, k := range slices.Backward(all) { // not in order
		mustCreate(t, s, k, k)
	}
	findings := slices.Clone(all[:12])
	findings = append(findings, "findings/sub/deep.json")
	sorted := slices.Sorted(slices.Values(all))
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", sorted},
		{"findings/", findings},
		{"findings", append([]string{"findings-old"}, findings...)},
		{"findings/1", []string{"findings/10.json", "findings/11.json"}},
		{"claims/b/", []string{"claims/b/c"}},
		{"top", []string{"top"}},
		{"nothing/", nil},
		{"top/", nil},
	}
	for _, tt := range tests {
		got, err := s.List(t.Context(), tt.prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", tt.prefix, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("List(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}

func deleteKeys(t *testing.T, s state.Store) {
	mustCreate(t, s, "a/b", "x")
	mustCreate(t, s, "a/c", "y")
	for range 2 { // a second Delete finds nothing, and that is fine
		if err := s.Delete(t.Context(), "a/b"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if err := s.Delete(t.Context(), "never/was"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	if _, err := s.Get(t.Context(), "a/b"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Get after Delete: error %v, want ErrNotFound", err)
	}
	if got, _ := s.List(t.Context(), ""); !slices.Equal(got, []string{"a/c"}) {
		t.Errorf("List after Delete = %q", got)
	}
	// A deleted key can be created again.
	mustCreate(t, s, "a/b", "again")
}

func invalidKeys(t *testing.T, s state.Store) {
	for _, key := range []string{"", "/abs", "a//b", "a/", "../up", "a/../b", "./a", ".hidden", "a/.tmp-1"} {
		if err := s.Create(t.Context(), key, []byte("x")); !errors.Is(err, state.ErrInvalidKey) {
			t.Errorf("Create(%q): error %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Get(t.Context(), key); !errors.Is(err, state.ErrInvalidKey) {
			t.Errorf("Get(%q): error %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(t.Context(), key); !errors.Is(err, state.ErrInvalidKey) {
			t.Errorf("Delete(%q): error %v, want ErrInvalidKey", key, err)
		}
	}
	for _, prefix := range []string{"/abs", "../", "a/../", "a//"} {
		if _, err := s.List(t.Context(), prefix); !errors.Is(err, state.ErrInvalidKey) {
			t.Errorf("List(%q): error %v, want ErrInvalidKey", prefix, err)
		}
	}
}

type counter struct {
	N int `json:"n"`
}

// increment adds one to the counter document, retrying on ErrExists.
func increment(ctx context.Context, l state.Log) (retries int, err error) {
	for {
		gen, data, err := l.Latest(ctx)
		if err != nil {
			return retries, err
		}
		var c counter
		if data != nil {
			if err := json.Unmarshal(data, &c); err != nil {
				return retries, fmt.Errorf("generation %d: %w", gen, err)
			}
		}
		c.N++
		next, _ := json.Marshal(c)
		err = l.Append(ctx, gen+1, next)
		if !errors.Is(err, state.ErrExists) {
			return retries, err
		}
		retries++
	}
}

func logCounter(t *testing.T, s state.Store) {
	const writers, each = 4, 5
	l := state.Log{Store: s, Prefix: "counter/", Keep: 3}
	var wg sync.WaitGroup
	var retries atomic.Int32
	for w := range writers {
		wg.Go(func() {
			for range each {
				r, err := increment(t.Context(), l)
				retries.Add(int32(r))
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				if err := l.Prune(t.Context()); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	gen, data, err := l.Latest(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var c counter
	if err := json.Unmarshal(data, &c); err != nil || c.N != writers*each || gen != writers*each {
		t.Fatalf("latest generation %d holds %s (%v); want %d increments", gen, data, err, writers*each)
	}
	t.Logf("%d increments by %d writers, %d retries", writers*each, writers, retries.Load())
}

func logPrune(t *testing.T, s state.Store) {
	tests := []struct {
		keep, want int
	}{
		{3, 3},
		{0, state.DefaultKeep},
		{50, 12}, // fewer than Keep: nothing to prune
	}
	for _, tt := range tests {
		l := state.Log{Store: s, Prefix: fmt.Sprintf("keep%d/", tt.keep), Keep: tt.keep}
		if gen, data, err := l.Latest(t.Context()); gen != 0 || data != nil || err != nil {
			t.Fatalf("Latest of an empty log = %d, %q, %v", gen, data, err)
		}
		for gen := int64(1); gen <= 12; gen++ {
			if err := l.Append(t.Context(), gen, fmt.Appendf(nil, "%d", gen)); err != nil {
				t.Fatal(err)
			}
		}
		mustCreate(t, s, l.Prefix+"gen-unrelated.json", "not a generation")
		if err := l.Prune(t.Context()); err != nil {
			t.Fatal(err)
		}
		keys, err := s.List(t.Context(), l.Prefix)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != tt.want+1 || keys[0] != fmt.Sprintf("%sgen-%020d.json", l.Prefix, 12-tt.want+1) {
			t.Errorf("Keep %d: after Prune %q; want the newest %d generations", tt.keep, keys, tt.want)
		}
		if gen, data, err := l.Latest(t.Context()); gen != 12 || string(data) != "12" || err != nil {
			t.Errorf("Keep %d: Latest = %d, %q, %v; want 12", tt.keep, gen, data, err)
		}
	}
}

// logStaleWriter: a writer that fell behind while others appended and
// pruned must not win by re-creating a pruned generation.
func logStaleWriter(t *testing.T, s state.Store) {
	ctx := t.Context()
	tests := []struct {
		name    string
		gens    int64 // appended first
		keep    int   // then pruned to
		deleted int64 // then deleted, as a prune racing the writer would
		want    func(error) bool
	}{
		// The writer read generation 1; generation 1 is gone by now.
		{"parent pruned", 3, 1, 0, isExists},
		// The writer read 1; 2 was written, 2 deleted; the writer creates 2 again.
		{"generation re-created", 4, 0, 2, isExists},
		// As above, with more generations above than the ancestry covers.
		{"too far behind to tell", 20, 0, 2, func(err error) bool { return err != nil && !isExists(err) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := state.Log{Store: s, Prefix: strings.ReplaceAll(tt.name, " ", "-") + "/", Keep: tt.keep}
			for gen := int64(1); gen <= tt.gens; gen++ {
				if err := l.Append(ctx, gen, fmt.Appendf(nil, "%d", gen)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.keep > 0 {
				if err := l.Prune(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if tt.deleted > 0 {
				if err := s.Delete(ctx, fmt.Sprintf("%sgen-%020d.json", l.Prefix, tt.deleted)); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Append(ctx, 2, []byte("stale")); !tt.want(err) {
				t.Errorf("stale Append: error %v", err)
			}
			if gen, data, err := l.Latest(ctx); gen != tt.gens || string(data) != fmt.Sprint(tt.gens) || err != nil {
				t.Errorf("Latest = %d, %q, %v; want %d", gen, data, err, tt.gens)
			}
		})
	}
	l := state.Log{Store: s, Prefix: "zero/"}
	if err := l.Append(ctx, 0, []byte("zero")); err == nil || isExists(err) {
		t.Errorf("Append of generation 0: error %v, want a plain error", err)
	}
}

// logStrayGeneration: an object named like a generation whose number
// cannot follow the log's (the largest int64, or far beyond the newest
// generation) is not part of the log: Latest and Append go on as if it
// were not there, instead of wedging on a successor that would overflow.
func logStrayGeneration(t *testing.T, s state.Store) {
	ctx := t.Context()
	tests := []struct {
		name   string
		gens   int64    // appended first
		strays []string // then created, with junk
		want   int64    // Latest before the next Append
	}{
		{"alone at the largest number", 0, []string{"09223372036854775807"}, 0},
		{"above the log", 3, []string{"09223372036854775807", "09223372036854775806"}, 3},
		{"far above the log", 3, []string{fmt.Sprintf("%020d", 3+1<<41)}, 3},
		{"far above, then one after it", 2, []string{fmt.Sprintf("%020d", 2+1<<42), fmt.Sprintf("%020d", 3+1<<42)}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := state.Log{Store: s, Prefix: strings.ReplaceAll(tt.name, " ", "-") + "/", Keep: 2}
			for gen := int64(1); gen <= tt.gens; gen++ {
				if err := l.Append(ctx, gen, fmt.Appendf(nil, "%d", gen)); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range tt.strays {
				mustCreate(t, s, l.Prefix+"gen-"+n+".json", "stray")
			}
			for run := range 3 {
				want := tt.want + int64(run)
				gen, data, err := l.Latest(ctx)
				if gen != want || err != nil || (want > 0 && string(data) != fmt.Sprint(want)) {
					t.Fatalf("run %d: Latest = %d, %q, %v; want %d", run, gen, data, err, want)
				}
				if err := l.Append(ctx, gen+1, fmt.Appendf(nil, "%d", gen+1)); err != nil {
					t.Fatalf("run %d: %v", run, err)
				}
				if err := l.Prune(ctx); err != nil {
					t.Fatalf("run %d: %v", run, err)
				}
			}
		})
	}
}

// tooLarge: Get refuses an object over state.MaxObject without reading it
// whole; a generation that large is damaged, superseded by the next
// Append; and Append refuses to write one.
func tooLarge(t *testing.T, s state.Store) {
	if testing.Short() {
		t.Skip("writes a 64 MiB object")
	}
	ctx := t.Context()
	l := state.Log{Store: s, Prefix: "large/"}
	if err := l.Append(ctx, 1, []byte("1")); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, state.MaxObject+1)
	key := l.Prefix + "gen-00000000000000000002.json"
	if err := s.Create(ctx, key, big); err != nil {
		t.Fatal(err)
	}
	big = nil
	if data, err := s.Get(ctx, key); !errors.Is(err, state.ErrTooLarge) || data != nil {
		t.Fatalf("Get of %d bytes: %d bytes, error %v; want ErrTooLarge", state.MaxObject+1, len(data), err)
	}
	gen, data, err := l.Latest(ctx)
	if gen != 2 || data != nil || !errors.Is(err, state.ErrDamaged) || !errors.Is(err, state.ErrTooLarge) {
		t.Fatalf("Latest = %d, %d bytes, %v; want generation 2 damaged (too large)", gen, len(data), err)
	}
	if err := l.Append(ctx, 3, []byte("3")); err != nil {
		t.Fatalf("Append over the large generation: %v", err)
	}
	if gen, data, err := l.Latest(ctx); gen != 3 || string(data) != "3" || err != nil {
		t.Fatalf("Latest = %d, %q, %v; want 3", gen, data, err)
	}
	if err := l.Append(ctx, 4, make([]byte, state.MaxObject)); err == nil || isExists(err) {
		t.Errorf("Append of a generation over the limit: error %v, want a plain error", err)
	}
	if _, err := s.Get(ctx, l.Prefix+"gen-00000000000000000004.json"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("the refused generation was written: %v", err)
	}
}

func isExists(err error) bool { return errors.Is(err, state.ErrExists) }

func mustCreate(t *testing.T, s state.Store, key, data string) {
	t.Helper()
	if err := s.Create(t.Context(), key, []byte(data)); err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
}
