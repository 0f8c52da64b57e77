#!/usr/bin/env bash
# Runs every check of the policy library with the real tools, built from the
# Go module proxy (no binary download): opa fmt, opa check --strict, opa test
# (with coverage) and Regal over the built-in tree, and the team pipeline
# (examples/team-policies/ci.sh: test, load, bundle.sh, sign, verify) over
# the worked example, examples/team-policies/custom_rule. The example lives
# outside policies/ so that `opa test policies` sees the built-in tree alone.
# Every check runs; the script exits 1 and names the failed ones if any
# failed.
#
#   policies/check.sh            from anywhere in the repository
#   COVERAGE_MIN=90 policies/check.sh   to lower the coverage floor (default 100)
set -uo pipefail
cd "$(dirname "$0")/.."

OPA_VERSION=v1.22.3
COVERAGE_MIN=${COVERAGE_MIN:-100}
dir=policies
example_dir=examples/team-policies/custom_rule

opa() { go run "github.com/open-policy-agent/opa@${OPA_VERSION}" "$@"; }
regal() { go tool -modfile=tools/regal/go.mod regal "$@"; }

failed=()
step() {
	local name=$1
	shift
	printf '\n== %s\n' "$name"
	if "$@"; then
		printf -- '-- ok: %s\n' "$name"
	else
		printf -- '-- FAILED: %s\n' "$name"
		failed+=("$name")
	fi
}

coverage() {
	local out rc figure
	out=$(opa test --coverage --format json --threshold "$COVERAGE_MIN" "$dir")
	rc=$?
	# The report's last "coverage" key is the overall figure.
	figure=$(printf '%s\n' "$out" | grep '"coverage":' | tail -n 1 | tr -dc '0-9.')
	if [ -z "$figure" ]; then
		printf '%s\n' "$out" | tail -n 20
		echo "no coverage figure in the report"
		return 1
	fi
	echo "coverage: ${figure}% of rule lines (floor ${COVERAGE_MIN}%)"
	if [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out" | grep -B1 -A3 '"not_covered"' | head -n 40
	fi
	return "$rc"
}

# The example: a team's tree, with a throwaway signing key.
example() {
	local tmp rc
	tmp=$(mktemp -d)
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/key.pem" 2>/dev/null &&
		openssl pkey -in "$tmp/key.pem" -pubout -out "$tmp/pub.pem" &&
		REVISION=example-check examples/team-policies/ci.sh "$example_dir" "$tmp/example.tar.gz" "$tmp/key.pem" "$tmp/pub.pem"
	rc=$?
	rm -rf "$tmp"
	return "$rc"
}

step "opa fmt --list --fail" opa fmt --list --fail "$dir"
step "opa check --strict" opa check --strict "$dir"
# Exactly the command a security team types first: nothing ignored.
step "opa test -v" opa test -v "$dir"
step "opa test --coverage" coverage
step "regal lint" regal lint "$dir" "$example_dir"
step "example team pipeline (examples/team-policies/ci.sh)" example

echo
if [ ${#failed[@]} -gt 0 ]; then
	printf 'policy checks failed: %s\n' "$(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')"
	exit 1
fi
echo "policy checks passed"
