// Package region knows Alibaba Cloud's region ids, so that a misspelt one
// is refused at once, with the nearest known id, instead of failing later
// as a DNS error after the SDK's retries. It owns the built-in list (the
// offline fallback; a live run asks DescribeRegions about the rest) and
// imports nothing of vpncheck.
package region

import (
	"slices"
	"strings"

	"github.com/agnivade/levenshtein"
)

// builtin are the public regions of Alibaba Cloud as of 2026, and the
// finance and government regions the VPC SDK (vpc-20160428) names; closed
// regions (ap-southeast-2 Sydney, ap-south-1 Mumbai) are left out. A region
// opened later is known to a live run through DescribeRegions.
var builtin = []string{
	// China
	"cn-qingdao", "cn-beijing", "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu",
	"cn-hangzhou", "cn-shanghai", "cn-nanjing", "cn-fuzhou", "cn-wuhan-lr",
	"cn-shenzhen", "cn-heyuan", "cn-guangzhou", "cn-chengdu", "cn-hongkong",
	// Asia Pacific
	"ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-3",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ap-southeast-8",
	// Europe, Americas, Middle East
	"us-east-1", "us-west-1", "us-southeast-1", "eu-west-1", "eu-central-1",
	"me-east-1", "me-central-1", "na-south-1",
	// Finance and government clouds
	"cn-shanghai-finance-1", "cn-shenzhen-finance-1", "cn-hangzhou-finance", "cn-north-2-gov-1",
}

// Builtin returns the built-in list of region ids.
func Builtin() []string { return slices.Clone(builtin) }

// IsBuiltin reports whether id is in the built-in list.
func IsBuiltin(id string) bool { return slices.Contains(builtin, id) }

// UnknownError is a region id that is neither in the built-in list nor
// among the ids the API answered.
type UnknownError struct {
	ID      string
	Nearest string // the closest known id, or "" when none is close
	// Why, when set, says why the API could not be asked about ID.
	Why string
}

func (e *UnknownError) Error() string {
	msg := "unknown region " + e.ID
	if e.Nearest != "" {
		msg += "; did you mean " + e.Nearest + "?"
	} else {
		msg += ": not an Alibaba Cloud region id (e.g. cn-hangzhou)"
	}
	if e.Why != "" {
		msg += " (it is not in the built-in list, and the API could not be asked: " + e.Why + ")"
	}
	return msg
}

// Check returns an *UnknownError for the first of ids that is neither in
// the built-in list nor in also (the API's answer, when there is one).
func Check(ids, also []string) error {
	for _, id := range ids {
		if !IsBuiltin(id) && !slices.Contains(also, id) {
			return &UnknownError{ID: id, Nearest: Nearest(id, append(Builtin(), also...))}
		}
	}
	return nil
}

// Nearest returns the id among candidates closest to id by edit distance
// (ignoring case), or "" when none is close enough to be a misspelling:
// more than a third of id's characters, and at least 3, would change.
func Nearest(id string, candidates []string) string {
	low := strings.ToLower(strings.TrimSpace(id))
	best, bestD := "", max(3, len(low)/3)+1
	for _, c := range candidates {
		if d := levenshtein.ComputeDistance(low, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// Unknown returns the ids that are not in the built-in list, "all" (any
// case) left out: those a live run must confirm with DescribeRegions.
func Unknown(ids ...[]string) []string {
	var out []string
	for _, list := range ids {
		for _, id := range list {
			if !IsBuiltin(id) && !strings.EqualFold(id, "all") && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}
