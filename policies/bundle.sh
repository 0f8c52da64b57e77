#!/usr/bin/env bash
# Builds a team's policy bundle for `vpncheck --policies BUNDLE` (and
# VPNCHECK_POLICY_BUNDLE in Function Compute) with the real OPA CLI, built
# from the Go module proxy (no binary download).
#
#   policies/bundle.sh DIR OUT.tar.gz [--signing-key PEM_FILE] [--signing-alg ALG]
#                      [--revision REV] [--claims-file FILE]
#
# DIR is the team's directory (vpncheck/rules/<name>/<name>.rego, optional
# vpncheck/config/data.json); see policies/README.md. The script
#   1. compiles DIR's rules against vpncheck's built-in tree with
#      `opa check --strict` (team rules call data.vpncheck.lib, so DIR alone
#      would not compile);
#   2. stages only the team's files (no _test.rego, no hidden files) with a
#      .manifest: the revision (default: DIR's git commit, else the time),
#      rego_version 1, and roots vpncheck/rules/<name> per rule package plus
#      vpncheck/config when DIR has data; the built-in library and
#      entrypoint are never packaged, so a bundle keeps working when
#      vpncheck's library is updated;
#   3. signs the staged files with `opa sign` (RS256 by default: give an
#      RSA private key; ES256/ES384/ES512 for an EC key);
#   4. packs them as a .tar.gz (`opa build` would insist on compiling DIR
#      alone, step 1 already compiled it) and reads it back with `opa inspect`.
# The revision shows in vpncheck's report and Slack footer.
set -euo pipefail

OPA_VERSION=v1.22.3
here=$(cd "$(dirname "$0")" && pwd)

usage() {
	sed -n '7,8p' "$0" | sed 's/^# *//' >&2
	exit 2
}
opa() { go run "github.com/open-policy-agent/opa@${OPA_VERSION}" "$@"; }

[ $# -ge 2 ] || usage
dir=$1 out=$2
shift 2
key="" alg="RS256" revision="" claims=""
while [ $# -gt 0 ]; do
	case $1 in
	--signing-key) key=${2:?--signing-key needs a PEM file}; shift 2 ;;
	--signing-alg) alg=${2:?--signing-alg needs an algorithm}; shift 2 ;;
	--revision) revision=${2:?--revision needs a value}; shift 2 ;;
	--claims-file) claims=${2:?--claims-file needs a file}; shift 2 ;;
	*) usage ;;
	esac
done
[ -d "$dir" ] || { echo "bundle.sh: $dir is not a directory" >&2; exit 2; }
[ -z "$key" ] || [ -r "$key" ] || { echo "bundle.sh: signing key $key is not readable" >&2; exit 2; }
dir=$(cd "$dir" && pwd)
case $out in /*) ;; *) out="$PWD/$out" ;; esac
[ -z "$key" ] || key=$(cd "$(dirname "$key")" && pwd)/$(basename "$key")
[ -z "$claims" ] || claims=$(cd "$(dirname "$claims")" && pwd)/$(basename "$claims")

if [ -z "$revision" ]; then
	revision=$(git -C "$dir" describe --always --dirty 2>/dev/null || date -u +%Y%m%dT%H%M%SZ)
fi

case $revision in
*[!A-Za-z0-9._:/+@-]*) echo "bundle.sh: revision '$revision': use letters, digits and . _ : / + @ -" >&2; exit 2 ;;
esac

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# 2. Stage the team's policy and data files, keeping their paths.
(cd "$dir" && find . -type f \( -name '*.rego' -o -name '*.json' -o -name '*.yaml' -o -name '*.yml' \) \
	! -name '*_test.rego' ! -path '*/.*' | LC_ALL=C sort) >"$stage.files"
trap 'rm -rf "$stage" "$stage.files"' EXIT
if [ ! -s "$stage.files" ]; then
	echo "bundle.sh: $dir holds no .rego or data file" >&2
	exit 1
fi
roots=()
has_data=""
while IFS= read -r f; do
	mkdir -p "$stage/$(dirname "$f")"
	cp "$dir/$f" "$stage/$f"
	case $f in
	*.rego)
		pkg=$(sed -n 's/^package[[:space:]]\{1,\}\([A-Za-z0-9_.]*\).*/\1/p' "$dir/$f" | head -n 1)
		case $pkg in
		vpncheck.rules.?*) ;;
		*)
			echo "bundle.sh: ${f#./}: package '$pkg' is outside vpncheck.rules.<name>: vpncheck collects only data.vpncheck.rules.<name>.deny" >&2
			exit 1
			;;
		esac
		# The root is the rule package: vpncheck.rules.<name>[.more] -> vpncheck/rules/<name>.
		root=$(printf '%s' "$pkg" | cut -d. -f1-3 | tr . /)
		# vpncheck refuses a bundle file outside the roots (policies/inspect.go).
		case ${f#./} in
		"$root"/*) ;;
		*)
			echo "bundle.sh: ${f#./}: a rule of package $pkg must live under $root/ (vpncheck loads only files under the bundle's roots)" >&2
			exit 1
			;;
		esac
		roots+=("$root")
		;;
	*)
		case ${f#./} in
		vpncheck/config/* | data.json | data.yaml | data.yml | vpncheck/data.json | vpncheck/data.yaml | vpncheck/data.yml) ;;
		*)
			echo "bundle.sh: ${f#./}: data lives in vpncheck/config/ (or a top-level data.json); vpncheck loads only files under the bundle's roots" >&2
			exit 1
			;;
		esac
		has_data=1
		;;
	esac
done <"$stage.files"
[ -z "$has_data" ] || roots+=("vpncheck/config")

roots_json=$(printf '%s\n' "${roots[@]}" | LC_ALL=C sort -u | sed 's/.*/"&"/' | paste -sd, -)
printf '{"revision": "%s", "roots": [%s], "rego_version": 1, "metadata": {"built_by": "vpncheck policies/bundle.sh"}}\n' \
	"$revision" "$roots_json" >"$stage/.manifest"

# 1. Compile the team's rules against the built-in tree (Rego only: data
# files may override the same keys, which is vpncheck's merge, not opa's).
opa check --strict "$here/vpncheck" "$stage" >&2

# 3. Sign the staged files; names in the signature are relative to the stage.
if [ -n "$key" ]; then
	sign=(sign --bundle . --signing-key "$key" --signing-alg "$alg" -o .)
	[ -z "$claims" ] || sign+=(--claims-file "$claims")
	(cd "$stage" && opa "${sign[@]}" >&2)
fi

# 4. Pack the files (no directory entries), reproducibly where tar is GNU tar.
(cd "$stage" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) >"$stage.files"
tar_opts=()
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
	tar_opts=(--owner=0 --group=0 --numeric-owner --mtime=@0)
fi
(cd "$stage" && tar "${tar_opts[@]}" --no-recursion -cf - -T "$stage.files") | gzip -n >"$out.tmp"
mv "$out.tmp" "$out"

opa inspect "$out" >&2
echo "bundle.sh: wrote $out (revision $revision$([ -n "$key" ] && echo ", signed $alg" || echo ", unsigned"))" >&2
