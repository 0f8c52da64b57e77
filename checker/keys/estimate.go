package keys

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"math"
	"runtime"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/keystrength"
	"golang.org/x/sync/errgroup"
)

// keyring groups the run's keys by a keyed fingerprint, so that sharing is
// counted and each distinct key is estimated once.
type keyring struct {
	mac []byte
	// printer, when set, fingerprints each distinct key for KeyPrints.
	printer *Salt
	maxLen  int
	entries map[[sha256.Size]byte]*keyEntry
	order   []*keyEntry
	// tagger, prev and next are the estimates kept across runs (see
	// Estimates): tagger is set with a printer, prev is the last run's, and
	// next this run's, made by estimate.
	tagger     *tagger
	prev, next *Estimates
}

type keyEntry struct {
	prefix    string // what zxcvbn sees: the first maxLen characters
	key       string // the whole key, held until printed (only with a printer)
	print     string // its fingerprint with the printer's salt
	tag       string // its tag in Estimates, once made
	estimated bool
	guesses   float64
	users     []*input.PSK // tunnels served by the estimate without user inputs
	special   []inputsJob  // tunnels whose user inputs may change the estimate
}

type inputsJob struct {
	psk       *input.PSK
	inputs    []string
	estimated bool
	guesses   float64
}

func newKeyring(maxLen int) *keyring {
	mac := make([]byte, 32)
	if _, err := rand.Read(mac); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on Linux
	}
	return &keyring{mac: mac, maxLen: maxLen, entries: map[[sha256.Size]byte]*keyEntry{}}
}

func (kr *keyring) fingerprint(key string) [sha256.Size]byte {
	h := hmac.New(sha256.New, kr.mac)
	h.Write([]byte(key))
	var fp [sha256.Size]byte
	h.Sum(fp[:0])
	return fp
}

// add files one tunnel's key and returns its entry, which the tunnels of
// the same key share.
func (kr *keyring) add(key string, inputs []string, psk *input.PSK) *keyEntry {
	fp := kr.fingerprint(key)
	e := kr.entries[fp]
	if e == nil {
		e = &keyEntry{prefix: firstRunes(key, kr.maxLen)}
		if kr.printer != nil {
			e.key = key
		}
		kr.entries[fp] = e
		kr.order = append(kr.order, e)
	}
	if inputsMayMatch(e.prefix, inputs) {
		e.special = append(e.special, inputsJob{psk: psk, inputs: inputs})
	} else {
		e.users = append(e.users, psk)
	}
	return e
}

// firstRunes is s cut to its first n characters.
func firstRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// estimate runs zxcvbn once per distinct key (and once more per tunnel whose
// user inputs could change the result), then fingerprints each distinct
// key when the keyring has a printer, in parallel, until ctx ends; then
// fills in the facts and forgets the keys. Keys not reached keep no
// estimate, or no fingerprint. A key the last run's estimates know takes
// its estimate from them (and, with a pepper, its fingerprint), and the
// run's own estimates are left in next.
func (kr *keyring) estimate(ctx context.Context) {
	known := kr.tagger.usable(kr.prev, kr.maxLen)
	if known != nil {
		if kr.tagger.peppered() {
			for _, e := range kr.order {
				e.tag = kr.tagger.tag(e.key)
			}
		} else {
			// The tag is the fingerprint: made first, to know which keys
			// are known.
			jobs := make([]func(), 0, len(kr.order))
			for _, e := range kr.order {
				jobs = append(jobs, func() { e.print = kr.printer.fingerprint(e.key) })
			}
			runJobs(ctx, jobs)
			for _, e := range kr.order {
				e.tag = e.print
			}
		}
		for _, e := range kr.order {
			k, ok := known[e.tag]
			if !ok || e.tag == "" {
				continue
			}
			e.guesses, e.estimated = k.Guesses, true
			if kr.tagger.peppered() {
				e.print = k.Print
			}
		}
	}

	var jobs []func()
	for _, e := range kr.order {
		if len(e.users) > 0 && !e.estimated {
			jobs = append(jobs, func() { e.guesses, e.estimated = keystrength.Guesses(e.prefix, nil), true })
		}
		for i := range e.special {
			s := &e.special[i]
			jobs = append(jobs, func() { s.guesses, s.estimated = keystrength.Guesses(e.prefix, s.inputs), true })
		}
	}
	if kr.printer != nil {
		// After the estimates: psk-weak judges this run; prints serve later ones.
		for _, e := range kr.order {
			if e.print == "" {
				jobs = append(jobs, func() { e.print = kr.printer.fingerprint(e.key) })
			}
		}
	}
	runJobs(ctx, jobs)
	kr.remember()

	for _, e := range kr.order {
		n := utf8.RuneCountInString(e.prefix)
		for _, p := range e.users {
			if e.estimated {
				setGuesses(p, e.guesses, n)
			}
		}
		for _, s := range e.special {
			if s.estimated {
				setGuesses(s.psk, s.guesses, n)
			}
		}
		e.prefix, e.key = "", ""
	}
	kr.entries, kr.order = nil, nil
}

// remember keeps, in next, the estimate and fingerprint of every key that
// has both.
func (kr *keyring) remember() {
	if kr.tagger == nil {
		return
	}
	next := &Estimates{Salt: kr.printer.String(), Estimator: estimatorID(kr.maxLen), Keys: make(map[string]Estimate, len(kr.order))}
	for _, e := range kr.order {
		if !e.estimated || e.print == "" {
			continue
		}
		k := Estimate{Guesses: e.guesses, Length: utf8.RuneCountInString(e.prefix)}
		tag := e.tag
		switch {
		case kr.tagger.peppered() && tag == "":
			tag = kr.tagger.tag(e.key)
			fallthrough
		case kr.tagger.peppered():
			k.Print = e.print
		default:
			tag = e.print
		}
		next.Keys[tag] = k
	}
	kr.next = next
}

// runJobs runs jobs on every core until ctx ends.
func runJobs(ctx context.Context, jobs []func()) {
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if ctx.Err() == nil {
				j()
			}
			return nil
		})
	}
	g.Wait() // the jobs return no error
}

// inputsMayMatch reports whether zxcvbn could match one of the user inputs
// against the key. zxcvbn uses user inputs only as dictionary words: a word
// counts where it equals a substring of the lower-cased key, of the reversed
// key, or of the key with l33t symbols read as letters. Folding every l33t
// symbol and the letters it stands for into one class over-approximates all
// three, so a false here proves the inputs cannot change the estimate.
func inputsMayMatch(key string, inputs []string) bool {
	if len(inputs) == 0 {
		return false
	}
	k := leetFold(key)
	rk := reverse(k)
	for _, in := range inputs {
		w := leetFold(in)
		if w != "" && (strings.Contains(k, w) || strings.Contains(rk, w)) {
			return true
		}
	}
	return false
}

// leetClass maps zxcvbn's l33t table (letters and the symbols that stand for
// them) onto class representatives; letters that share a symbol share a class.
var leetClass = func() map[rune]rune {
	groups := []string{"a4@", "b8", "c({[<", "e3", "g69", "il1!|7t+", "o0", "s$5", "x%", "z2"}
	m := map[rune]rune{}
	for _, g := range groups {
		rep := []rune(g)[0]
		for _, r := range g {
			m[r] = rep
		}
	}
	return m
}()

func leetFold(s string) string {
	return strings.Map(func(r rune) rune {
		r = unicode.ToLower(r)
		if c, ok := leetClass[r]; ok {
			return c
		}
		return r
	}, strings.ToLower(s))
}

func log10Floor(x float64) int {
	if x < 1 {
		return 0
	}
	return int(math.Floor(math.Log10(x)))
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}
