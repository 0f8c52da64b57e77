package keys

import (
	"sort"
	"strings"
	"sync"

	"github.com/vpncheck/vpncheck/checker/input"
)

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
