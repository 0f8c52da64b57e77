package state_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/vpncheck/vpncheck/checker/state"
)

// Prune keeps the newest generations by count and by their total size,
// never fewer than MinKeepBySize.
func TestLogPruneBySize(t *testing.T) {
	for _, tc := range []struct {
		name     string
		keep     int
		maxBytes int64
		want     int
	}{
		{"count binds", 6, 1 << 20, 6},
		{"size binds", 24, 5500, 5},
		{"no bound on size", 8, 0, 8},
		{"never fewer than the minimum", 24, 10, state.MinKeepBySize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := state.Open(t.Context(), filepath.Join(t.TempDir(), "state"), state.Options{})
			if err != nil {
				t.Fatal(err)
			}
			l := state.Log{Store: s, Prefix: "p/", Keep: tc.keep, MaxBytes: tc.maxBytes}
			for gen := int64(1); gen <= 12; gen++ {
				doc := bytes.Repeat([]byte{'x'}, 1000)
				if err := l.Append(t.Context(), gen, doc); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Prune(t.Context()); err != nil {
				t.Fatal(err)
			}
			keys, _ := s.List(t.Context(), "p/")
			if len(keys) != tc.want {
				t.Errorf("kept %d generations %q, want %d", len(keys), keys, tc.want)
			}
			if gen, _, err := l.Latest(t.Context()); gen != 12 || err != nil {
				t.Errorf("latest %d, %v", gen, err)
			}
			if _, err := l.At(t.Context(), int64(12-tc.want+1)); err != nil {
				t.Errorf("the oldest generation kept: %v", err)
			}
		})
	}
}
