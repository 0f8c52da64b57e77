#!/usr/bin/env bash
# Prints vpncheck's performance table (README, "Performance"): a check on
# generated inventories side by side with a plain JSON decode of the same
# file, the cost of distinct keys, the OPA CLI on the same policies and
# inputs, cold start, binary size, and a simulated multi-region scan.
#
#   bash bench/run.sh            # 1k, 10k and 50k connections
#   SIZES="1000 10000" bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 10000 50000"}
RUNS=${RUNS:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "building..." >&2
GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/vpncheck" ./function
go build -o "$out/decodeonly" ./bench/decodeonly
go build -o "$out/measure" ./bench/measure
go build -o "$out/geninventory" ./bench/geninventory
GOBIN="$out" go install github.com/open-policy-agent/opa@v1.22.3   # the CLI, built outside this module
measure() { "$out/measure" -n "$RUNS" -- "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
echo "| connections | file | decode only | vpncheck --format json | ratio | RSS decode only | RSS vpncheck |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in $SIZES; do
  f="$out/inv-$n.json"
  "$out/geninventory" -n "$n" -keys 500 -dual-every 3 -o "$f"
  read -r dms drss < <(measure "$out/decodeonly" "$f")
  read -r vms vrss < <(measure "$out/vpncheck" check --inventory "$f" --format json)
  printf "| %d | %.1f MB | %d ms | %d ms | %sx | %d MB | %d MB |\n" "$n" \
    "$(awk -v s="$(stat -c %s "$f")" 'BEGIN{print s/1048576}')" "$dms" "$vms" "$(ratio "$vms" "$dms")" $((drss / 1024)) $((vrss / 1024))
done

echo
echo "Key strength (10,000 connections, 13,334 tunnels):"
"$out/geninventory" -n 10000 -keys 0 -dual-every 3 -o "$out/distinct.json"
"$out/geninventory" -n 10000 -keys 500 -dual-every 3 -o "$out/shared.json"
read -r sms _ < <(measure "$out/vpncheck" check --inventory "$out/shared.json" --format json)
read -r ams arss < <(measure "$out/vpncheck" check --inventory "$out/distinct.json" --format json)
echo "- 500 distinct keys: $sms ms; every key distinct (13,334): $ams ms, RSS $((arss / 1024)) MB;" \
  "$(awk -v a="$ams" -v s="$sms" 'BEGIN { printf "%.3f", (a - s) / (13334 - 500) }') ms more per extra distinct key"

echo
echo "Against the OPA CLI (same policies, same normalised inputs, 1,000 connections, 5 distinct keys):"
"$out/geninventory" -n 1000 -keys 5 -dual-every 3 -o "$out/opa-inv.json"   # few keys: zxcvbn, which opa does not do, is negligible
"$out/vpncheck" check --inventory "$out/opa-inv.json" --format json --dump-input "$out/inputs.json" >/dev/null
read -r ims _ < <(measure "$out/vpncheck" check --inventory "$out/opa-inv.json" --format json)
query='[f | some c in input; some f in data.vpncheck.main.findings with input as c]'
read -r oms _ < <(measure "$out/opa" eval --format json -d vpncheck:policies/vpncheck -i "$out/inputs.json" "$query")
ocount=$("$out/opa" eval --format raw -d vpncheck:policies/vpncheck -i "$out/inputs.json" "count($query)")
vcount=$("$out/vpncheck" check --inventory "$out/opa-inv.json" --format json | grep -m1 '"findings": [0-9]' | tr -dc 0-9)
echo "- vpncheck (decode, normalise, key facts, evaluate, report): $ims ms, $vcount findings"
echo "- opa eval on the normalised inputs (--dump-input): $oms ms, $ocount findings; opa eval takes $(ratio "$oms" "$ims")x as long"
echo
echo "Cold start (process start to policies compiled and the query prepared, then the catalogue printed):"
RUNS=15 read -r cms crss < <("$out/measure" -n 15 -- "$out/vpncheck" rules --format json)
echo "- vpncheck rules: $cms ms (median of 15), RSS $((crss / 1024)) MB"
echo "- binary (linux/amd64, stripped): $(( $(stat -c %s "$out/vpncheck") / 1048576 )) MB, $(( $(gzip -9c "$out/vpncheck" | wc -c) / 1048576 )) MB gzipped"

echo
echo "Per connection (go test -bench):"
go test ./checker -run '^$' -bench 'NormalizeOne|EvaluateOne' -benchmem | grep -E '^Benchmark' | sed 's/^/- /'

echo
echo "API calls and a 20-region scan against the fake VPC API (100 ms per call):"
go test ./checker -run '^$' -bench CollectLatency -benchtime 3x | grep -E '^Benchmark' | sed 's/^/- /'
