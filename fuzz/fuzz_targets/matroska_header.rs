//! Fuzz target: `amphigory::fuzz_api::matroska_header` (its docs say what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = amphigory::fuzz_api::matroska_header(data) {
        panic!("{violation}");
    }
});
