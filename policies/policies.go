// Package policies holds vpncheck's built-in Rego rules, their tests and
// their default data.
package policies

import "embed"

// Query is the rule every connection is evaluated with: the set of
// findings of main/main.rego. Entrypoint is the same rule as the planner
// names it.
const (
	Query      = "data.vpncheck.main.findings"
	Entrypoint = "vpncheck/main/findings"
)

// FS holds the vpncheck policy tree: main/main.rego (the entrypoint), lib/
// (shared helpers), config/data.json (thresholds, value lists, exceptions)
// and rules/<rule>/ (one rule per package, with its tests).
//
//go:embed vpncheck
var FS embed.FS
