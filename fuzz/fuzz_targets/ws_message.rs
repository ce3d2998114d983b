//! Fuzz target: `amphigory::fuzz_api::ws_message` (its docs say what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(violation) = amphigory::fuzz_api::ws_message(data) {
        panic!("{violation}");
    }
});
