package checker

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"runtime/debug"
	"sync"

	"github.com/vpncheck/vpncheck/checker/input"
	"github.com/vpncheck/vpncheck/checker/keys"
	"github.com/vpncheck/vpncheck/checker/report"
)

// Memory is what a run with a state remembers of its judgement, so that
// the next run judges afresh only what changed (see Options.Previous):
// the findings of each connection by a digest of its whole policy input,
// and the strength estimates of its keys.
//
// The digest is of the input the rules see, after the key analysis: keys
// replaced by their facts, sharing counted across the run, every key of
// the run masked in names and tags. So what depends on other connections
// (a key reused, another connection's key in a name) is in the digest, and
// a connection whose input and policies are unchanged has the findings it
// had: the rules are a function of input and data (policies that call
// a nondeterministic built-in, time.now_ns or rand.intn, recall nothing). Exceptions, the minimum
// severity and fixes are applied afresh on every run (expiry depends on
// the clock, fixes on the connection's settings).
//
// Its JSON is compact (see memory_json.go). It holds no key: the digests are of inputs without keys, and the
// estimates are by a tag that is the key's fingerprint, or an HMAC keyed by
// the pepper (see keys.Estimates).
type Memory struct {
	Version int
	// Revision names the policies (modules and data) and the build that
	// judged: another one re-judges everything.
	Revision string
	// Salt is the fingerprints' salt (KeyPrints.Salt) of the run: another
	// salt, or pepper, re-judges everything.
	Salt string
	Keys *keys.Estimates
	// Texts are the texts of the findings, each once; Texts[0] is "".
	Texts []string
	// Judged are the findings of each connection judged, by the digest of
	// its policy input: each finding is the indexes in Texts of its rule,
	// title, message, remediation, tunnel, value and side, then its
	// severity.
	Judged map[string][][8]int
	// Unreadable is why the stored memory did not read (UnmarshalJSON):
	// it is then none, which the run says in its report.
	Unreadable error
}

// memoryVersion changes with Memory's format, or with what a finding's
// texts mean.
const memoryVersion = 1

// buildID names the build of vpncheck: the same policies judged by
// another build may read otherwise.
var buildID = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	id := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			id += " " + s.Value
		}
	}
	return id
})

// memoryRevision is the engine's Memory.Revision.
func (e *Engine) memoryRevision() string {
	return e.policyRevision + " " + e.sourceDigest + " " + buildID()
}

// inputDigest is the digest of a connection's policy input: 128 bits of
// SHA-256 of its JSON encoding, which is the document the rules see
// (TestASTValueMatchesJSON) and costs a twentieth of building that.
func inputDigest(c *input.Connection) (string, error) {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(c); err != nil {
		return "", err
	}
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:16]), nil
}

// recall is what one run takes from the last run's memory, and what it
// leaves for the next.
type recall struct {
	prev *Memory // nil: nothing known
	// digests and found are, by connection, its input's digest and the
	// findings the rules gave it (evaluated or recalled); "" for a
	// connection not judged.
	digests []string
	found   [][]report.Finding
}

// usablePrevious is prev when the engine can take its findings: not with
// policies that read the clock or chance.
func (e *Engine) usablePrevious(prev *Memory) *Memory {
	if prev == nil || e.clocked || prev.Version != memoryVersion || prev.Revision != e.memoryRevision() {
		return nil
	}
	return prev
}

// findings are the findings the last run's rules gave the input with
// digest d, rebuilt for connection c.
func (r *recall) findings(d string, c *input.Connection) ([]report.Finding, bool) {
	if r.prev == nil {
		return nil, false
	}
	refs, ok := r.prev.Judged[d]
	if !ok || !r.prev.inRange(refs) {
		return nil, false
	}
	text := r.prev.Texts
	ci := &c.Connection
	out := make([]report.Finding, 0, len(refs))
	for _, ref := range refs {
		f := report.Finding{Rule: text[ref[0]], Title: text[ref[1]], Message: text[ref[2]], Remediation: text[ref[3]],
			TunnelID: text[ref[4]], Value: text[ref[5]], Side: text[ref[6]], Severity: report.Severity(ref[7]),
			AccountID: ci.AccountID, Region: ci.Region, ConnectionID: ci.ID, ConnectionName: ci.Name, VPNGatewayID: ci.VPNGatewayID, Tags: ci.Tags}
		// What findingOf would have refused is not a finding the rules
		// gave: the connection is judged afresh.
		switch {
		case f.Rule == "", f.Title == "", f.Message == "", f.Severity < report.Info || f.Severity > report.Critical,
			f.Side != "" && f.Side != "local" && f.Side != "remote":
			return nil, false
		}
		out = append(out, f)
	}
	return out, true
}

// next is the memory the run leaves: every connection it judged, with the
// estimates of its keys.
func (r *recall) next(revision, salt string, est *keys.Estimates) *Memory {
	m := &Memory{Version: memoryVersion, Revision: revision, Salt: salt, Keys: est, Texts: []string{""}, Judged: make(map[string][][8]int, len(r.digests))}
	at := m.interner()
	for i, d := range r.digests {
		if d == "" {
			continue
		}
		refs := make([][8]int, 0, len(r.found[i]))
		for _, f := range r.found[i] {
			refs = append(refs, [8]int{at(f.Rule), at(f.Title), at(f.Message), at(f.Remediation), at(f.TunnelID), at(f.Value), at(f.Side), int(f.Severity)})
		}
		m.Judged[d] = refs
	}
	return m
}

// Merge adds to m what prev judged and m did not, for a run that saw only
// part of the account (a change event's, a region that failed): the
// connections it did not see keep what they had. m and prev are of one
// revision and salt, or prev is dropped.
func (m *Memory) Merge(prev *Memory) {
	if m == nil || prev == nil || prev.Version != m.Version || prev.Revision != m.Revision || prev.Salt != m.Salt {
		return
	}
	at := m.interner()
	for d, refs := range prev.Judged {
		if _, ok := m.Judged[d]; ok || !prev.inRange(refs) {
			continue // a finding naming no text is not kept: judged afresh
		}
		out := make([][8]int, len(refs))
		for k, ref := range refs {
			for j := range 7 {
				out[k][j] = at(prev.Texts[ref[j]])
			}
			out[k][7] = ref[7]
		}
		m.Judged[d] = out
	}
	if prev.Keys != nil && m.Keys != nil && prev.Keys.Salt == m.Keys.Salt && prev.Keys.Estimator == m.Keys.Estimator {
		for t, k := range prev.Keys.Keys {
			if _, ok := m.Keys.Keys[t]; !ok {
				m.Keys.Keys[t] = k
			}
		}
	}
}

// interner is the index of a text in m.Texts, added when new.
func (m *Memory) interner() func(string) int {
	index := make(map[string]int, len(m.Texts))
	for i, s := range m.Texts {
		index[s] = i
	}
	return func(s string) int {
		i, ok := index[s]
		if !ok {
			i = len(m.Texts)
			index[s] = i
			m.Texts = append(m.Texts, s)
		}
		return i
	}
}

// inRange says whether every text refs name is in m.Texts.
func (m *Memory) inRange(refs [][8]int) bool {
	for _, ref := range refs {
		for _, i := range ref[:7] {
			if i < 0 || i >= len(m.Texts) {
				return false
			}
		}
	}
	return true
}
