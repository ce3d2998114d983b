#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Time to verify a finished 25 GB rip (SPEC §11.2): the sparse file the simulated
//! makemkvcon writes, checked as the engine checks it (header read, size and duration
//! compared). Prints p50/p99/max and the bytes read per check (from `/proc/self/io`).
//! `cargo bench -p amphigory --bench verify_output`; without `--bench` (as
//! `cargo test --all-targets` runs it) it checks once, as a smoke test.

use std::io::Write;
use std::time::{Duration, Instant};

use amphigory::sim::matroska;
use amphigory::verify::{Expected, check_file};

const SIZE: u64 = 25_000_000_000;
const ROUNDS: usize = 500;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Main Feature.mkv");
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(&matroska::header(6_300.0, SIZE)).unwrap();
    file.set_len(SIZE).unwrap();
    let expected = Expected {
        size_bytes: Some(SIZE),
        duration: Some("1:45:00".into()),
    };
    let (v, problem) = check_file(&path, &expected);
    assert!(problem.is_none() && v.container_ok && v.duration_ok == Some(true));
    if !std::env::args().any(|a| a == "--bench") {
        println!("verify_output: smoke run only (pass --bench to measure)");
        return;
    }
    let before = read_chars();
    let mut times: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            let (v, _) = check_file(&path, &expected);
            assert!(v.container_ok);
            start.elapsed()
        })
        .collect();
    let read_per_check = (read_chars() - before) / ROUNDS as u64;
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "verify_output: 25 GB sparse rip, {ROUNDS} checks: p50 {:?}, p99 {:?}, max {:?}; {read_per_check} bytes read per check",
        at(0.5),
        at(0.99),
        times[times.len() - 1]
    );
}

/// `rchar` of `/proc/self/io`: bytes this process read through read(2) and friends.
fn read_chars() -> u64 {
    let text = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}
