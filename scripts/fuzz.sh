#!/usr/bin/env bash
# Coverage-guided fuzzing of dpuflow's fuzz targets (fuzz/src/bin/*.rs) with
# cargo-fuzz + libFuzzer on the stable toolchain (`--sanitizer none`: the
# targets are safe Rust, where bounds and overflow checks are the sanitizer).
#
#   scripts/fuzz.sh [--merge] [SECONDS] [TARGET...]
#
# Runs each target for SECONDS (default 60, or $DPUFLOW_FUZZ_SECONDS) from its
# committed seeds in fuzz/corpus/<target>/. New inputs go to a scratch
# directory, so the tree stays clean; with --merge, those that add coverage
# are merged into fuzz/corpus/<target>/ (to commit). Exits non-zero when a
# target crashes, broke an invariant or hung; the input is kept in
# fuzz/artifacts/<target>/ and the command to reproduce it is printed.
#
# cargo-fuzz is installed once into ~/.cache/dpuflow/cargo-fuzz-<version>.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
merge=0
seconds=${DPUFLOW_FUZZ_SECONDS:-60}
targets=()
for arg in "$@"; do
    case $arg in
        --merge) merge=1 ;;
        -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $arg" >&2; exit 2 ;;
        *[!0-9]*) targets+=("$arg") ;;
        *) seconds=$arg ;;
    esac
done
if [ ${#targets[@]} -eq 0 ]; then
    for f in fuzz/src/bin/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi

root="${XDG_CACHE_HOME:-$HOME/.cache}/dpuflow/cargo-fuzz-$CARGO_FUZZ_VERSION"
export PATH="$root/bin:$PATH"
if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION into $root (about a minute, once)"
    cargo install --locked --quiet cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$root"
fi

# The harness first: its invariant checker refuses doctored answers, accepts
# every committed corpus input, and the seed files match their generator.
echo "== fuzz harness tests (plain build, corpus replayed)"
cargo test --manifest-path fuzz/Cargo.toml --lib

# Release with debug assertions and overflow checks; one build for all targets.
fuzz_flags=(--sanitizer none --debug-assertions)
echo "== building the fuzz targets"
cargo fuzz build "${fuzz_flags[@]}"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/dpuflow-fuzz.XXXXXX")
failed=()
summary=()
for t in "${targets[@]}"; do
    seeds="fuzz/corpus/$t"
    work="$scratch/$t"
    log="$scratch/$t.log"
    mkdir -p "$seeds" "$work"
    args=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1)
    [ -f "fuzz/dict/$t.dict" ] && args+=(-dict="fuzz/dict/$t.dict")
    echo "== fuzzing $t for ${seconds}s ($(ls "$seeds" | wc -l) seeds; log $log)"
    # libFuzzer writes new inputs to the first corpus directory only.
    if cargo fuzz run "${fuzz_flags[@]}" "$t" "$work" "$seeds" -- "${args[@]}" >"$log" 2>&1; then
        status=ok
    else
        status=failed
        failed+=("$t")
        # The panic or timeout, and cargo-fuzz's "Failing input" / reproduce lines.
        grep -E -A3 "panicked at|ERROR: libFuzzer|==ERROR" "$log" | head -n 20 || true
        sed -n '/^Failing input:/,$p' "$log" | grep -v '^\s*$' | head -n 12 || true
        echo "fuzz $t: FAILED — full log kept at $log"
    fi
    # libFuzzer's closing lines: `stat::<name>: <value>`, and `corp: <inputs>/<bytes>`.
    final_stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
    corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -n 1 | cut -d' ' -f2)
    summary+=("$t: $status, $(final_stat number_of_executed_units) execs, $(final_stat average_exec_per_sec) execs/s, corpus ${corp:-?} (inputs/bytes; $(final_stat new_units_added) new units)")
    if [ "$merge" = 1 ] && [ "$status" = ok ]; then
        before=$(ls "$seeds" | wc -l)
        cargo fuzz run "${fuzz_flags[@]}" "$t" "$seeds" "$work" -- -merge=1 >"$scratch/$t.merge.log" 2>&1
        echo "fuzz $t: merged $(($(ls "$seeds" | wc -l) - before)) inputs into $seeds"
    fi
done

echo "== fuzz summary (${seconds}s per target)"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crash or broken invariant in: ${failed[*]} (inputs in fuzz/artifacts/; logs in $scratch)" >&2
    exit 1
fi
rm -rf "$scratch"
