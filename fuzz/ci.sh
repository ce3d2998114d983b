#!/usr/bin/env bash
# The fuzz step of .ci/run (issue 19): every target for FUZZ_SECONDS (default 6) from the
# seed corpus, then each once on 1 MiB inputs shaped to hurt it, so that a decoder that
# panics, breaks one of its properties, hangs or turns quadratic fails CI.
# Installs cargo-fuzz when missing; works on a stable toolchain (see common.sh).
set -euo pipefail
FUZZ_DIR="$(cd "$(dirname "$0")" && pwd)"
source "$FUZZ_DIR/common.sh"
cd "$FUZZ_DIR"
seconds="${FUZZ_SECONDS:-6}"

# libfuzzer-sys compiles libFuzzer, which is C++.
command -v c++ >/dev/null || { apt-get update && apt-get install -y --no-install-recommends g++; }
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
./seed-corpus.sh
# A quicker build than the long run's (opt-level 1, no debug info, 16 codegen units
# instead of cargo-fuzz's 1): most of this step's time is compiling the daemon's
# dependencies with coverage instrumentation, and a few seconds per target need no speed.
CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=0 \
    cargo fuzz build "${FUZZ_FLAGS[@]}" --codegen-units 16
failed=()
for t in "${TARGETS[@]}"; do
    mkdir -p "artifacts/$t"
    if "$(fuzz_bin "$t")" "corpus/$t" -max_total_time="$seconds" -max_len="$(max_len "$t")" \
        -timeout=10 -rss_limit_mb=2048 -artifact_prefix="artifacts/$t/" > "artifacts/$t.log" 2>&1; then
        echo "fuzz: $t ok: $(grep -E '^#[0-9]+' "artifacts/$t.log" | tail -1)"
    else
        echo "fuzz: $t FAILED; the input is in fuzz/artifacts/$t/:" >&2
        grep -E -A3 'panicked|ERROR: libFuzzer' "artifacts/$t.log" | head -20 >&2
        failed+=("$t")
    fi
done
# 1 MiB in 3 s at most: linear decoders take milliseconds (each input's time is printed),
# a quadratic one seconds to minutes; the slack keeps a loaded CI machine from failing.
check_large 3 || failed+=(large-inputs)
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: failed: ${failed[*]}" >&2
    exit 1
fi
