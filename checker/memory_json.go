package checker

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Memory's JSON keeps each judged connection on one line of one string
// ("digest ref,ref,...;ref,...": the findings' eight numbers, findings
// apart by ";"), which encoding/json reads and writes as one value instead
// of a map of arrays of arrays: a fifth of the work at 100,000
// connections.
type memoryJSON struct {
	Version  int              `json:"v"`
	Revision string           `json:"revision"`
	Salt     string           `json:"salt,omitempty"`
	Keys     *json.RawMessage `json:"keys,omitempty"`
	Texts    []string         `json:"texts"`
	Judged   string           `json:"judged"`
}

// MarshalJSON writes m in its compact form.
func (m *Memory) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	for d, refs := range m.Judged {
		b.WriteString(d)
		b.WriteByte(' ')
		for i, ref := range refs {
			if i > 0 {
				b.WriteByte(';')
			}
			for j, n := range ref {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strconv.Itoa(n))
			}
		}
		b.WriteByte('\n')
	}
	out := memoryJSON{Version: m.Version, Revision: m.Revision, Salt: m.Salt, Texts: m.Texts, Judged: b.String()}
	if m.Keys != nil {
		raw, err := json.Marshal(m.Keys)
		if err != nil {
			return nil, err
		}
		out.Keys = (*json.RawMessage)(&raw)
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads m's compact form. A memory that does not read is
// no memory (the run judges everything afresh), not a damaged state: the
// lifecycle beside it stays, and Unreadable says why.
func (m *Memory) UnmarshalJSON(b []byte) error {
	if err := m.read(b); err != nil {
		*m = Memory{Unreadable: err}
	}
	return nil
}

func (m *Memory) read(b []byte) error {
	var in memoryJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*m = Memory{Version: in.Version, Revision: in.Revision, Salt: in.Salt, Texts: in.Texts, Judged: map[string][][8]int{}}
	if in.Keys != nil {
		if err := json.Unmarshal(*in.Keys, &m.Keys); err != nil {
			return err
		}
	}
	for line := range strings.SplitSeq(in.Judged, "\n") {
		if line == "" {
			continue
		}
		d, rest, ok := strings.Cut(line, " ")
		if !ok || d == "" {
			return fmt.Errorf("memory: a line without a digest")
		}
		var refs [][8]int
		if rest != "" {
			for f := range strings.SplitSeq(rest, ";") {
				var ref [8]int
				j := 0
				for n := range strings.SplitSeq(f, ",") {
					v, err := strconv.Atoi(n)
					if err != nil || j == len(ref) {
						return fmt.Errorf("memory: a finding of %q does not read", d)
					}
					ref[j] = v
					j++
				}
				if j != len(ref) {
					return fmt.Errorf("memory: a finding of %q does not read", d)
				}
				refs = append(refs, ref)
			}
		}
		m.Judged[d] = refs
	}
	return nil
}
