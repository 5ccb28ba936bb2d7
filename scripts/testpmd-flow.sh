#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs dpdk-testpmd with the rte_flow recorder preloaded and prints what
# testpmd's `flow ...` commands handed to rte_flow (ffi-headers/testing/).
#
#   scripts/testpmd-flow.sh 'flow create 0 ingress pattern eth / end actions drop / end'
#   scripts/testpmd-flow.sh < commands.txt        # one testpmd command a line
#
# Env: DPUFLOW_RECORDER_SO (default: newest one under target/, built by
# `cargo test -p dpuflow-flow-testkit --features recorder`), DPUFLOW_TESTPMD (default
# dpdk-testpmd), TESTPMD_VERBOSE=1 to also show testpmd's output.
set -eu

repo=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
so=${DPUFLOW_RECORDER_SO:-}
if [ -z "$so" ]; then
    # shellcheck disable=SC2012 # paths are ours, newest-first wanted
    so=$(ls -t "$repo"/target/*/build/dpuflow-flow-testkit-*/out/libdpuflow_recorder_preload.so \
        2>/dev/null | head -n 1 || true)
fi
if [ -z "$so" ] || [ ! -f "$so" ]; then
    echo "recorder .so not found: run 'cargo test -p dpuflow-flow-testkit --features recorder' first" \
        "or set DPUFLOW_RECORDER_SO" >&2
    exit 2
fi
testpmd=${DPUFLOW_TESTPMD:-dpdk-testpmd}

dir=$(mktemp -d "${TMPDIR:-/tmp}/dpuflow-testpmd-flow.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
if [ $# -gt 0 ]; then
    for c in "$@"; do printf '%s\n' "$c"; done > "$dir/commands.txt"
else
    cat > "$dir/commands.txt"
fi
echo quit >> "$dir/commands.txt"

rc=0
DPUFLOW_RECORDER_OUT="$dir/records.txt" LD_PRELOAD="$so" \
    "$testpmd" --no-pci --no-huge --no-shconf -m 512 \
    --file-prefix="$(basename "$dir")" \
    --vdev net_null0 --vdev net_null1 -- \
    -i --total-num-mbufs 8192 --disable-link-check --rxq=4 --txq=4 \
    < "$dir/commands.txt" > "$dir/out.txt" 2>&1 || rc=$?

if [ "${TESTPMD_VERBOSE:-0}" = 1 ]; then
    cat "$dir/out.txt" >&2
elif grep -aE 'Bad arguments|Command not found|Ambiguous command| is invalid|Invalid port|Caught (PMD )?error' \
    "$dir/out.txt" >&2; then
    [ "$rc" -ne 0 ] || rc=1
    echo "(testpmd refused a command; TESTPMD_VERBOSE=1 shows its output)" >&2
fi
[ -f "$dir/records.txt" ] && cat "$dir/records.txt"
exit "$rc"
