#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Pickup latency (SPEC §12: a task written to `queued/` is started within 10 ms, p99).
//! Plain `std` timing: `cargo bench -p amphigory --bench pickup_latency`. Run without
//! `--bench` (as `cargo test --all-targets` does) it is a small smoke run.
//!
//! An in-process daemon (`amphigory::daemon::start`, the CLI's two-thread runtime, one
//! simulated `demo-bluray` drive, the real queue watcher) is idle when each task arrives
//! the way the webapp writes one: the task file is written under a temporary name in the
//! queue directory, renamed into `queued/`, then `tasks.json` is rewritten in place. The
//! latency runs from just before the rename to the moment this process observes the
//! daemon's `TaskStarted` event for that task on the bus; it includes the `tasks.json`
//! write, the file-system notification, the selection walk and the claim. Each task is
//! then cancelled (a scan takes 0.6 s and its length says nothing about pickup), and its
//! `TaskFinished` awaited, before the next one is written.
//!
//! `-- --flood N` first connects N WebSocket clients that stay and read everything, the
//! load of SPEC §7.1 "Descriptors" (issue 12 wants pickups within 50 ms under it; the
//! `descriptor_flood` test prints the same figure for the daemon binary under
//! `ulimit -n 1024`). Only as many as the daemon's client budget allows are served.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use amphigory::core::DaemonEvent;
use amphigory::daemon::{DaemonHandle, DaemonOptions, SimOptions};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// Longest any one event may take before the run is declared broken.
const EVENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Quiet time after a task finished, so the next one finds the daemon idle.
const SETTLE: Duration = Duration::from_millis(20);

struct Plan {
    warm_up: usize,
    tasks: usize,
    /// WebSocket clients connected throughout.
    flood: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    let flood = args
        .iter()
        .position(|a| a == "--flood")
        .and_then(|i| args.get(i + 1))
        .map_or(0, |n| n.parse().expect("--flood N: a number of clients"));
    let plan = if full {
        Plan {
            warm_up: 20,
            tasks: 300,
            flood,
        }
    } else {
        Plan {
            warm_up: 1,
            tasks: 5,
            flood,
        }
    };
    // The daemon's runtime: one worker, as `amphigory daemon` builds it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut latencies = runtime.block_on(measure(&plan));
    report(&mut latencies, full, flood);
}

async fn measure(plan: &Plan) -> Vec<Duration> {
    let root = tempfile::tempdir().unwrap();
    let tasks = root.path().join("tasks");
    let mut options = DaemonOptions::new(tasks.clone(), root.path().join("state"));
    options.simulate = Some(SimOptions {
        discs: vec!["demo-bluray".to_owned()],
        rate_mbps: 20_000.0,
        fault: None,
    });
    options.sim_executable = Some(PathBuf::from(env!("CARGO_BIN_EXE_amphigory")));
    options.ws_port = (plan.flood > 0).then_some(0);
    let shutdown = CancellationToken::new();
    let daemon = amphigory::daemon::start(options, shutdown.clone())
        .await
        .unwrap();
    // Idle means the start-up (proactive) scan of the disc is over.
    let mut status = daemon.status.watch();
    status
        .wait_for(|s| {
            !s.drives.is_empty()
                && s.drives
                    .iter()
                    .all(|d| d.state == amphigory_wire::drive::DriveState::Scanned)
        })
        .await
        .unwrap();
    if let Some(addr) = daemon.ws_addrs.first() {
        flood(*addr, plan.flood).await;
    }
    let mut events = daemon.bus.subscribe();
    let mut listed = Vec::new();
    let mut latencies = Vec::with_capacity(plan.tasks);
    for n in 0..plan.warm_up + plan.tasks {
        let id = format!("20251227T143052.{n:06}-scan");
        listed.push(id.clone());
        let latency = pick_up(&daemon, &mut events, &tasks, &listed).await;
        if n >= plan.warm_up {
            latencies.push(latency);
        }
        tokio::time::sleep(SETTLE).await;
    }
    shutdown.cancel();
    daemon.wait().await;
    latencies
}

/// Connects `count` WebSocket clients that read until the daemon stops; the refused ones
/// (over the daemon's budget) are counted and let go.
async fn flood(addr: std::net::SocketAddr, count: usize) {
    use futures_util::StreamExt;
    let mut served = 0;
    for _ in 0..count {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let url = format!("ws://{addr}/");
        if let Ok((mut ws, _)) = tokio_tungstenite::client_async(url, stream).await {
            served += 1;
            tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
        }
    }
    println!("{served} of {count} websocket clients served throughout");
}

/// Writes the last of `listed` as the webapp would; returns rename → `TaskStarted`.
async fn pick_up(
    daemon: &DaemonHandle,
    events: &mut broadcast::Receiver<DaemonEvent>,
    tasks: &Path,
    listed: &[String],
) -> Duration {
    let id = listed.last().unwrap();
    let body = format!(r#"{{"id":"{id}","type":"scan","created_at":"2025-12-27T14:30:52"}}"#);
    let temp = tasks.join(format!(".incoming-{id}.json"));
    fs::write(&temp, body).unwrap();
    let started = Instant::now();
    fs::rename(&temp, tasks.join("queued").join(format!("{id}.json"))).unwrap();
    fs::write(
        tasks.join("tasks.json"),
        serde_json::to_vec(listed).unwrap(),
    )
    .unwrap();
    next_event(
        events,
        |e| matches!(e, DaemonEvent::TaskStarted { task_id, .. } if task_id == id),
    )
    .await;
    let latency = started.elapsed();
    let _ = daemon.engine.cancel(Some(id.clone())).await;
    next_event(
        events,
        |e| matches!(e, DaemonEvent::TaskFinished { task_id, .. } if task_id == id),
    )
    .await;
    latency
}

async fn next_event(
    events: &mut broadcast::Receiver<DaemonEvent>,
    wanted: impl Fn(&DaemonEvent) -> bool,
) {
    let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(event)) if wanted(&event) => return,
            Ok(Ok(_) | Err(RecvError::Lagged(_))) => {}
            Ok(Err(RecvError::Closed)) => panic!("the daemon's bus closed"),
            Err(_) => panic!("no such event within {EVENT_TIMEOUT:?}"),
        }
    }
}

fn report(latencies: &mut [Duration], full: bool, flood: usize) {
    latencies.sort();
    let pick = |q: f64| {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies[index]
    };
    let mean = latencies.iter().sum::<Duration>() / u32::try_from(latencies.len()).unwrap();
    println!(
        "pickup latency over {} tasks{}: p50 {:.2?}, p99 {:.2?}, max {:.2?}, mean {:.2?} \
         (target p99 <= {} ms{})",
        latencies.len(),
        if flood > 0 {
            format!(" under a flood of {flood} websocket clients")
        } else {
            String::new()
        },
        pick(0.5),
        pick(0.99),
        latencies[latencies.len() - 1],
        mean,
        if flood > 0 { 50 } else { 10 },
        if full {
            ""
        } else {
            "; smoke run, debug build: not a measurement"
        }
    );
}
