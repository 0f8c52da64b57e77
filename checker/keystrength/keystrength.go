// Package keystrength is zxcvbn's guess estimate (github.com/trustelem/zxcvbn
// v1.0.1), exactly, in less time: the dictionary matching that is most of
// the library's cost (every substring lower-cased and looked up in seven
// dictionaries, again reversed and for every l33t substitution) is done
// here with one lookup of one lower-cased copy per substring, bounded by
// the longest word; every other matcher and the scoring are the library's
// own. A test holds Guesses to the library over thousands of keys with
// user inputs. Keys that are not ASCII go to the library as they are.
package keystrength

import (
	"sort"
	"strings"
	"sync"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/frequency"
	"github.com/trustelem/zxcvbn/match"
	"github.com/trustelem/zxcvbn/scoring"
)

// Guesses is zxcvbn.PasswordStrength(password, userInputs).Guesses.
func Guesses(password string, userInputs []string) float64 {
	for i := 0; i < len(password); i++ {
		if password[i] >= 0x80 {
			return zxcvbn.PasswordStrength(password, userInputs).Guesses
		}
	}
	matches := omnimatch(password, userInputs)
	return scoring.MostGuessableMatchSequence(password, matches, false).Guesses
}

// entry is one dictionary's rank of a word, and the word's next entry
// (its index plus one; 0 ends the chain).
type entry struct {
	dict uint32
	rank uint32
	next uint32
}

// lexicon is the library's default dictionaries, merged, compactly (it
// stays in memory beside the library's own): a lower-cased word's rank in
// each dictionary that has it (the last occurrence's, as the library
// builds its maps), and the longest word.
type lexicon struct {
	words  map[string]uint32 // word -> its first entry's index plus one
	slab   []entry
	names  []string
	maxLen int
}

var defaults = sync.OnceValue(func() *lexicon {
	lx := &lexicon{words: make(map[string]uint32, 100000)}
	for name := range frequency.FrequencyLists {
		lx.names = append(lx.names, name)
	}
	sort.Strings(lx.names)
	for d, name := range lx.names {
		for i, w := range frequency.FrequencyLists[name] {
			w = strings.ToLower(w)
			head := lx.words[w]
			if head > 0 && lx.slab[head-1].dict == uint32(d) {
				lx.slab[head-1].rank = uint32(i + 1) // a later occurrence wins
				continue
			}
			lx.slab = append(lx.slab, entry{dict: uint32(d), rank: uint32(i + 1), next: head})
			lx.words[w] = uint32(len(lx.slab))
			lx.maxLen = max(lx.maxLen, len(w))
		}
	}
	return lx
})

// dictionaries are the default lexicon and one check's user inputs.
type dictionaries struct {
	lx      *lexicon
	user    map[string]int
	maxLen  int
	scratch []byte
}

func newDictionaries(userInputs []string) *dictionaries {
	d := &dictionaries{lx: defaults(), user: map[string]int{}}
	for i, u := range userInputs {
		d.user[strings.ToLower(u)] = i + 1
	}
	d.maxLen = d.lx.maxLen
	for w := range d.user {
		d.maxLen = max(d.maxLen, len(w))
	}
	return d
}

// matches are the library's dictionary matches of an ASCII password: each
// substring, lower-cased, in each dictionary.
func (d *dictionaries) matches(password string) []*match.Match {
	d.scratch = append(d.scratch[:0], password...)
	for i, c := range d.scratch {
		if 'A' <= c && c <= 'Z' {
			d.scratch[i] = c + 'a' - 'A'
		}
	}
	lower := string(d.scratch)
	var out []*match.Match
	for i := range len(password) {
		for j := i; j < len(password) && j-i < d.maxLen; j++ {
			w := lower[i : j+1]
			for at := d.lx.words[w]; at > 0; {
				e := &d.lx.slab[at-1]
				out = append(out, &match.Match{Pattern: "dictionary", I: i, J: j, Token: password[i : j+1], MatchedWord: w, Rank: int(e.rank), DictionaryName: d.lx.names[e.dict]})
				at = e.next
			}
			if r, ok := d.user[w]; ok {
				out = append(out, &match.Match{Pattern: "dictionary", I: i, J: j, Token: password[i : j+1], MatchedWord: w, Rank: r, DictionaryName: "user_inputs"})
			}
		}
	}
	return out
}

// reversed are the matches of the reversed password, placed back.
func (d *dictionaries) reversed(password string) []*match.Match {
	n := len(password)
	rev := reverseASCII(password)
	ms := d.matches(rev)
	for _, m := range ms {
		m.Token = reverseASCII(m.Token)
		m.Reversed = true
		m.I, m.J = n-1-m.J, n-1-m.I
	}
	return ms
}

func reverseASCII(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// l33t are the matches under every l33t substitution the password allows,
// as the library enumerates them, that are not plain matches.
func (d *dictionaries) l33t(password string) []*match.Match {
	var out []*match.Match
	for _, sub := range substitutions(password) {
		if len(sub) == 0 {
			break
		}
		subbed := translate(password, sub)
		for _, m := range d.matches(subbed) {
			token := password[m.I : m.J+1]
			if len(token) <= 1 || strings.ToLower(token) == m.MatchedWord {
				continue // one character is noise; no substitution is a plain match
			}
			m.Sub = map[string]string{}
			for from, to := range sub {
				if strings.Contains(token, from) {
					m.Sub[from] = to
				}
			}
			m.L33t = true
			m.Token = token
			out = append(out, m)
		}
	}
	return out
}

func translate(password string, sub map[string]string) string {
	var b strings.Builder
	for _, r := range password {
		if to, ok := sub[string(r)]; ok {
			b.WriteString(to)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pair maps one l33t character to the letter it stands for.
type pair struct{ from, to string }

// substitutions are the library's l33t substitution tables for password:
// for each letter in order, each of its l33t characters present is added
// to every table so far, or, where the character is already taken, both
// the table as it is and the table with the character given to this
// letter are kept; tables with the same pairs count once.
func substitutions(password string) []map[string]string {
	present := map[rune]bool{}
	for _, r := range password {
		present[r] = true
	}
	relevant := map[string][]string{}
	for letter, chars := range l33tTable {
		for _, c := range chars {
			if present[rune(c[0])] {
				relevant[letter] = append(relevant[letter], c)
			}
		}
	}
	letters := make([]string, 0, len(relevant))
	for l := range relevant {
		letters = append(letters, l)
	}
	sort.Strings(letters)
	tables := [][]pair{{}}
	for _, letter := range letters {
		var next [][]pair
		for _, c := range relevant[letter] {
			for _, t := range tables {
				taken := -1
				for i, p := range t {
					if p.from == c {
						taken = i
						break
					}
				}
				if taken < 0 {
					next = append(next, append(t, pair{c, letter}))
					continue
				}
				alt := make([]pair, 0, len(t))
				alt = append(append(alt, t[:taken]...), t[taken+1:]...)
				next = append(next, t, append(alt, pair{c, letter}))
			}
		}
		tables = dedup(next)
	}
	out := make([]map[string]string, len(tables))
	for i, t := range tables {
		out[i] = map[string]string{}
		for _, p := range t {
			out[i][p.from] = p.to
		}
	}
	return out
}

// dedup keeps the first table of each set of pairs, each sorted by its
// character (in place, stably, as the library does).
func dedup(tables [][]pair) [][]pair {
	var out [][]pair
	seen := map[string]bool{}
	for _, t := range tables {
		sort.SliceStable(t, func(i, j int) bool { return t[i].from < t[j].from })
		var b strings.Builder
		for _, p := range t {
			b.WriteString(p.from + "," + p.to)
		}
		if !seen[b.String()] {
			seen[b.String()] = true
			out = append(out, t)
		}
	}
	return out
}

// omnimatch is the library's Omnimatch for an ASCII password.
func omnimatch(password string, userInputs []string) []*match.Match {
	d := newDictionaries(userInputs)
	ms := d.matches(password)
	ms = append(ms, d.reversed(password)...)
	ms = append(ms, d.l33t(password)...)
	ms = append(ms, spatialMatches(spatialMatch{graphs: defaultGraphs}, password)...)
	ms = append(ms, repeatMatches(repeatMatch{}, password)...)
	ms = append(ms, sequenceMatches(sequenceMatch{}, password)...)
	ms = append(ms, regexpMatches(regexpMatch{regexes: defaultRegexpMatch}, password)...)
	ms = append(ms, dateMatches(dateMatch{}, password)...)
	match.Sort(ms)
	return ms
}
