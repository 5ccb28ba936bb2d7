#!/usr/bin/env bash
# The pure crates — packet parser, connection table, rule model, software
# classifier, DOCA plan, desired-state tables, the whole control-plane
# library — must build and unit-test on a machine without DPDK and libclang.
# Proven two ways:
#  1. their dependency trees (normal, build and dev) hold no DPDK binding
#     crate, no bindgen and no pkg-config;
#  2. their tests run with pkg-config made to fail and libclang hidden, so
#     any build script that looked for DPDK would stop the build.
set -euo pipefail
cd "$(dirname "$0")/.."

PURE=(dpuflow-net dpuflow-packet dpuflow-conntrack dpuflow-flow dpuflow-tables dpuflow-engine dpuflow-offload dpuflow-control)
FORBIDDEN='^(dpuflow-sys|dpuflow-dpdk|dpuflow-flow-rte|dpuflow-flow-doca|dpuflow-datapath|bindgen|clang-sys|pkg-config) '

status=0
for crate in "${PURE[@]}"; do
    hits=$(cargo tree -q -p "$crate" -e normal,build,dev --prefix none --no-dedupe \
        | sort -u | grep -E "$FORBIDDEN" || true)
    if [ -n "$hits" ]; then
        echo "pure-crates: $crate depends on DPDK/bindgen crates:" >&2
        echo "$hits" | sed 's/^/    /' >&2
        status=1
    fi
done
[ "$status" -eq 0 ] || exit 1
echo "pure-crates: ${PURE[*]}: no DPDK, bindgen or pkg-config in their trees"

args=()
for crate in "${PURE[@]}"; do args+=(-p "$crate"); done
# The control plane's integration test needs the real API server and runs in
# the main test pass; here its library tests, and every test of the others.
PKG_CONFIG=/bin/false LIBCLANG_PATH=/nonexistent \
    cargo test "${args[@]}" --lib --bins --test corpus --test doca_plan --test parse --test edit --test reply \
        --test conntrack_stress --test lookup --test pipeline --test gateway --test offload --test manager_faults --test differential
