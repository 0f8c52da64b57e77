package keys

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"runtime/debug"
	"strconv"
	"sync"
)

// Estimates are the strength estimates of the keys a run with a state
// read in clear, by a tag of each key, so that the next run takes a known
// key's estimate instead of running zxcvbn again (about half a
// millisecond a key), and, with a pepper, its fingerprint instead of
// PBKDF2.
//
// The tag never makes a guess of a key cheaper to test than the state's
// fingerprints do: without a pepper it is the fingerprint itself (so every
// key is still fingerprinted each run, and only zxcvbn is spared); with
// one it is an HMAC-SHA256 keyed by the pepper, which no one without the
// pepper can compute, so that a known key costs one HMAC.
type Estimates struct {
	// Salt is the salt of the fingerprints (KeyPrints.Salt) the tags
	// belong to: another salt, or another pepper, makes them unknown.
	Salt string
	// Estimator names how the estimates were made (zxcvbn's version and
	// how many characters of a key it sees): another one makes them
	// unknown.
	Estimator string
	Keys      map[string]Estimate
}

// Estimate is one key's.
type Estimate struct {
	// Print is the key's fingerprint, kept with a pepper (the tag is
	// another value); without one the tag is the fingerprint.
	Print   string
	Guesses float64
	// Length is how many characters the estimate covers.
	Length int
}

// estimatesVersion changes when keystrength's estimates change for the
// same key (not with zxcvbn's module version, which estimatorID names).
const estimatesVersion = 1

// estimatorID names the estimates of a run that sees maxLen characters.
func estimatorID(maxLen int) string {
	return "zxcvbn " + zxcvbnVersion() + " v" + strconv.Itoa(estimatesVersion) + " max " + strconv.Itoa(maxLen)
}

var zxcvbnVersion = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/trustelem/zxcvbn" {
				if d.Replace != nil {
					return d.Replace.Path + "@" + d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
})

// tagger tags the keys of one run for its Estimates.
type tagger struct {
	printer *Salt
	mac     []byte // HMAC key of the tags with a pepper; nil without one
}

// newTagger is nil without a printer (no state, nothing remembered).
func newTagger(printer *Salt) *tagger {
	if printer == nil {
		return nil
	}
	t := &tagger{printer: printer}
	if len(printer.pepper) > 0 {
		m := hmac.New(sha256.New, printer.pepper)
		m.Write([]byte("vpncheck estimate tag\x00"))
		m.Write(printer.salt)
		t.mac = m.Sum(nil)
	}
	return t
}

// peppered says whether a tag costs an HMAC (else it is the fingerprint).
func (t *tagger) peppered() bool { return t.mac != nil }

// tag is the key's tag with a pepper: 128 bits of HMAC-SHA256.
func (t *tagger) tag(key string) string {
	m := hmac.New(sha256.New, t.mac)
	m.Write([]byte(key))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// usable are prev's estimates when they are of this run's salt and
// estimator; nil otherwise.
func (t *tagger) usable(prev *Estimates, maxLen int) map[string]Estimate {
	if t == nil || prev == nil || prev.Salt != t.printer.String() || prev.Estimator != estimatorID(maxLen) {
		return nil
	}
	return prev.Keys
}
