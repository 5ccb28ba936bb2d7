#!/usr/bin/env bash
# Installs what dpuflow needs to build, run and test on Debian bookworm,
# skipping whatever is already present. Safe to run again.
set -euo pipefail

# Debian packages: DPDK 22.11 runtime + headers + testpmd, libclang for
# bindgen, pkg-config, curl/openssl for tests and helper scripts; iproute2,
# ethtool and iputils-ping for the network-namespace pods of the end-to-end
# tests (dpuflow-netkit: `ip netns`, veth, `ethtool -K tx off`, `ping`).
PACKAGES=(dpdk dpdk-dev libdpdk-dev libclang-dev clang pkg-config curl openssl ca-certificates
    iproute2 ethtool iputils-ping)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found; install a Rust toolchain (rustup) first" >&2
    exit 1
fi
pkg-config --atleast-version=22.11 libdpdk || {
    echo "setup: pkg-config finds no libdpdk >= 22.11" >&2
    exit 1
}
echo "setup: DPDK $(pkg-config --modversion libdpdk), $(cargo --version)"
