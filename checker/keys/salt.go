package keys

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/keystrength"
)

// kdfIterations is the PBKDF2 cost of a saved fingerprint: about half a
// millisecond here, a thousand times the work of a plain hash for whoever
// guesses keys against a saved file.
const kdfIterations = 1000

// maxKDFIterations bounds what a file may ask of a replay.
const maxKDFIterations = 100_000

// Salt keys the fingerprints of one save, or of one account's state.
// Its text form is "pbkdf2-sha256:<iterations>:<salt in hex>", or with a
// pepper "pbkdf2-sha256-hmac:<iterations>:<salt in hex>:<pepper id>".
// The pepper itself is never written: it is a secret kept outside the
// state and the saves (VPNCHECK_KEY_PEPPER), without which a stolen state
// file gives no way to test guesses of a key. The pepper id tells
// fingerprints of one pepper from another's (a change of pepper reads as
// a change of salt), and without the pepper it tells nothing about it.
type Salt struct {
	iter   int
	salt   []byte
	pepper []byte // nil: unpeppered
}

const (
	saltScheme         = "pbkdf2-sha256"
	pepperedSaltScheme = "pbkdf2-sha256-hmac"
)

func (k Salt) String() string {
	s := saltScheme
	if len(k.pepper) > 0 {
		s = pepperedSaltScheme
	}
	s += ":" + strconv.Itoa(k.iter) + ":" + hex.EncodeToString(k.salt)
	if len(k.pepper) > 0 {
		s += ":" + pepperID(k.pepper, k.salt)
	}
	return s
}

// pepperID names a pepper beside one salt: HMAC-SHA256 keyed by the
// pepper, of a fixed label and the salt, cut to 64 bits.
func pepperID(pepper, salt []byte) string {
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte("vpncheck key pepper id\x00"))
	m.Write(salt)
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// parseSalt reads a salt's text form for a run whose pepper is pepper
// (nil: none). ok is false for text that is not a salt, and for a salt
// made with another pepper, or with none where the run has one, or the
// reverse: its fingerprints cannot be compared with the run's.
func parseSalt(s string, pepper []byte) (Salt, bool) {
	k, id, ok := splitSalt(s)
	if !ok || (id == "") != (len(pepper) == 0) {
		return Salt{}, false
	}
	if id != "" && !hmac.Equal([]byte(id), []byte(pepperID(pepper, k.salt))) {
		return Salt{}, false
	}
	k.pepper = pepper
	return k, true
}

// otherPepper reports whether s is a well-formed salt that parseSalt
// refuses for pepper: it was made with another pepper, or none.
func otherPepper(s string, pepper []byte) bool {
	_, _, ok := splitSalt(s)
	_, same := parseSalt(s, pepper)
	return ok && !same
}

// splitSalt parses either text form; id is "" for an unpeppered salt.
func splitSalt(s string) (k Salt, id string, ok bool) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) == 3 && parts[0] == saltScheme:
	case len(parts) == 4 && parts[0] == pepperedSaltScheme && len(parts[3]) == 16:
		if _, err := hex.DecodeString(parts[3]); err != nil {
			return Salt{}, "", false
		}
		id = parts[3]
	default:
		return Salt{}, "", false
	}
	iter, err := strconv.Atoi(parts[1])
	salt, herr := hex.DecodeString(parts[2])
	if err != nil || herr != nil || iter < 1 || iter > maxKDFIterations || len(salt) < 8 {
		return Salt{}, "", false
	}
	return Salt{iter: iter, salt: salt}, id, true
}

// fingerprint is the hex PBKDF2-HMAC-SHA256 of key with the salt; with a
// pepper, the HMAC-SHA256 of that, keyed by the pepper.
func (k Salt) fingerprint(key string) string {
	b, err := pbkdf2.Key(sha256.New, key, k.salt, k.iter, sha256.Size)
	if err != nil {
		return ""
	}
	if len(k.pepper) > 0 {
		m := hmac.New(sha256.New, k.pepper)
		m.Write(b)
		b = m.Sum(nil)
	}
	return hex.EncodeToString(b)
}

// bannedSet is the folded fingerprints of the banned keys.
func (k Salt) bannedSet(banned []string) map[string]bool {
	set := make(map[string]bool, len(banned))
	for _, b := range banned {
		set[k.fingerprint(strings.ToLower(b))] = true
	}
	return set
}

// NewSalt draws a fresh salt for a save or a state, keyed by pepper (nil:
// none).
func NewSalt(pepper []byte) (Salt, error) {
	s := Salt{iter: kdfIterations, salt: make([]byte, 16), pepper: pepper}
	if _, err := rand.Read(s.salt); err != nil {
		return Salt{}, fmt.Errorf("salt: %w", err)
	}
	return s, nil
}

// FactsToSave are the facts the key rules need about the key psk of
// tunnel t of c, as a save keeps them beside the redacted key
// (VpncheckKeyFacts), computed as the live run computes them, with two
// fingerprints keyed by s: of the key, and of it lower-cased for the
// banned list.
func (s Salt) FactsToSave(c *input.Connection, t *input.Tunnel, psk string, p Policy) map[string]any {
	prefix := firstRunes(psk, p.maxLength())
	inputs := userInputs(c, t)
	if !inputsMayMatch(prefix, inputs) {
		inputs = nil // as the live run's keyring does
	}
	return map[string]any{
		"Length":            utf8.RuneCountInString(psk),
		"Guesses":           min(keystrength.Guesses(prefix, inputs), maxGuesses),
		"EstimatedLength":   utf8.RuneCountInString(prefix),
		"ExposedIn":         exposure(c, t, psk),
		"Fingerprint":       s.fingerprint(psk),
		"FoldedFingerprint": s.fingerprint(strings.ToLower(psk)),
	}
}
