package run

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/state"
)

// A gzip'd state object is inflated within a bound: a small generation of
// repeated bytes does not grow into gigabytes, and a news head's counts
// cannot size lists beyond what the object could hold.
func TestInflatedStateIsBounded(t *testing.T) {
	if maxInflated != 4*state.MaxObject {
		t.Fatalf("maxInflated = %d, want four times the store's cap", maxInflated)
	}
	// The bound's mechanism, at a sixteenth of its size (256 MiB of JSON
	// to scan took seconds of CPU; the reader and limit are the same).
	defer func(n int) { maxInflated = n }(maxInflated)
	maxInflated /= 16
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestSpeed) // small enough, and four times quicker to make
	zw.Write([]byte(`{"state": {"findings": {"`))
	chunk := []byte(strings.Repeat("a", 1<<20))
	for range (maxInflated >> 20) + 1 {
		zw.Write(chunk)
	}
	zw.Close()
	if bomb.Len() > state.MaxObject {
		t.Fatalf("the bomb is %d bytes, over what the store reads", bomb.Len())
	}
	var g generation
	if err := decodeGeneration(bomb.Bytes(), &g); !errors.Is(err, apiwire.ErrBodyTooLarge) {
		t.Errorf("a generation inflating past %d bytes: err = %v, want ErrBodyTooLarge", maxInflated, err)
	}

	store, err := state.Open(context.Background(), t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := newLedger(store, "1", time.Now)
	// Counts whose sum overflows to less than the bound are refused too.
	for i, counts := range []string{`"findings": 1000000000000, "resolved": 0`, `"findings": 9223372036854775807, "resolved": 1`} {
		var head bytes.Buffer
		zw = gzip.NewWriter(&head)
		zw.Write([]byte(`{"report": {"schema_version": 1}, ` + counts + `}` + "\n"))
		zw.Close()
		key := fmt.Sprintf("1/news-%d", i)
		if err := store.Create(context.Background(), key, head.Bytes()); err != nil {
			t.Fatal(err)
		}
		if _, err := l.readNews(context.Background(), key); err == nil || !strings.Contains(err.Error(), "corrupt head") {
			t.Errorf("a news head claiming %s: err = %v, want a corrupt head", counts, err)
		}
	}
}
