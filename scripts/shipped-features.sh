#!/usr/bin/env bash
# The shipped `dpuflow` must be the same binary whether it is built alone
# (`cargo build --release -p dpuflow`) or together with the benchmarks and
# test kits (`cargo build --release` of every default member): no crate in
# its dependency tree may get another feature set from them, or building
# `dpuflow-perf` would rebuild dpuflow's dependencies with other features.
set -euo pipefail
cd "$(dirname "$0")/.."

features() {
    cargo tree -q -e normal,build -f '{p} [{f}]' --prefix none "$@" | sort -u
}
alone=$(features -p dpuflow)
together=$(features)
status=0
while read -r name version _; do
    a=$(grep -F "$name $version " <<<"$alone" | head -n 1)
    b=$(grep -F "$name $version " <<<"$together" | head -n 1)
    if [ "$a" != "$b" ]; then
        echo "shipped-features: $name $version: alone $a; with the workspace $b" >&2
        status=1
    fi
done <<<"$alone"
[ "$status" -eq 0 ] && echo "shipped-features: dpuflow's dependencies build with the same features alone and with the workspace"
exit "$status"
