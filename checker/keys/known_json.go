package keys

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Estimates' JSON keeps each key on one line of one string ("tag print
// guesses length", print "-" when the tag is the print), which
// encoding/json reads and writes as one value instead of a map of
// objects.
type estimatesJSON struct {
	Salt      string `json:"salt"`
	Estimator string `json:"estimator"`
	Keys      string `json:"keys"`
}

// MarshalJSON writes e in its compact form.
func (e *Estimates) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	for tag, k := range e.Keys {
		p := k.Print
		if p == "" {
			p = "-"
		}
		b.WriteString(tag + " " + p + " " + strconv.FormatFloat(k.Guesses, 'g', -1, 64) + " " + strconv.Itoa(k.Length) + "\n")
	}
	return json.Marshal(estimatesJSON{Salt: e.Salt, Estimator: e.Estimator, Keys: b.String()})
}

// UnmarshalJSON reads e's compact form. (checker.Memory, which holds
// them, takes a failure for no memory.)
func (e *Estimates) UnmarshalJSON(b []byte) error {
	var in estimatesJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*e = Estimates{Salt: in.Salt, Estimator: in.Estimator, Keys: map[string]Estimate{}}
	for line := range strings.SplitSeq(in.Keys, "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return fmt.Errorf("estimates: a line of %d fields, want 4", len(f))
		}
		g, err := strconv.ParseFloat(f[2], 64)
		n, nerr := strconv.Atoi(f[3])
		// zxcvbn never guesses fewer than one: NaN, or less, would leave
		// a known key judged on no estimate.
		if err != nil || nerr != nil || !(g >= 1) || n < 0 {
			return fmt.Errorf("estimates: a line does not read")
		}
		k := Estimate{Guesses: g, Length: n}
		if f[1] != "-" {
			k.Print = f[1]
		}
		e.Keys[f[0]] = k
	}
	return nil
}
