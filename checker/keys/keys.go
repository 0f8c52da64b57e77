// Package keys owns the facts about pre-shared keys that the key rules
// judge (length, banned, guess estimate, exposure, sharing), the keyed
// fingerprints that let a saved inventory or the state tell reuse without
// the keys (Salt, KeyPrints), the masking of keys wherever they show, and
// the run's Secrets for the last guard on outgoing messages.
//
// It works on the policy input (checker/input) and the saved facts of the
// wire format (checker/apiwire); KeyPrints are the state's record
// (checker/lifecycle), kept there so that the pure lifecycle needs no key
// analysis. It must not import the engine (checker), the inventory, the
// run, a source or a notifier.
package keys

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/lifecycle"
	"github.com/vpncheck/vpncheck/checker/report"
)

// DefaultEstimateMaxLength is how many characters of a key zxcvbn sees when
// the policy data does not say (psk.estimate_max_length). zxcvbn's cost
// grows faster than the key's length, and past about 300 characters its
// estimate overflows to +Inf; 64 random characters already estimate far
// beyond any threshold.
const DefaultEstimateMaxLength = 64

// maxEstimateMaxLength bounds what policy data may ask zxcvbn to see.
const maxEstimateMaxLength = 256

// maxGuesses caps an estimate, so that facts stay finite (OPA refuses
// +Inf) whatever zxcvbn returns.
const maxGuesses = 1e300

// mask replaces a key wherever it shows in a name, tag or id.
const mask = "****"

// CodeKeysNotJudged is an errors entry for keys the key rules (psk-weak,
// psk-reused, psk-exposed) could not judge in full.
const CodeKeysNotJudged = "KeysNotJudged"

// Policy is what the policy data says about judging keys.
type Policy struct {
	Banned []string
	// Pepper keys every fingerprint (VPNCHECK_KEY_PEPPER); nil: none.
	Pepper []byte
	// EstimateMaxLength is how many characters zxcvbn sees
	// (psk.estimate_max_length); 0 means DefaultEstimateMaxLength.
	EstimateMaxLength int
}

func (p Policy) maxLength() int {
	switch {
	case p.EstimateMaxLength <= 0:
		return DefaultEstimateMaxLength
	case p.EstimateMaxLength > maxEstimateMaxLength:
		return maxEstimateMaxLength
	}
	return p.EstimateMaxLength
}

// KeyPrints are keyed fingerprints of an account's pre-shared keys, by
// tunnel (lifecycle.TunnelPlace, with the ids as the report shows them):
// what the state keeps so that a change event's run, which sees one
// connection, can tell psk-reused. They are the saver's fingerprints
// (PBKDF2-HMAC-SHA256); their Salt is a Salt in its text form.
type KeyPrints = lifecycle.KeyPrints

// Analyze derives the facts rules need about every pre-shared key of the
// run (length, banned, guess estimate, exposure, sharing), from the key or
// from the facts a saved inventory kept in its place; masks every key of
// the run wherever it shows in any connection's names, tags and ids; and
// drops the plaintext. Estimating stops when ctx ends: the keys left keep
// their other facts, without a guess estimate. It returns the run's
// secrets, for the last guard on outgoing messages, and errors entries for
// what could not be judged or read, worded after masking.
//
// With known set, it also fingerprints every key of the run (see
// printSalt) into the returned prints, and adds to each tunnel's sharing
// the tunnels of known that share its key, but for those of the run's own
// connections (the run's read of them is newer).
func Analyze(ctx context.Context, conns []*input.Connection, p Policy, known *KeyPrints) (*Secrets, []report.ErrorEntry, *KeyPrints) {
	r := AnalyzeWith(ctx, conns, p, known, nil)
	return r.Secrets, r.Errors, r.Prints
}

// Analysis is what AnalyzeWith found.
type Analysis struct {
	Secrets *Secrets
	Errors  []report.ErrorEntry
	Prints  *KeyPrints
	// Estimates are the run's, for the next run: nil unless known was set
	// (only a run with a state makes prints, and keeps estimates).
	Estimates *Estimates
}

// AnalyzeWith is Analyze, taking the estimates of keys prev knows from
// it (see Estimates) and leaving the run's in the result.
func AnalyzeWith(ctx context.Context, conns []*input.Connection, p Policy, known *KeyPrints, prev *Estimates) Analysis {
	a := newAnalysis(p, known, conns)
	a.kr.tagger, a.kr.prev = newTagger(a.kr.printer), prev
	for _, c := range conns {
		for i := range c.Tunnels {
			t := &c.Tunnels[i]
			k := t.Key
			t.Key = input.TunnelKey{}
			switch {
			case k.Plain != "":
				a.plain(c, i, k.Plain)
			case k.Saved != nil:
				a.saved(c, i, k.Saved)
			case k.Redacted:
				a.notes.add(c, "redacted")
			}
		}
		a.secrets.add(c.BGPAuthKeys...)
		c.BGPAuthKeys = nil
	}
	for _, e := range a.kr.order {
		n := len(e.users) + len(e.special)
		for _, p := range e.users {
			p.SharedWith = n
		}
		for _, s := range e.special {
			s.psk.SharedWith = n
		}
	}
	a.kr.estimate(ctx)
	for _, c := range conns {
		for _, t := range c.Tunnels {
			if t.PSK != nil && t.PSK.Guesses == nil {
				a.notes.add(c, "unestimated")
			}
		}
	}
	for _, group := range a.shared {
		for _, psk := range group {
			psk.SharedWith = len(group)
		}
	}

	if r := a.secrets.maskReplacer(); r != nil {
		for _, c := range conns {
			maskConnection(c, r)
		}
	}
	var prints *KeyPrints
	if a.kr.printer != nil {
		prints = tunnelPrints(a.kr.printer, a.keyed)
		addKnown(known, prints.Salt, a.keyed, conns, p.Pepper)
	}
	errs := a.notes.entries()
	if why := a.sources.mixed(); why != "" {
		errs = append(errs, report.ErrorEntry{Code: CodeKeysNotJudged,
			Message: "psk-reused could not compare every key of the run: " + why})
	}
	return Analysis{Secrets: a.secrets, Errors: append(errs, oddFieldEntries(conns)...), Prints: prints, Estimates: a.kr.next}
}

// analysis is one run's key analysis while it reads the run's keys.
type analysis struct {
	p         Policy
	kr        *keyring
	comparing bool // the run's prints are compared with known ones
	keyed     []keyedTunnel
	secrets   *Secrets
	bannedSet map[string]struct{}
	shared    map[string][]*input.PSK // saved keys, by salt and fingerprint (keys read in clear: by keyring entry)
	sources   keySources
	// savedBanned is, by salt, the folded fingerprints of the banned list.
	savedBanned map[string]map[string]bool
	notes       *keyNotes
}

func newAnalysis(p Policy, known *KeyPrints, conns []*input.Connection) *analysis {
	kr := newKeyring(p.maxLength())
	kr.printer = printSalt(known, conns, p.Pepper)
	a := &analysis{
		p:           p,
		kr:          kr,
		comparing:   kr.printer != nil && len(known.Tunnels) > 0,
		secrets:     &Secrets{},
		bannedSet:   make(map[string]struct{}, len(p.Banned)),
		shared:      map[string][]*input.PSK{},
		savedBanned: map[string]map[string]bool{},
		notes:       newKeyNotes(),
	}
	for _, b := range p.Banned {
		a.bannedSet[strings.ToLower(b)] = struct{}{}
	}
	return a
}

// plain judges tunnel i's key, read in clear: its facts, and its place
// in the keyring for sharing, the estimate and the print.
func (a *analysis) plain(c *input.Connection, i int, key string) {
	t := &c.Tunnels[i]
	_, isBanned := a.bannedSet[strings.ToLower(key)]
	t.PSK = &input.PSK{
		Length:    utf8.RuneCountInString(key),
		Banned:    isBanned,
		ExposedIn: exposure(c, t, key),
	}
	e := a.kr.add(key, userInputs(c, t), t.PSK) // shares its entry with the tunnels of the same key
	if a.kr.printer != nil {
		a.keyed = append(a.keyed, keyedTunnel{c: c, i: i, entry: e})
	}
	a.secrets.add(key)
	a.sources.plain = true
}

// saved judges tunnel i's key from the facts a saved inventory kept in its
// place: banned and sharing by its fingerprints, when their salt is one
// the run can compare.
func (a *analysis) saved(c *input.Connection, i int, f *apiwire.KeyFacts) {
	t := &c.Tunnels[i]
	t.PSK = savedFacts(f)
	salt, saltOK := parseSalt(f.Salt, a.p.Pepper)
	fp, folded := string(f.Fingerprint), string(f.FoldedFingerprint)
	switch {
	case otherPepper(f.Salt, a.p.Pepper):
		a.notes.add(c, "peppered")
		t.PSK.SharedWith = 1
		return
	case !saltOK || fp == "" || folded == "":
		a.notes.add(c, "unsalted")
		t.PSK.SharedWith = 1
		return
	}
	set := a.savedBanned[f.Salt]
	if set == nil {
		set = salt.bannedSet(a.p.Banned)
		a.savedBanned[f.Salt] = set
	}
	t.PSK.Banned = set[folded]
	id := "saved:" + f.Salt + ":" + fp
	a.shared[id] = append(a.shared[id], t.PSK)
	a.sources.salts = appendUnique(a.sources.salts, f.Salt)
	switch {
	case a.kr.printer != nil && salt.String() == a.kr.printer.String():
		a.keyed = append(a.keyed, keyedTunnel{c: c, i: i, print: fp})
	case a.comparing:
		a.notes.add(c, "uncompared")
	}
}

// keySources says where the run's keys came from, to tell when reuse
// cannot be compared across them.
type keySources struct {
	plain bool     // keys read in clear
	salts []string // salts of saved inventories whose facts were read
}

func (s keySources) mixed() string {
	switch {
	case len(s.salts) > 1:
		return fmt.Sprintf("the inventory files come from %d different saves, whose key fingerprints cannot be compared with each other", len(s.salts))
	case len(s.salts) == 1 && s.plain:
		return "some inventory files hold keys and others only the fingerprints of a save, which cannot be compared with them"
	}
	return ""
}

// savedFacts turns saved facts into the policy input's (banned and sharing are
// judged by the reader).
func savedFacts(f *apiwire.KeyFacts) *input.PSK {
	p := &input.PSK{Length: int(f.Length.Value), ExposedIn: []string{}}
	for _, e := range f.ExposedIn {
		if e != "" {
			p.ExposedIn = append(p.ExposedIn, string(e))
		}
	}
	if f.Guesses.Known && f.Guesses.Value >= 0 {
		setGuesses(p, f.Guesses.Value, int(f.EstimatedLength.Value))
	}
	return p
}

// setGuesses records an estimate, clamped to stay finite.
func setGuesses(p *input.PSK, guesses float64, estimatedLength int) {
	if math.IsNaN(guesses) {
		return
	}
	g := min(guesses, maxGuesses)
	lg := log10Floor(g)
	p.Guesses, p.GuessesLog = &g, &lg
	p.EstimatedLength = estimatedLength
	if p.EstimatedLength <= 0 || p.EstimatedLength > p.Length {
		p.EstimatedLength = p.Length
	}
}

// exposure lists where the tunnel's whole key can be read in clear.
func exposure(c *input.Connection, t *input.Tunnel, psk string) []string {
	out := []string{}
	if strings.Contains(c.Connection.Name, psk) {
		out = append(out, "name")
	}
	tagKeys := make([]string, 0, len(c.Connection.Tags))
	for k, v := range c.Connection.Tags {
		if strings.Contains(v, psk) {
			tagKeys = append(tagKeys, k)
		}
	}
	sort.Strings(tagKeys)
	for _, k := range tagKeys {
		out = append(out, "tag:"+strings.ReplaceAll(k, psk, mask))
	}
	if t.IKE != nil && t.IKE.LocalID == psk {
		out = append(out, "local_id")
	}
	if t.IKE != nil && t.IKE.RemoteID == psk {
		out = append(out, "remote_id")
	}
	return out
}

// userInputs are zxcvbn's user inputs for a tunnel's key, in the documented
// order: connection name, tunnel local id, tunnel remote id, empties left out.
func userInputs(c *input.Connection, t *input.Tunnel) []string {
	in := make([]string, 0, 3)
	if c.Connection.Name != "" {
		in = append(in, c.Connection.Name)
	}
	if t.IKE != nil {
		if t.IKE.LocalID != "" {
			in = append(in, t.IKE.LocalID)
		}
		if t.IKE.RemoteID != "" {
			in = append(in, t.IKE.RemoteID)
		}
	}
	return in
}
