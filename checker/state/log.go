package state

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DefaultKeep is how many generations Prune keeps when Log.Keep <= 0.
const DefaultKeep = 10

// ancestry is how many ancestors' ids each generation records.
const ancestry = 16

// Log keeps one document as numbered immutable generations under Prefix
// (keys like "<prefix>gen-00000000000000000042.json"), written
// create-only: a writer reads the latest generation, computes the next
// document and appends it as gen+1; of concurrent writers exactly one
// wins, and the others re-read and recompute.
//
// Create-only alone is not enough once Prune deletes: a writer that fell
// Keep generations behind could re-create a pruned generation and believe
// it had won. So each object starts with a header line naming its own
// random id and its ancestors' ids, and Append, after creating its
// generation, checks that the newest generation descends from it.
//
// Prune keeps the newest Keep generations, and of those only as many as
// fit in MaxBytes together (never fewer than MinKeepBySize): each header
// also records the sizes of its generation and of its recent ancestors, so
// that Prune learns them from the newest generation alone.
type Log struct {
	Store    Store
	Prefix   string
	Keep     int
	MaxBytes int64 // 0: no bound on the total size
}

// MinKeepBySize is how many generations Prune keeps whatever their size:
// a run looks back this far for news a run before it left undelivered.
const MinKeepBySize = 4

// sizeHistory is how many ancestors' sizes a header records at least.
const sizeHistory = 32

const (
	genPrefix    = "gen-"
	genDigits    = 20
	genSuffix    = ".json"
	headerPrefix = "vpncheck-log/1 "
)

// header is the first line of every generation's object.
type header struct {
	Gen       int64    `json:"gen"`
	ID        string   `json:"id"`
	Ancestors []string `json:"ancestors,omitempty"` // parent first
	// Size is the generation's document's size in bytes, and Sizes its
	// ancestors', parent first; absent in headers written before them.
	Size  int64   `json:"size,omitempty"`
	Sizes []int64 `json:"sizes,omitempty"`
}

var errUnknown = errors.New("outcome unknown")

// ErrDamaged is a generation whose header line is unreadable. Latest
// returns it with the generation's number: appending after it heals the
// log (the next generation starts a new line of descent).
var ErrDamaged = errors.New("not a " + strings.TrimSpace(headerPrefix) + " object")

// tooLarge is a generation over MaxObject: ErrDamaged, in its own words.
type tooLarge struct{ error }

func (e tooLarge) Is(target error) bool { return target == ErrDamaged }
func (e tooLarge) Unwrap() error        { return e.error }

func (l Log) String() string { return fmt.Sprintf("log %q in %s", l.Prefix, l.Store) }

func (l Log) key(gen int64) string {
	return fmt.Sprintf("%s%s%0*d%s", l.Prefix, genPrefix, genDigits, gen, genSuffix)
}

// maxGap is how far above the generation below it (0 for the lowest) a
// generation may be numbered. Generations are appended one by one, so the
// ones present are consecutive; a number far beyond is a stray object
// (gen-09223372036854775807.json, whose successor would overflow) and is
// not part of the log. 2^40 appends at one a second take 35,000 years.
const maxGap = 1 << 40

// gens lists the generations present, oldest first, leaving out numbers
// that cannot be part of the log (see maxGap).
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
	kept, below := gens[:0], int64(0)
	for _, g := range gens {
		if g-below <= maxGap {
			kept = append(kept, g)
			below = g
		}
	}
	return kept, nil
}

// read returns a generation's header and document.
func (l Log) read(ctx context.Context, gen int64) (header, []byte, error) {
	obj, err := l.Store.Get(ctx, l.key(gen))
	if errors.Is(err, ErrTooLarge) {
		// Never one of ours (Append refuses to write one): superseded
		// like any damaged generation.
		return header{}, nil, tooLarge{fmt.Errorf("generation %d: %w", gen, err)}
	}
	if err != nil {
		return header{}, nil, err
	}
	line, doc, ok := bytes.Cut(obj, []byte("\n"))
	var h header
	if !ok || !bytes.HasPrefix(line, []byte(headerPrefix)) ||
		json.Unmarshal(line[len(headerPrefix):], &h) != nil || h.Gen != gen || h.ID == "" {
		return header{}, nil, fmt.Errorf("generation %d: %w", gen, ErrDamaged)
	}
	return h, doc, nil
}

// Latest returns the newest generation and its document: gen 0 and nil
// data when there is none.
func (l Log) Latest(ctx context.Context) (int64, []byte, error) {
	// The newest generation can vanish between List and Get only if Keep
	// newer ones were appended and pruned meanwhile: look again.
	for range 3 {
		gens, err := l.gens(ctx)
		if err != nil {
			return 0, nil, fmt.Errorf("latest generation of %s: %w", l, err)
		}
		if len(gens) == 0 {
			return 0, nil, nil
		}
		gen := gens[len(gens)-1]
		_, doc, err := l.read(ctx, gen)
		if err == nil {
			return gen, doc, nil
		}
		if errors.Is(err, ErrDamaged) {
			return gen, nil, fmt.Errorf("latest generation of %s: %w", l, err)
		}
		if !errors.Is(err, ErrNotFound) {
			return 0, nil, fmt.Errorf("latest generation of %s: %w", l, err)
		}
	}
	return 0, nil, fmt.Errorf("latest generation of %s: generations keep vanishing under concurrent pruning", l)
}

// Append writes data as generation gen, which must be the generation
// Latest returned plus one. ErrExists means another writer took gen, or
// this writer fell behind: re-read with Latest and recompute. Any other
// error after the create leaves the outcome unknown.
func (l Log) Append(ctx context.Context, gen int64, data []byte) error {
	if gen < 1 {
		return fmt.Errorf("append generation %d to %s: generations start at 1", gen, l)
	}
	h := header{Gen: gen, ID: newID(), Size: int64(len(data))}
	if gen > 1 {
		parent, _, err := l.read(ctx, gen-1)
		if errors.Is(err, ErrNotFound) {
			// Pruned, so newer generations exist (or gen is not Latest+1).
			return fmt.Errorf("append generation %d to %s: generation %d is gone: %w", gen, l, gen-1, ErrExists)
		}
		switch {
		case errors.Is(err, ErrDamaged):
			// A damaged generation starts a new line of descent: the log
			// heals instead of refusing every append after it.
		case err != nil:
			return fmt.Errorf("append generation %d to %s: %w", gen, l, err)
		default:
			h.Ancestors = append([]string{parent.ID}, parent.Ancestors...)
			if parent.Size > 0 {
				h.Sizes = append([]int64{parent.Size}, parent.Sizes...)
			}
		}
		h.Ancestors = h.Ancestors[:min(len(h.Ancestors), ancestry)]
		h.Sizes = h.Sizes[:min(len(h.Sizes), max(sizeHistory, l.Keep))]
	}
	line, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("append generation %d to %s: %w", gen, l, err)
	}
	obj := slices.Concat([]byte(headerPrefix), line, []byte("\n"), data)
	if len(obj) > MaxObject {
		// Written, it could never be read back: every later run would
		// supersede it and start from nothing.
		return fmt.Errorf("append generation %d to %s: %d bytes, over the %d MiB a generation may hold", gen, l, len(obj), MaxObject>>20)
	}
	if err := l.Store.Create(ctx, l.key(gen), obj); err != nil {
		return fmt.Errorf("append generation %d to %s: %w", gen, l, err)
	}
	if err := l.settle(ctx, gen, h.ID); err != nil {
		return fmt.Errorf("append generation %d to %s: %w", gen, l, err)
	}
	return nil
}

// settle checks that generation gen, just created with id, is in the
// history readers see: the newest generation is gen itself or descends
// from it. A generation that was pruned and re-created is not.
func (l Log) settle(ctx context.Context, gen int64, id string) error {
	for range 3 {
		gens, err := l.gens(ctx)
		if err != nil {
			return fmt.Errorf("%w: %w", errUnknown, err)
		}
		if len(gens) == 0 || gens[len(gens)-1] < gen {
			return fmt.Errorf("%w: generation %d and all after it are gone", errUnknown, gen)
		}
		top := gens[len(gens)-1]
		if top == gen {
			// A re-created generation always has newer ones above it:
			// Prune never deletes the newest.
			return nil
		}
		h, _, err := l.read(ctx, top)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%w: %w", errUnknown, err)
		}
		d := int(top - gen)
		if d > len(h.Ancestors) {
			return fmt.Errorf("%w: %d generations were appended meanwhile", errUnknown, d)
		}
		if h.Ancestors[d-1] != id {
			return fmt.Errorf("generation %d was pruned and re-created by this stale writer: %w", gen, ErrExists)
		}
		return nil
	}
	return fmt.Errorf("%w: generations keep vanishing under concurrent pruning", errUnknown)
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Prune deletes all but the newest Keep generations (DefaultKeep when
// Keep <= 0), and, with MaxBytes, the older of those beyond MaxBytes
// together (keeping at least MinKeepBySize), oldest first. A generation
// whose size is not known (its header predates sizes) counts as none.
func (l Log) Prune(ctx context.Context) error {
	keep := l.Keep
	if keep <= 0 {
		keep = DefaultKeep
	}
	gens, err := l.gens(ctx)
	if err != nil {
		return fmt.Errorf("prune %s: %w", l, err)
	}
	if l.MaxBytes > 0 && len(gens) > MinKeepBySize {
		top := gens[len(gens)-1]
		h, _, err := l.read(ctx, top)
		if err == nil {
			keep = min(keep, l.fitting(h, gens, keep))
		}
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

// fitting is how many of the newest generations fit in MaxBytes together
// (at least MinKeepBySize, at most keep), by the sizes the newest one's
// header h records.
func (l Log) fitting(h header, gens []int64, keep int) int {
	total, n := int64(0), 0
	for i := len(gens) - 1; i >= 0 && n < keep; i-- {
		size := int64(0)
		switch d := h.Gen - gens[i]; {
		case d == 0:
			size = h.Size
		case d > 0 && d <= int64(len(h.Sizes)):
			size = h.Sizes[d-1]
		}
		if n >= MinKeepBySize && total+size > l.MaxBytes {
			break
		}
		total += size
		n++
	}
	return n
}

// At returns the document of generation gen, or ErrNotFound when it is
// gone (pruned) or was never written.
func (l Log) At(ctx context.Context, gen int64) ([]byte, error) {
	_, doc, err := l.read(ctx, gen)
	if err != nil {
		return nil, fmt.Errorf("generation %d of %s: %w", gen, l, err)
	}
	return doc, nil
}
