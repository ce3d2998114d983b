#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Latency from an event published in the daemon to `amphigory watch --json` printing it
//! (issue 6: target p99 ≤ 5 ms). Plain `std` timing: `cargo bench -p amphigory --bench
//! watch_latency`. Run without `--bench` (as `cargo test --all-targets` does) it is a
//! small smoke run.
//!
//! A real daemon (`daemon::start`, in this process, on its own two-thread runtime like
//! the daemon on a 2-core machine) serves its control socket; the real binary runs
//! `watch --json --replay` as a child whose stdout this process reads. Events are
//! published on the daemon's bus one at a time; each one's latency is publish → its
//! envelope line read from the child's stdout, i.e. the daemon's subscriber task, the
//! socket, the CLI's parse-free copy to stdout and the pipe back. p50/p99 over 1,000
//! events after 50 warm-up ones.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use amphigory::core::DaemonEvent;
use amphigory::daemon::{self, DaemonOptions, SimOptions};
use tokio_util::sync::CancellationToken;

const WARM_UP: u64 = 50;
/// The `eta_seconds` of the marker that tells the child is listening.
const MARKER: u64 = 999_999_999;

fn progress(n: u64) -> DaemonEvent {
    DaemonEvent::TaskProgress {
        task_id: "20251227T143052.123456-rip".into(),
        percent: u8::try_from(n % 101).unwrap(),
        eta_seconds: Some(n),
        current_size_bytes: Some(n * 1_000_000),
        speed: Some("42.3 MB/s".into()),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let events: u64 = if full { 1000 } else { 50 };
    // The daemon's runtime: one worker, as `amphigory daemon` builds it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("run").join("daemon.sock");
    let shutdown = CancellationToken::new();
    let handle = runtime
        .block_on(daemon::start(
            options(dir.path(), &socket),
            shutdown.clone(),
        ))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_amphigory"))
        .arg("--socket")
        .arg(&socket)
        .args(["watch", "--json", "--replay"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    // The marker is replayed if the child subscribes after it was published.
    handle.bus.publish(progress(MARKER));
    read_until(&mut lines, MARKER);
    let mut latencies = Vec::new();
    for n in 0..WARM_UP + events {
        let sent = Instant::now();
        handle.bus.publish(progress(n));
        read_until(&mut lines, n);
        if n >= WARM_UP {
            latencies.push(sent.elapsed());
        }
    }
    report(&mut latencies);
    let _ = child.kill();
    let _ = child.wait();
    shutdown.cancel();
    runtime.block_on(handle.wait());
}

/// A daemon in `root` on one simulated drive, serving `socket`, heartbeats out of the way.
fn options(root: &Path, socket: &Path) -> DaemonOptions {
    let mut options = DaemonOptions::new(root.join("tasks"), root.join("state"));
    options.simulate = Some(SimOptions {
        discs: vec!["demo-bluray".into()],
        rate_mbps: 20000.0,
        fault: None,
    });
    // The simulated makemkvcon (the start-up scan) is the real binary, not this bench.
    options.sim_executable = Some(env!("CARGO_BIN_EXE_amphigory").into());
    options.heartbeat_interval = Duration::from_secs(3600);
    options.socket = Some(socket.to_owned());
    options
}

/// Reads lines until the envelope of event `n` (its `eta_seconds`).
fn read_until(lines: &mut impl BufRead, n: u64) {
    let expected = format!("\"eta_seconds\":{n},");
    let mut line = String::new();
    loop {
        line.clear();
        assert!(lines.read_line(&mut line).unwrap() > 0, "watch ended early");
        if line.contains(&expected) {
            return;
        }
    }
}

fn report(latencies: &mut [Duration]) {
    latencies.sort();
    let total: Duration = latencies.iter().sum();
    println!(
        "watch --json: {} events: publish -> line printed by the CLI p50 {:?}, p99 {:?}, \
         max {:?}, mean {:?} (target p99 <= 5 ms)",
        latencies.len(),
        percentile(latencies, 0.50),
        percentile(latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
        total / u32::try_from(latencies.len()).unwrap(),
    );
}
