#!/usr/bin/env bash
# A team's policy pipeline, to run in the team's CI: format, compile against
# vpncheck's built-in library, test, load with vpncheck's own checks, build
# and sign the bundle, and load the signed bundle the way vpncheck will.
#
#   ci.sh TEAM_DIR OUT.tar.gz [SIGNING_KEY.pem PUBLIC_KEY.pem]
#
#   VPNCHECK_SRC   a vpncheck checkout (default: the one holding this script)
#   REVISION       the bundle's revision (default: TEAM_DIR's git commit)
#
# Needs Go; OPA comes from the Go module proxy. Exits nonzero at the first
# failed step. Upload OUT.tar.gz afterwards, e.g.
#   aliyun oss cp OUT.tar.gz oss://BUCKET/policies/team.tar.gz
set -euo pipefail

OPA_VERSION=v1.22.3
src=${VPNCHECK_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
[ $# -eq 2 ] || [ $# -eq 4 ] || { sed -n '6p' "$0" | sed 's/^# *//' >&2; exit 2; }
team=$(cd "$1" && pwd) out=$2 key=${3:-} pub=${4:-}
case $out in /*) ;; *) out="$PWD/$out" ;; esac

opa() { go run "github.com/open-policy-agent/opa@${OPA_VERSION}" "$@"; }
step() { printf '\n== %s\n' "$*" >&2; }
lib="$src/policies/vpncheck/lib" main="$src/policies/vpncheck/main"

step "opa fmt"
opa fmt --list --fail "$team"

step "opa check --strict, against the built-in tree"
opa check --strict "$src/policies/vpncheck" "$team"

# The team's tests see the library, the entrypoint and the team's own rules
# and data; every key the team does not set reads as its built-in default.
step "opa test (the team's tests)"
opa test -v "$lib" "$main" "$team" --run 'data\.vpncheck\.rules\.'

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd "$src" && go build -o "$bin/vpncheck" ./function)

# vpncheck's loader: data merged over the built-in data and validated
# against policies/schema/config.schema.json, packages, METADATA, ids.
step "vpncheck rules --policies TEAM_DIR"
env -u VPNCHECK_POLICY_PUBLIC_KEY "$bin/vpncheck" rules --policies "$team"

step "bundle.sh"
args=("$team" "$out")
[ -z "${REVISION:-}" ] || args+=(--revision "$REVISION")
[ -z "$key" ] || args+=(--signing-key "$key")
"$src/policies/bundle.sh" "${args[@]}"

step "vpncheck rules --policies OUT.tar.gz"
if [ -n "$pub" ]; then
	VPNCHECK_POLICY_PUBLIC_KEY=$(cat "$pub") "$bin/vpncheck" rules --policies "$out" >/dev/null
else
	env -u VPNCHECK_POLICY_PUBLIC_KEY "$bin/vpncheck" rules --policies "$out" >/dev/null
fi
echo "ci.sh: $out loads$([ -n "$pub" ] && echo " and verifies with $pub")" >&2
