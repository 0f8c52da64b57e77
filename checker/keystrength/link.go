package keystrength

import (
	"regexp"
	_ "unsafe" // go:linkname

	"github.com/trustelem/zxcvbn/adjacency"
	"github.com/trustelem/zxcvbn/match"
	_ "github.com/trustelem/zxcvbn/matching" // the matchers linked below
)

// The library's own matchers other than the dictionary ones, which it
// does not export: linked by name so that their matches are exactly its
// own (github.com/trustelem/zxcvbn v1.0.1, pinned in go.mod; the
// equivalence test fails if a new version moves them).

type spatialMatch struct{ graphs []*adjacency.Graph }

type repeatMatch struct{}

type sequenceMatch struct{}

type regexpMatch struct {
	regexes []struct {
		Name   string
		Regexp *regexp.Regexp
	}
}

type dateMatch struct{}

//go:linkname spatialMatches github.com/trustelem/zxcvbn/matching.spatialMatch.Matches
func spatialMatches(s spatialMatch, password string) []*match.Match

//go:linkname repeatMatches github.com/trustelem/zxcvbn/matching.repeatMatch.Matches
func repeatMatches(r repeatMatch, password string) []*match.Match

//go:linkname sequenceMatches github.com/trustelem/zxcvbn/matching.sequenceMatch.Matches
func sequenceMatches(s sequenceMatch, password string) []*match.Match

//go:linkname regexpMatches github.com/trustelem/zxcvbn/matching.regexpMatch.Matches
func regexpMatches(r regexpMatch, password string) []*match.Match

//go:linkname dateMatches github.com/trustelem/zxcvbn/matching.dateMatch.Matches
func dateMatches(d dateMatch, password string) []*match.Match

//go:linkname defaultGraphs github.com/trustelem/zxcvbn/matching.defaultGraphs
var defaultGraphs []*adjacency.Graph

//go:linkname defaultRegexpMatch github.com/trustelem/zxcvbn/matching.defaultRegexpMatch
var defaultRegexpMatch []struct {
	Name   string
	Regexp *regexp.Regexp
}

//go:linkname l33tTable github.com/trustelem/zxcvbn/matching.l33tTable
var l33tTable map[string][]string
