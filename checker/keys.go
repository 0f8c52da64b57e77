package checker

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// analyzeKeys derives the facts rules need about every pre-shared key of the
// run (length, banned, guess estimate, exposure, sharing), masks keys found in
// names, tags and ids, and drops the plaintext from the connections. It
// returns the run's secrets, for the last guard on outgoing messages.
func analyzeKeys(conns []*Connection, banned []string) *Secrets {
	kr := newKeyring()
	secrets := &Secrets{}
	bannedSet := make(map[string]struct{}, len(banned))
	for _, b := range banned {
		bannedSet[strings.ToLower(b)] = struct{}{}
	}

	for _, c := range conns {
		var keys []string
		for i := range c.Tunnels {
			t := &c.Tunnels[i]
			if t.psk == "" {
				continue
			}
			_, isBanned := bannedSet[strings.ToLower(t.psk)]
			t.PSK = &PSK{
				Length:    utf8.RuneCountInString(t.psk),
				Banned:    isBanned,
				ExposedIn: exposure(c, t),
			}
			kr.add(t.psk, userInputs(c, t), t.PSK)
			keys = append(keys, t.psk)
		}
		keys = append(keys, c.bgpAuthKeys...)
		if len(keys) > 0 {
			maskConnection(c, keys)
			secrets.add(keys...)
		}
		for i := range c.Tunnels {
			c.Tunnels[i].psk = ""
		}
		c.bgpAuthKeys = nil
	}
	kr.estimate()
	return secrets
}

// exposure lists where the tunnel's whole key can be read in clear.
func exposure(c *Connection, t *Tunnel) []string {
	out := []string{}
	if strings.Contains(c.Connection.Name, t.psk) {
		out = append(out, "name")
	}
	tagKeys := make([]string, 0, len(c.Connection.Tags))
	for k, v := range c.Connection.Tags {
		if strings.Contains(v, t.psk) {
			tagKeys = append(tagKeys, k)
		}
	}
	sort.Strings(tagKeys)
	for _, k := range tagKeys {
		out = append(out, "tag:"+strings.ReplaceAll(k, t.psk, mask))
	}
	if t.IKE != nil && t.IKE.LocalID == t.psk {
		out = append(out, "local_id")
	}
	if t.IKE != nil && t.IKE.RemoteID == t.psk {
		out = append(out, "remote_id")
	}
	return out
}

// userInputs are zxcvbn's user inputs for a tunnel's key, in the documented
// order: connection name, tunnel local id, tunnel remote id, empties left out.
func userInputs(c *Connection, t *Tunnel) []string {
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

// maskConnection hides every key of the connection wherever it appears in a
// name, tag or id, so no output can show it.
func maskConnection(c *Connection, keys []string) {
	m := func(s string) string {
		for _, k := range keys {
			if k != "" && strings.Contains(s, k) {
				s = strings.ReplaceAll(s, k, mask)
			}
		}
		return s
	}
	ci := &c.Connection
	ci.Name = m(ci.Name)
	if len(ci.Tags) > 0 {
		tags := make(map[string]string, len(ci.Tags))
		for k, v := range ci.Tags {
			tags[m(k)] = m(v)
		}
		ci.Tags = tags
	}
	for i := range c.Tunnels {
		if ike := c.Tunnels[i].IKE; ike != nil {
			ike.LocalID, ike.RemoteID = m(ike.LocalID), m(ike.RemoteID)
		}
	}
}

// keyring groups the run's keys by a keyed fingerprint, so that sharing is
// counted and each distinct key is estimated once.
type keyring struct {
	mac     []byte
	entries map[[sha256.Size]byte]*keyEntry
	order   []*keyEntry
}

type keyEntry struct {
	key     string
	guesses float64
	users   []*PSK      // tunnels served by the estimate without user inputs
	special []inputsJob // tunnels whose user inputs may change the estimate
}

type inputsJob struct {
	psk    *PSK
	inputs []string
}

func newKeyring() *keyring {
	mac := make([]byte, 32)
	if _, err := rand.Read(mac); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on Linux
	}
	return &keyring{mac: mac, entries: map[[sha256.Size]byte]*keyEntry{}}
}

func (kr *keyring) fingerprint(key string) [sha256.Size]byte {
	h := hmac.New(sha256.New, kr.mac)
	h.Write([]byte(key))
	var fp [sha256.Size]byte
	h.Sum(fp[:0])
	return fp
}

func (kr *keyring) add(key string, inputs []string, psk *PSK) {
	fp := kr.fingerprint(key)
	e := kr.entries[fp]
	if e == nil {
		e = &keyEntry{key: key}
		kr.entries[fp] = e
		kr.order = append(kr.order, e)
	}
	if inputsMayMatch(key, inputs) {
		e.special = append(e.special, inputsJob{psk: psk, inputs: inputs})
	} else {
		e.users = append(e.users, psk)
	}
}

// estimate runs zxcvbn once per distinct key (and once more per tunnel whose
// user inputs could change the result), in parallel, then fills in the facts
// and forgets the keys.
func (kr *keyring) estimate() {
	type job struct {
		key    string
		inputs []string
		out    *float64
	}
	var jobs []job
	for _, e := range kr.order {
		if len(e.users) > 0 {
			jobs = append(jobs, job{key: e.key, out: &e.guesses})
		}
		for i := range e.special {
			s := &e.special[i]
			jobs = append(jobs, job{key: e.key, inputs: s.inputs, out: &s.psk.Guesses})
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	ch := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				*j.out = zxcvbn.PasswordStrength(j.key, j.inputs).Guesses
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()

	for _, e := range kr.order {
		shared := len(e.users) + len(e.special)
		for _, p := range e.users {
			p.Guesses = e.guesses
			p.SharedWith = shared
			p.GuessesLog = log10Floor(p.Guesses)
		}
		for _, s := range e.special {
			s.psk.SharedWith = shared
			s.psk.GuessesLog = log10Floor(s.psk.Guesses)
		}
		e.key = ""
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
	if s == nil {
		return text
	}
	s.mu.Lock()
	if s.replacer == nil {
		if len(s.values) == 0 {
			s.mu.Unlock()
			return text
		}
		vals := make([]string, 0, len(s.values))
		for v := range s.values {
			vals = append(vals, v)
		}
		// Longest first, so a key that contains another is masked whole.
		sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
		pairs := make([]string, 0, 2*len(vals))
		for _, v := range vals {
			pairs = append(pairs, v, mask)
		}
		s.replacer = strings.NewReplacer(pairs...)
	}
	r := s.replacer
	s.mu.Unlock()
	return r.Replace(text)
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
