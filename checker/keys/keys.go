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
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/keystrength"
	"github.com/vpncheck/vpncheck/checker/lifecycle"
	"github.com/vpncheck/vpncheck/checker/report"
	"golang.org/x/sync/errgroup"
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
	a := newAnalysis(p, known, conns)
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
	return a.secrets, append(errs, oddFieldEntries(conns)...), prints
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

// keyedTunnel is a tunnel whose key is fingerprinted: by the keyring's
// entry for a key read in clear, or by print for a saved fingerprint.
type keyedTunnel struct {
	c     *input.Connection
	i     int
	entry *keyEntry
	print string
}

func (k keyedTunnel) fingerprint() string {
	if k.entry != nil {
		return k.entry.print
	}
	return k.print
}

// printSalt is the salt a run fingerprints its keys with; nil when known
// is (no prints asked). It is known's, so that the prints compare with
// known's and the state keeps one salt across runs; a fresh one when known
// has none. With nothing to compare with, a save's salt that keys every
// key of the run wins, so that keys known only by their saved
// fingerprints are printed too. Every salt is the run's pepper's: a salt
// of another pepper (or none) is not the run's, as a salt of another save
// is not (see parseSalt).
func printSalt(known *KeyPrints, conns []*input.Connection, pepper []byte) *Salt {
	if known == nil {
		return nil
	}
	s, ok := parseSalt(known.Salt, pepper)
	if ok && len(known.Tunnels) > 0 {
		return &s
	}
	saved, plain, several := "", false, false
	for _, c := range conns {
		for _, t := range c.Tunnels {
			switch {
			case t.Key.Plain != "":
				plain = true
			case t.Key.Saved != nil && saved == "":
				saved = t.Key.Saved.Salt
			case t.Key.Saved != nil && t.Key.Saved.Salt != saved:
				several = true
			}
		}
	}
	if ss, sok := parseSalt(saved, pepper); sok && !plain && !several {
		return &ss
	}
	if ok {
		return &s
	}
	fresh, err := NewSalt(pepper)
	if err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return &fresh
}

// tunnelPrints are the run's fingerprints by tunnel place, ids as masked;
// a key the run's deadline left unprinted is left out.
func tunnelPrints(salt *Salt, keyed []keyedTunnel) *KeyPrints {
	out := &KeyPrints{Salt: salt.String(), Tunnels: make(map[string]string, len(keyed))}
	for _, k := range keyed {
		if fp := k.fingerprint(); fp != "" {
			out.Tunnels[tunnelPlace(k.c, k.i, out.Tunnels)] = fp
		}
	}
	return out
}

// tunnelPlace names tunnel i of c: by its id, by its index when it has
// none (a single-tunnel connection), and by both when its id is taken.
func tunnelPlace(c *input.Connection, i int, taken map[string]string) string {
	ci := &c.Connection
	name := c.Tunnels[i].ID
	if name == "" {
		name = "#" + strconv.Itoa(i)
	}
	place := lifecycle.TunnelPlace(ci.Region, ci.ID, name)
	if _, dup := taken[place]; dup {
		place = lifecycle.TunnelPlace(ci.Region, ci.ID, name+"#"+strconv.Itoa(i))
	}
	return place
}

// addKnown adds to each keyed tunnel's sharing the tunnels of known, of
// other connections than the run's, whose fingerprint is its key's.
func addKnown(known *KeyPrints, salt string, keyed []keyedTunnel, conns []*input.Connection, pepper []byte) {
	if known == nil || len(known.Tunnels) == 0 {
		return
	}
	if ks, ok := parseSalt(known.Salt, pepper); !ok || ks.String() != salt {
		return
	}
	ours := make(map[[2]string]bool, len(conns))
	for _, c := range conns {
		ours[[2]string{c.Connection.Region, c.Connection.ID}] = true
	}
	others := map[string]int{}
	for place, fp := range known.Tunnels {
		if r, id, ok := lifecycle.ConnectionPlace(place); ok && !ours[[2]string{r, id}] {
			others[fp]++
		}
	}
	for _, k := range keyed {
		if fp := k.fingerprint(); fp != "" {
			k.c.Tunnels[k.i].PSK.SharedWith += others[fp]
		}
	}
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
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

// maskConnection hides every key of the run wherever it appears in the
// connection's free text: names, tag keys and values, ids of the
// connection, its gateways and tunnels, IKE local and remote ids, BGP ASNs,
// and tag names in the exposure facts. Enumerated values (algorithms,
// statuses, roles) and subnets are what the rules judge, and are left as
// they are.
func maskConnection(c *input.Connection, r *strings.Replacer) {
	// A replacer copies what it is given: a value it leaves as it was is
	// kept, not its copy, so that what several connections share (a
	// gateway id, an ASN) stays shared.
	replace := func(s string) string {
		if m := r.Replace(s); m != s {
			return m
		}
		return s
	}
	ci := &c.Connection
	for _, s := range []*string{&ci.ID, &ci.Name, &ci.VPNGatewayID, &ci.CustomerGatewayID} {
		*s = replace(*s)
	}
	if len(ci.Tags) > 0 && tagsChange(ci.Tags, r) {
		tags := make(map[string]string, len(ci.Tags))
		for k, v := range ci.Tags {
			tags[r.Replace(k)] = r.Replace(v)
		}
		ci.Tags = tags
	}
	for i := range c.Tunnels {
		t := &c.Tunnels[i]
		t.ID = replace(t.ID)
		if ike := t.IKE; ike != nil {
			local, remote := replace(ike.LocalID), replace(ike.RemoteID)
			t.IDsMasked = local != ike.LocalID || remote != ike.RemoteID
			ike.LocalID, ike.RemoteID = local, remote
		}
		if b := t.BGP; b != nil {
			b.LocalASN, b.PeerASN = replace(b.LocalASN), replace(b.PeerASN)
		}
		if p := t.PSK; p != nil {
			for j, e := range p.ExposedIn {
				p.ExposedIn[j] = MaskExposure(e, r)
			}
		}
	}
}

// tagsChange says whether masking changes any of tags.
func tagsChange(tags map[string]string, r *strings.Replacer) bool {
	for k, v := range tags {
		if r.Replace(k) != k || r.Replace(v) != v {
			return true
		}
	}
	return false
}

// MaskExposure masks the tag name of a "tag:NAME" exposure fact.
func MaskExposure(e string, r *strings.Replacer) string {
	if name, ok := strings.CutPrefix(e, "tag:"); ok {
		return "tag:" + r.Replace(name)
	}
	return e
}

// keyNotes gathers, per region, the connections whose keys were not judged
// in full, and why.
type keyNotes struct {
	byReason map[string]map[string][]*input.Connection // reason -> region -> connections
	seen     map[*input.Connection]map[string]bool
}

func newKeyNotes() *keyNotes {
	return &keyNotes{byReason: map[string]map[string][]*input.Connection{}, seen: map[*input.Connection]map[string]bool{}}
}

func (n *keyNotes) add(c *input.Connection, reason string) {
	if n.seen[c][reason] {
		return
	}
	if n.seen[c] == nil {
		n.seen[c] = map[string]bool{}
	}
	n.seen[c][reason] = true
	if n.byReason[reason] == nil {
		n.byReason[reason] = map[string][]*input.Connection{}
	}
	r := c.Connection.Region
	n.byReason[reason][r] = append(n.byReason[reason][r], c)
}

var keyNoteText = map[string]string{
	"unestimated": "had no guess estimate (the run's deadline came first, or the save that wrote them had none): psk-weak judged them on length and the banned list only",
	"redacted":    "are redacted without the facts vpncheck saves in their place (an inventory written by another tool): psk-weak, psk-reused and psk-exposed could not judge them",
	"unsalted":    "carry saved facts without a usable fingerprint or VpncheckSalt: the banned list and psk-reused could not judge them",
	"peppered":    "carry fingerprints made with another key pepper (VPNCHECK_KEY_PEPPER), or without one where this run has one or the reverse: the banned list and psk-reused could not judge them",
	"uncompared":  "carry the fingerprints of a save that cannot be compared with those the state keeps of the account's other connections: psk-reused compared them within this run only",
}

// entries are the notes as errors entries, one per reason and region,
// naming the connections (already masked).
func (n *keyNotes) entries() []report.ErrorEntry {
	var out []report.ErrorEntry
	for _, reason := range []string{"unestimated", "redacted", "unsalted", "peppered", "uncompared"} {
		regions := n.byReason[reason]
		names := make([]string, 0, len(regions))
		for r := range regions {
			names = append(names, r)
		}
		sort.Strings(names)
		for _, r := range names {
			conns := regions[r]
			out = append(out, report.ErrorEntry{Region: r, Code: CodeKeysNotJudged,
				Message: fmt.Sprintf("the keys of %s in %s %s", namedConnections(conns, nil), regionLabel(r), keyNoteText[reason])})
		}
	}
	return out
}

// oddFieldEntries report, per region, the connections that held fields of
// an unexpected type, read as absent.
func oddFieldEntries(conns []*input.Connection) []report.ErrorEntry {
	byRegion := map[string][]*input.Connection{}
	var regions []string
	for _, c := range conns {
		if len(c.OddFields) == 0 {
			continue
		}
		r := c.Connection.Region
		if byRegion[r] == nil {
			regions = append(regions, r)
		}
		byRegion[r] = append(byRegion[r], c)
	}
	sort.Strings(regions)
	out := make([]report.ErrorEntry, 0, len(regions))
	for _, r := range regions {
		out = append(out, report.ErrorEntry{Region: r, Code: report.CodeInvalidResponse,
			Message: fmt.Sprintf("fields of an unexpected type were read as absent, so no rule fires on them, in %s in %s",
				namedConnections(byRegion[r], func(c *input.Connection) string { return strings.Join(c.OddFields, ", ") }), regionLabel(r))})
	}
	for _, c := range conns {
		c.OddFields = nil
	}
	return out
}

func regionLabel(r string) string {
	if r == "" {
		return "an unknown region"
	}
	return r
}

// namedConnections names up to ten connections, with detail in brackets.
func namedConnections(conns []*input.Connection, detail func(*input.Connection) string) string {
	const most = 10
	var b strings.Builder
	b.WriteString(report.Plural(len(conns), "connection"))
	for i, c := range conns {
		if i == most {
			fmt.Fprintf(&b, " and %d more", len(conns)-most)
			break
		}
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(c.Connection.ID)
		if detail != nil {
			b.WriteString(": " + detail(c))
		}
	}
	if len(conns) > 0 {
		b.WriteString(")")
	}
	return b.String()
}

// keyring groups the run's keys by a keyed fingerprint, so that sharing is
// counted and each distinct key is estimated once.
type keyring struct {
	mac []byte
	// printer, when set, fingerprints each distinct key for KeyPrints.
	printer *Salt
	maxLen  int
	entries map[[sha256.Size]byte]*keyEntry
	order   []*keyEntry
}

type keyEntry struct {
	prefix    string // what zxcvbn sees: the first maxLen characters
	key       string // the whole key, held until printed (only with a printer)
	print     string // its fingerprint with the printer's salt
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
// estimate, or no fingerprint.
func (kr *keyring) estimate(ctx context.Context) {
	var jobs []func()
	for _, e := range kr.order {
		if len(e.users) > 0 {
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
			jobs = append(jobs, func() { e.print = kr.printer.fingerprint(e.key) })
		}
	}
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

// Secrets are the secret values a run saw, kept only for the run, so that a
// last guard can scrub them from anything about to leave the process.
type Secrets struct {
	mu       sync.Mutex
	values   map[string]struct{}
	replacer *strings.Replacer
}

func (s *Secrets) add(vals ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]struct{}{}
	}
	for _, v := range vals {
		if v != "" {
			s.values[v] = struct{}{}
		}
	}
	s.replacer = nil
}

// Scrub replaces every secret of the run in text with a mask.
func (s *Secrets) Scrub(text string) string {
	if r := s.maskReplacer(); r != nil {
		return r.Replace(text)
	}
	return text
}

// maskReplacer replaces every secret with the mask in one pass over a text
// (strings.Replacer matches all of them at once); nil when there is none.
func (s *Secrets) maskReplacer() *strings.Replacer {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replacer == nil && len(s.values) > 0 {
		s.replacer = MaskReplacer(s.values)
	}
	return s.replacer
}

// MaskReplacer replaces each of vals with the mask, the longest first,
// so that a key that contains another is masked whole.
func MaskReplacer(vals map[string]struct{}) *strings.Replacer {
	list := make([]string, 0, len(vals))
	for v := range vals {
		list = append(list, v)
	}
	sort.Slice(list, func(i, j int) bool {
		if len(list[i]) != len(list[j]) {
			return len(list[i]) > len(list[j])
		}
		return list[i] < list[j]
	})
	pairs := make([]string, 0, 2*len(list))
	for _, v := range list {
		pairs = append(pairs, v, mask)
	}
	return strings.NewReplacer(pairs...)
}

// Len is how many distinct secrets the run saw.
func (s *Secrets) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.values)
}
