# Shared by ci.sh and run-long.sh (sourced): the target list, the toolchain rule and the
# cargo-fuzz invocation.

# Every fuzz target, one per decoder.
TARGETS=(robot_line scan_transcript task_file tasks_json webapp_config daemon_yaml
         ws_message control_line uevent drutil_text drutil_xml sim_state matroska_header)

# No sanitizer: cargo-fuzz then passes only stable flags (-Cpasses=sancov-module, -Cllvm-args
# …), so a stable toolchain builds and runs every target, no nightly needed. The decoders
# are safe Rust: panics, broken properties, hangs and blow-ups are caught without ASan.
# (ASan works on stable too, with RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET -s address.)
FUZZ_FLAGS=(--sanitizer none)

# The libFuzzer binary of a target (built by `cargo fuzz build`).
fuzz_bin() {
    local dir="${CARGO_TARGET_DIR:-$FUZZ_DIR/target}"
    printf '%s/%s/release/%s' "$dir" "$(rustc -vV | sed -n 's/^host: //p')" "$1"
}

# Longest input libFuzzer makes up, per target (transcripts get more room).
max_len() { if [ "$1" = scan_transcript ]; then echo 16384; else echo 4096; fi; }

# Runs every target once on each of its large inputs (large-inputs.sh): -timeout fails a
# target that is not linear in its input; libFuzzer prints each input's time.
check_large() {
    local timeout="$1" t
    "$FUZZ_DIR/large-inputs.sh"
    for t in "${TARGETS[@]}"; do
        "$(fuzz_bin "$t")" -timeout="$timeout" -rss_limit_mb=2048 "$FUZZ_DIR/large/$t"/* 2>&1 |
            grep -E '^Executed|ERROR|panicked' || true
        "$(fuzz_bin "$t")" -timeout="$timeout" -rss_limit_mb=2048 "$FUZZ_DIR/large/$t"/* >/dev/null 2>&1 || {
            echo "fuzz: $t failed on a large input (time not linear, or a crash): see above" >&2
            return 1
        }
    done
}
