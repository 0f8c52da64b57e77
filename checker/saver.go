package checker

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/keystrength"
)

// Saver writes the pages a live run reads to a directory (--save-inventory),
// to be read back with --inventory, and judged the same way:
//
//   - each page as the API sent it, in <region>-page-<n>.json, with a
//     top-level RegionId, PageNumber and PageSize (pages of one listing are
//     told apart by them) and VpncheckSalt;
//   - every pre-shared key and BGP key replaced by apiwire.Redacted, and beside each
//     pre-shared key, in VpncheckKeyFacts, the facts the key rules need:
//     Length, Guesses and EstimatedLength, ExposedIn, and two fingerprints
//     (of the key, and of it lower-cased, for the banned list) keyed with the
//     save's salt, so that a replay tells reuse and banned keys without the
//     keys;
//   - every key of the run masked wherever else it shows, as the live run's
//     report masks it: on each page with the keys read so far, and on Close
//     with all of them.
//
// The fingerprints are PBKDF2, so that a saved file does not make guessing
// a key offline cheap; the salt is random per save, so fingerprints of two
// saves cannot be compared.
type Saver struct {
	// EstimateMaxLength is the policies' psk.estimate_max_length; 0 means
	// DefaultEstimateMaxLength. It must be the live run's for a replay to
	// judge alike.
	EstimateMaxLength int

	dir  string
	salt kdfSalt

	mu    sync.Mutex
	keys  map[string]struct{}
	files []string
}

// NewSaver creates dir (mode 0700) if need be, and draws the save's salt.
// A pepper (VPNCHECK_KEY_PEPPER; none: nil) keys every fingerprint of the
// save: a replay judges them only with the same pepper.
func NewSaver(dir string, pepper []byte) (*Saver, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSaveInventory, err)
	}
	salt := kdfSalt{iter: kdfIterations, salt: make([]byte, 16), pepper: pepper}
	if _, err := rand.Read(salt.salt); err != nil {
		return nil, fmt.Errorf("%w: salt: %v", ErrSaveInventory, err)
	}
	return &Saver{dir: dir, salt: salt, keys: map[string]struct{}{}}, nil
}

// SavePage writes page number of region's listing, read with size
// connections a page, from the body the API sent. It is safe for
// concurrent use.
func (s *Saver) SavePage(region string, number, size int, body []byte) error {
	what := fmt.Sprintf("page %d of %s", number, region)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return fmt.Errorf("%w %s: not a JSON object", ErrSaveInventory, what)
	}
	if vc, ok := doc["VpnConnections"].(map[string]any); ok {
		if list, ok := vc["VpnConnection"].([]any); ok {
			for _, item := range list {
				if m, ok := item.(map[string]any); ok {
					s.addKeyFacts(region, m)
				}
			}
		}
	}
	keys := map[string]struct{}{}
	redact(doc, keys)
	doc["RegionId"] = region
	if _, ok := doc["PageNumber"]; !ok {
		doc["PageNumber"] = number
	}
	if _, ok := doc["PageSize"]; !ok {
		doc["PageSize"] = size
	}
	doc["VpncheckSalt"] = s.salt.String()

	s.mu.Lock()
	for k := range keys {
		s.keys[k] = struct{}{}
	}
	r := s.replacer()
	s.mu.Unlock()
	if r != nil {
		maskDoc(doc, r)
	}

	name := filepath.Join(s.dir, fmt.Sprintf("%s-page-%d.json", safeName(region), number))
	if err := writeJSON(name, doc); err != nil {
		return fmt.Errorf("%w %s: %v", ErrSaveInventory, what, err)
	}
	s.mu.Lock()
	s.files = append(s.files, name)
	s.mu.Unlock()
	return nil
}

// Close masks, in every page saved, the keys of pages saved after it.
func (s *Saver) Close() error {
	s.mu.Lock()
	r, files := s.replacer(), s.files
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrSaveInventory, err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			return fmt.Errorf("%w %s: %v", ErrSaveInventory, name, err)
		}
		if maskDoc(doc, r) {
			if err := writeJSON(name, doc); err != nil {
				return fmt.Errorf("%w: %v", ErrSaveInventory, err)
			}
		}
	}
	return nil
}

// replacer masks every key saved so far; the caller holds s.mu.
func (s *Saver) replacer() *strings.Replacer {
	if len(s.keys) == 0 {
		return nil
	}
	return newMaskReplacer(s.keys)
}

// writeJSON writes doc to name through a temporary file, so that a page is
// never seen half written.
func writeJSON(name string, doc map[string]any) error {
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// addKeyFacts puts the facts about each pre-shared key of the raw
// connection m beside it, computed as the live run computes them: from the
// connection normalised by the same code.
func (s *Saver) addKeyFacts(region string, m map[string]any) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	raw, _, ok := apiwire.ReadConnection(b)
	if !ok {
		return
	}
	c := input.Normalize(&raw, region)
	maxLen := keyPolicy{estimateMaxLength: s.EstimateMaxLength}.maxLength()
	for i := range c.Tunnels {
		t := &c.Tunnels[i]
		psk := t.Key.Plain
		if psk == "" {
			continue
		}
		ike := rawIke(m, c.Connection.DualTunnel, i)
		if ike == nil {
			continue
		}
		prefix := firstRunes(psk, maxLen)
		inputs := userInputs(c, t)
		if !inputsMayMatch(prefix, inputs) {
			inputs = nil // as the live run's keyring does
		}
		ike["VpncheckKeyFacts"] = map[string]any{
			"Length":            utf8.RuneCountInString(psk),
			"Guesses":           min(keystrength.Guesses(prefix, inputs), maxGuesses),
			"EstimatedLength":   utf8.RuneCountInString(prefix),
			"ExposedIn":         exposure(c, t, psk),
			"Fingerprint":       s.salt.fingerprint(psk),
			"FoldedFingerprint": s.salt.fingerprint(strings.ToLower(psk)),
		}
	}
}

// rawIke is the raw IKE configuration of tunnel i of m: the connection's
// own for a single-tunnel connection, else the tunnel's.
func rawIke(m map[string]any, dual bool, i int) map[string]any {
	if !dual {
		ike, _ := m["IkeConfig"].(map[string]any)
		return ike
	}
	spec, _ := m["TunnelOptionsSpecification"].(map[string]any)
	list, _ := spec["TunnelOptions"].([]any)
	if i >= len(list) {
		return nil
	}
	t, _ := list[i].(map[string]any)
	ike, _ := t["TunnelIkeConfig"].(map[string]any)
	return ike
}

// secretKeys are the response fields that hold secrets: pre-shared keys
// (IkeConfig.Psk, TunnelIkeConfig.Psk) and BGP authentication keys.
var secretKeys = map[string]bool{"psk": true, "authkey": true}

// redact replaces every secret in v by apiwire.Redacted, and gathers the secrets
// (what the decoder reads as a key: a string, or a number's spelling).
func redact(v any, keys map[string]struct{}) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if !secretKeys[strings.ToLower(k)] {
				redact(x, keys)
				continue
			}
			switch x := x.(type) {
			case nil:
				continue
			case string:
				if x = strings.TrimSpace(x); x == "" || x == apiwire.Redacted {
					continue
				}
				keys[x] = struct{}{}
			case json.Number:
				keys[string(x)] = struct{}{}
			}
			v[k] = apiwire.Redacted
		}
	case []any:
		for _, x := range v {
			redact(x, keys)
		}
	}
}

// unmasked are the raw fields the rules judge as they are (algorithms,
// statuses, roles, switches, subnets, lifetimes), the page's own fields,
// and the secrets (already redacted): the live run does not mask them
// either. Lower-cased, as the decoder matches names.
var unmasked = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range []string{"IkeVersion", "IkeMode", "IkeEncAlg", "IkeAuthAlg", "IkePfs", "IkeLifetime",
		"IpsecEncAlg", "IpsecAuthAlg", "IpsecPfs", "IpsecLifetime", "Status", "BgpStatus", "Role",
		"LocalSubnet", "RemoteSubnet", "Enable", "EnableDpd", "EnableNatTraversal", "EnableTunnelsBgp", "EnableBgp",
		"TotalCount", "PageNumber", "PageSize", "RegionId", "RequestId", "VpncheckSalt", "Psk", "AuthKey"} {
		m[strings.ToLower(k)] = true
	}
	return m
}()

// maskDoc masks the run's keys in every other value of v (numbers
// included: the decoder reads them as text) and in the tag names of the
// exposure facts, and reports whether it changed anything.
func maskDoc(v any, r *strings.Replacer) bool {
	changed := false
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			lk := strings.ToLower(k)
			switch {
			case unmasked[lk]:
			case lk == "vpncheckkeyfacts":
				f, _ := x.(map[string]any)
				list, _ := f["ExposedIn"].([]any)
				for i, e := range list {
					if s, ok := e.(string); ok {
						if m := maskExposure(s, r); m != s {
							list[i], changed = m, true
						}
					}
				}
			default:
				if y, ok := maskValue(x, r); ok {
					v[k], changed = y, true
				} else if maskDoc(x, r) {
					changed = true
				}
			}
		}
	case []any:
		for i, x := range v {
			if y, ok := maskValue(x, r); ok {
				v[i], changed = y, true
			} else if maskDoc(x, r) {
				changed = true
			}
		}
	}
	return changed
}

// maskValue masks a string or number, and reports whether it changed.
func maskValue(x any, r *strings.Replacer) (any, bool) {
	var s string
	switch x := x.(type) {
	case string:
		s = x
	case json.Number:
		s = string(x)
	default:
		return nil, false
	}
	if m := r.Replace(s); m != s {
		return m, true
	}
	return nil, false
}

// safeName keeps a region id usable as part of a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

// kdfIterations is the PBKDF2 cost of a saved fingerprint: about half a
// millisecond here, a thousand times the work of a plain hash for whoever
// guesses keys against a saved file.
const kdfIterations = 1000

// maxKDFIterations bounds what a file may ask of a replay.
const maxKDFIterations = 100_000

// kdfSalt keys the fingerprints of one save, or of one account's state.
// Its text form is "pbkdf2-sha256:<iterations>:<salt in hex>", or with a
// pepper "pbkdf2-sha256-hmac:<iterations>:<salt in hex>:<pepper id>".
// The pepper itself is never written: it is a secret kept outside the
// state and the saves (VPNCHECK_KEY_PEPPER), without which a stolen state
// file gives no way to test guesses of a key. The pepper id tells
// fingerprints of one pepper from another's (a change of pepper reads as
// a change of salt), and without the pepper it tells nothing about it.
type kdfSalt struct {
	iter   int
	salt   []byte
	pepper []byte // nil: unpeppered
}

const (
	saltScheme         = "pbkdf2-sha256"
	pepperedSaltScheme = "pbkdf2-sha256-hmac"
)

func (k kdfSalt) String() string {
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
func parseSalt(s string, pepper []byte) (kdfSalt, bool) {
	k, id, ok := splitSalt(s)
	if !ok || (id == "") != (len(pepper) == 0) {
		return kdfSalt{}, false
	}
	if id != "" && !hmac.Equal([]byte(id), []byte(pepperID(pepper, k.salt))) {
		return kdfSalt{}, false
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
func splitSalt(s string) (k kdfSalt, id string, ok bool) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) == 3 && parts[0] == saltScheme:
	case len(parts) == 4 && parts[0] == pepperedSaltScheme && len(parts[3]) == 16:
		if _, err := hex.DecodeString(parts[3]); err != nil {
			return kdfSalt{}, "", false
		}
		id = parts[3]
	default:
		return kdfSalt{}, "", false
	}
	iter, err := strconv.Atoi(parts[1])
	salt, herr := hex.DecodeString(parts[2])
	if err != nil || herr != nil || iter < 1 || iter > maxKDFIterations || len(salt) < 8 {
		return kdfSalt{}, "", false
	}
	return kdfSalt{iter: iter, salt: salt}, id, true
}

// fingerprint is the hex PBKDF2-HMAC-SHA256 of key with the salt; with a
// pepper, the HMAC-SHA256 of that, keyed by the pepper.
func (k kdfSalt) fingerprint(key string) string {
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
func (k kdfSalt) bannedSet(banned []string) map[string]bool {
	set := make(map[string]bool, len(banned))
	for _, b := range banned {
		set[k.fingerprint(strings.ToLower(b))] = true
	}
	return set
}
