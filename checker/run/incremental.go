package run

import "github.com/vpncheck/vpncheck/checker"

// Incremental runs: each generation keeps what its run judged
// (checker.Memory: the findings of each connection by a digest of its
// policy input, and its keys' estimates), and the next run judges afresh
// only connections whose input, or policies, changed.

// memory is what the run's generation keeps for the next run: the run's
// own memory, and, when the run saw only part of the account (a change
// event's run, or one that did not collect everything), what the last
// generation kept of the rest.
func (p Plan) memory(res *checker.Result, last *generation, whole bool) *checker.Memory {
	m := res.Memory
	if m != nil && last != nil && (p.Scope != nil || !whole) {
		m.Merge(last.Judged)
	}
	return m
}
