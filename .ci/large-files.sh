#!/usr/bin/env bash
# Fails when a file tracked in git is over the limit (1 MB by default) and is
# not in the allow list: a built binary or a data dump committed by mistake
# stays in every clone for ever. Sizes are those of the index's blobs, so a
# file deleted from the work tree but still tracked is caught too.
#
#   .ci/large-files.sh [ALLOW_LIST]       default: .ci/large-files.txt
#   LARGE_FILE_LIMIT=2000000 .ci/large-files.sh
#
# Allow list: one file a line, "path  reason"; the reason is required.
# Lines starting with # and blank lines are ignored.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

allow=${1:-.ci/large-files.txt}
limit=${LARGE_FILE_LIMIT:-1000000}

declare -A allowed=()
if [ -f "$allow" ]; then
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in '' | '#'*) continue ;; esac
		read -r path reason <<<"$line"
		if [ -z "${reason:-}" ]; then
			echo "$allow: $path has no reason" >&2
			exit 1
		fi
		allowed[$path]=1
	done <"$allow"
fi

bad=0
# "mode sha stage<TAB>path" -> "sha path" -> "size path"
while IFS=' ' read -r size path; do
	if [ "$size" -gt "$limit" ] && [ -z "${allowed[$path]:-}" ]; then
		echo "tracked file over $limit bytes: $path ($size bytes); remove it (git rm --cached) or list it in $allow with a reason" >&2
		bad=1
	fi
done < <(git ls-files -s -z | tr '\0' '\n' | sed -E 's/^[0-7]+ ([0-9a-f]+) [0-9]+\t/\1 /' |
	git cat-file --batch-check='%(objectsize) %(rest)')
exit "$bad"
