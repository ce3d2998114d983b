#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Scan-parser throughput on the 108-title capture (target: at least 300 MB/s). Plain
//! `std` timing: `cargo bench -p amphigory --bench parse_scan`. Run without `--bench`
//! (as `cargo test --all-targets` does) it parses once, as a smoke test.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use amphigory::makemkv::scan::parse_scan_bytes;

const CAPTURE: &str = "makemkv/bluray-demo-movie-108-titles-info-macos.txt";
const ROUNDS: usize = 15;
const ROUND_TIME: Duration = Duration::from_millis(200);

fn main() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(CAPTURE);
    let Ok(bytes) = std::fs::read(&path) else {
        println!("skipping: {} missing", path.display());
        return;
    };
    let scan = parse_scan_bytes(&bytes).expect("the capture scans");
    assert_eq!(scan.tracks.len(), 108);
    if !std::env::args().any(|a| a == "--bench") {
        println!("parse_scan: smoke run only (pass --bench to measure)");
        return;
    }
    let mut rates: Vec<f64> = (0..ROUNDS).map(|_| round(&bytes)).collect();
    rates.sort_by(f64::total_cmp);
    let median = rates[ROUNDS / 2];
    println!(
        "parse_scan: {} bytes, median {median:.0} MB/s (min {:.0}, max {:.0}) over {ROUNDS} rounds",
        bytes.len(),
        rates[0],
        rates[ROUNDS - 1],
    );
}

/// Parses for about [`ROUND_TIME`] and returns MB/s (10^6 bytes).
fn round(bytes: &[u8]) -> f64 {
    let start = Instant::now();
    let mut parsed = 0usize;
    while start.elapsed() < ROUND_TIME {
        black_box(parse_scan_bytes(black_box(bytes)).ok());
        parsed += bytes.len();
    }
    parsed as f64 / start.elapsed().as_secs_f64() / 1e6
}
