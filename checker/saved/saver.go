// Package saved owns saving a live run's inventory (--save-inventory:
// Saver, with every key redacted and its facts and fingerprints beside it)
// and replaying saved inventories as a source of connections (--inventory:
// Files), and ErrSaveInventory, the mark of pages read but not saved.
//
// It fills an Inventory (checker/inventory) and fingerprints keys through
// checker/keys; it must not import the engine (checker), the run, a live
// source (checker/alibaba) or a notifier.
package saved

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vpncheck/vpncheck/checker/apiwire"
	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/keys"
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
	// keys.DefaultEstimateMaxLength. It must be the live run's for a replay to
	// judge alike.
	EstimateMaxLength int

	dir  string
	salt keys.Salt

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
	salt, err := keys.NewSalt(pepper)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSaveInventory, err)
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
	found := map[string]struct{}{}
	apiwire.Redact(doc, found)
	doc["RegionId"] = region
	if _, ok := doc["PageNumber"]; !ok {
		doc["PageNumber"] = number
	}
	if _, ok := doc["PageSize"]; !ok {
		doc["PageSize"] = size
	}
	doc["VpncheckSalt"] = s.salt.String()

	s.mu.Lock()
	for k := range found {
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
	return keys.MaskReplacer(s.keys)
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
	p := keys.Policy{EstimateMaxLength: s.EstimateMaxLength}
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
		ike["VpncheckKeyFacts"] = s.salt.FactsToSave(c, t, psk, p)
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
						if m := keys.MaskExposure(s, r); m != s {
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
