#!/usr/bin/env bash
# Every test: installs what is missing, then runs the workspace's tests on
# real DPDK virtual devices — once without hugepages and, when this machine
# lets us reserve them (root), the DPDK tests again on hugepages.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

# The control plane's integration tests run against a real kube-apiserver +
# etcd, built once from Debian's source package and cached in
# ~/.cache/dpuflow (minutes on a fresh machine, instant afterwards).
echo "== real kube-apiserver for the control-plane tests"
./scripts/kube-apiserver.sh build

echo "== tests without hugepages (--no-huge)"
cargo test

echo "== the pure crates without DPDK (no libdpdk, no libclang)"
./scripts/pure-crates.sh

echo "== the shipped binary's dependencies: same features alone and with the workspace"
./scripts/shipped-features.sh

# Coverage-guided fuzzing (cargo-fuzz + libFuzzer on stable): each target a
# bounded time from the committed corpus; a crash or broken invariant fails
# the run. DPUFLOW_FUZZ_SECONDS changes the per-target time (default 60).
echo "== fuzzing (${DPUFLOW_FUZZ_SECONDS:-60}s per target)"
./scripts/fuzz.sh

echo "== the DOCA Flow backend and declarations (compiled, not linked: no SDK)"
cargo test -p dpuflow-flow-doca -p dpuflow-sys --features dpuflow-sys/doca

if [ "$(id -u)" -eq 0 ] && ./scripts/hugepages.sh reserve 512; then
    echo "== DPDK tests again on hugepages (--in-memory)"
    DPUFLOW_TEST_HUGEPAGES=1 cargo test -p dpuflow-dpdk -p dpuflow-flow-rte -p dpuflow-datapath --tests
else
    echo "== hugepages unavailable here: hugepage run skipped"
fi
