#!/usr/bin/env bash
# The main job: builds dpuflow and runs its datapath on DPDK virtual devices
# (no NIC, no hugepages needed). Extra arguments go to `dpuflow run`, e.g.
#   ./scripts/run.sh --duration 10
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release -p dpuflow
exec ./target/release/dpuflow run "$@"
