package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DefaultKeep is how many generations Prune keeps when Log.Keep <= 0.
const DefaultKeep = 10

// Log keeps one document as numbered immutable generations under Prefix
// (keys like "<prefix>gen-00000000000000000042.json"), written
// create-only: a writer reads the latest generation, computes the next
// document and appends it as gen+1; of concurrent writers exactly one
// wins, and the others re-read and recompute.
type Log struct {
	Store  Store
	Prefix string
	Keep   int
}

const (
	genPrefix = "gen-"
	genDigits = 20
	genSuffix = ".json"
)

func (l Log) key(gen int64) string {
	return fmt.Sprintf("%s%s%0*d%s", l.Prefix, genPrefix, genDigits, gen, genSuffix)
}

func (l Log) String() string { return fmt.Sprintf("log %q in %s", l.Prefix, l.Store) }

// gens lists the generations present, oldest first.
func (l Log) gens(ctx context.Context) ([]int64, error) {
	keys, err := l.Store.List(ctx, l.Prefix+genPrefix)
	if err != nil {
		return nil, err
	}
	var gens []int64
	for _, k := range keys {
		s, ok := strings.CutPrefix(k, l.Prefix+genPrefix)
		if !ok {
			continue
		}
		if s, ok = strings.CutSuffix(s, genSuffix); !ok || len(s) != genDigits {
			continue
		}
		if g, err := strconv.ParseInt(s, 10, 64); err == nil && g > 0 {
			gens = append(gens, g)
		}
	}
	slices.Sort(gens)
	return gens, nil
}

// Latest returns the newest generation and its document: gen 0 and nil
// data when there is none.
func (l Log) Latest(ctx context.Context) (gen int64, data []byte, err error) {
	// The newest generation can vanish between List and Get only if
	// Keep newer ones were appended and pruned meanwhile: look again.
	for range 3 {
		gens, err := l.gens(ctx)
		if err != nil {
			return 0, nil, fmt.Errorf("latest generation of %s: %w", l, err)
		}
		if len(gens) == 0 {
			return 0, nil, nil
		}
		gen = gens[len(gens)-1]
		data, err = l.Store.Get(ctx, l.key(gen))
		if err == nil {
			return gen, data, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return 0, nil, fmt.Errorf("latest generation of %s: %w", l, err)
		}
	}
	return 0, nil, fmt.Errorf("latest generation of %s: generations keep vanishing under concurrent pruning", l)
}

// Append writes data as generation gen, which must be the generation
// Latest returned plus one. ErrExists means another writer took gen (or a
// later one): re-read with Latest and recompute.
func (l Log) Append(ctx context.Context, gen int64, data []byte) error {
	if gen < 1 {
		return fmt.Errorf("append generation %d of %s: generations start at 1", gen, l)
	}
	// A writer far behind could otherwise re-create a generation that was
	// already written and pruned, and believe it had won. Any generation
	// at or after gen means this writer is stale.
	gens, err := l.gens(ctx)
	if err != nil {
		return fmt.Errorf("append generation %d of %s: %w", gen, l, err)
	}
	if n := len(gens); n > 0 && gens[n-1] >= gen {
		return fmt.Errorf("append generation %d of %s: generation %d is there: %w", gen, l, gens[n-1], ErrExists)
	}
	if err := l.Store.Create(ctx, l.key(gen), data); err != nil {
		return fmt.Errorf("append generation %d: %w", gen, err)
	}
	return nil
}

// Prune deletes all but the newest Keep generations (DefaultKeep when
// Keep <= 0), oldest first.
func (l Log) Prune(ctx context.Context) error {
	keep := l.Keep
	if keep <= 0 {
		keep = DefaultKeep
	}
	gens, err := l.gens(ctx)
	if err != nil {
		return fmt.Errorf("prune %s: %w", l, err)
	}
	if len(gens) <= keep {
		return nil
	}
	for _, g := range gens[:len(gens)-keep] {
		if err := l.Store.Delete(ctx, l.key(g)); err != nil {
			return fmt.Errorf("prune %s: %w", l, err)
		}
	}
	return nil
}
