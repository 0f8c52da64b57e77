package report

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// SortFindings orders as a stable sort on its order does: findings equal
// in severity and place keep their order (told apart here by Title).
func TestSortFindingsIsStable(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	for round := range 200 {
		fs := make([]Finding, rng.IntN(300))
		for i := range fs {
			fs[i] = Finding{Severity: Severity(rng.IntN(5)), AccountID: pick("", "a"), Region: pick("r1", "r2"),
				ConnectionID: pick("c1", "c2", "c3"), TunnelID: pick("", "t1"), Rule: pick("x", "y"), Message: pick("m", "n"),
				Title: strconv.Itoa(i)}
		}
		want := slices.Clone(fs)
		slices.SortStableFunc(want, func(a, b Finding) int { return compareFindings(&a, &b) })
		SortFindings(fs)
		if !reflect.DeepEqual(fs, want) {
			t.Fatalf("round %d: order differs from a stable sort", round)
		}
	}
}
