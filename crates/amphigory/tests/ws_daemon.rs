#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The WebSocket server inside a real daemon (SPEC §7.1): a client connected to an
//! in-process daemon sees `sync` first, then the exact seed-protocol messages of a
//! simulated scan and rip run by the real simulated makemkvcon.

#[allow(dead_code)]
#[path = "ws_server/harness.rs"]
mod harness;

mod support;

use std::collections::HashMap;
use std::path::PathBuf;

use amphigory::daemon::{self, DaemonOptions, SimOptions};
use amphigory::queue::{NewTask, RipSpec};
use harness::{connect, keys, next_json};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const PROGRESS_KEYS: [&str; 6] = [
    "current_size_bytes",
    "eta_seconds",
    "percent",
    "speed",
    "task_id",
    "type",
];

/// What one task's messages looked like, in arrival order.
#[derive(Default)]
struct Seen {
    statuses: Vec<String>,
    percents: Vec<u64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_scan_and_rip_reach_a_client_with_the_seed_fields() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("ripped");
    std::fs::create_dir_all(&out).unwrap();
    let mut options = DaemonOptions::new(root.path().join("tasks"), root.path().join("state"));
    options.simulate = Some(SimOptions {
        discs: vec!["demo-bluray".into()],
        rate_mbps: 2000.0,
        fault: None,
    });
    options.sim_executable = Some(PathBuf::from(env!("CARGO_BIN_EXE_amphigory")));
    options.ws_port = Some(0);
    let stop = CancellationToken::new();
    let handle = daemon::start(options, stop.clone()).await.unwrap();
    support::wait_scanned(&handle.status).await;

    let (mut client, sync) = connect(handle.ws_addrs[0]).await;
    assert_eq!(
        keys(&sync),
        [
            "current_task",
            "disc",
            "drives",
            "paused",
            "queue_depth",
            "timestamp",
            "type"
        ]
    );
    assert_eq!(keys(&sync["disc"]), ["device", "inserted", "volume_name"]);
    assert_eq!(sync["drives"].as_array().unwrap().len(), 1);
    assert_eq!(sync["drives"][0]["device"], "/dev/sim0");

    let scan = handle.queue.enqueue(&NewTask::scan()).unwrap();
    let rip = handle
        .queue
        .enqueue(&NewTask::rip(RipSpec {
            track: 2, // a 2 GB extra: about a second at 2000 MB/s
            expected_size_bytes: None,
            expected_duration: None,
            directory: out.join("Demo"),
            filename: "Extra.mkv".into(),
        }))
        .unwrap();

    let seen = collect_until_both_done(&mut client, &scan, &rip).await;
    for id in [&scan, &rip] {
        let s = &seen[id.as_str()];
        assert_eq!(s.statuses, ["started", "completed"], "{id}");
        assert!(!s.percents.is_empty(), "{id}: no progress");
        assert!(
            s.percents.windows(2).all(|w| w[0] <= w[1]),
            "{id}: {:?}",
            s.percents
        );
        assert_eq!(s.percents.first(), Some(&0), "{id} starts at 0 %");
        assert_eq!(s.percents.last(), Some(&100), "{id} ends at 100 %");
    }
    assert!(out.join("Demo/Extra.mkv").is_file());
    stop.cancel();
    handle.wait().await;
}

/// Reads messages until both tasks reported `completed` or `failed`, checking the exact
/// fields of every `status` and `progress` message on the way.
async fn collect_until_both_done(
    client: &mut harness::Client,
    scan: &str,
    rip: &str,
) -> HashMap<String, Seen> {
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let done = |seen: &HashMap<String, Seen>, id: &str| {
        seen.get(id)
            .is_some_and(|s| s.statuses.iter().any(|st| st != "started"))
    };
    while !(done(&seen, scan) && done(&seen, rip)) {
        let msg: Value = next_json(client).await;
        match msg["type"].as_str().unwrap() {
            "status" => {
                assert_eq!(keys(&msg), ["status", "task_id", "type"], "{msg}");
                let id = msg["task_id"].as_str().unwrap().to_owned();
                let status = msg["status"].as_str().unwrap().to_owned();
                seen.entry(id).or_default().statuses.push(status);
            }
            "progress" => {
                assert_eq!(keys(&msg), PROGRESS_KEYS, "{msg}");
                let percent = msg["percent"].as_u64().expect("an integer percent");
                assert!(percent <= 100, "{msg}");
                let id = msg["task_id"].as_str().unwrap().to_owned();
                seen.entry(id).or_default().percents.push(percent);
            }
            "heartbeat" => assert_eq!(
                keys(&msg),
                ["current_task", "paused", "queue_depth", "timestamp", "type"]
            ),
            other => panic!("unexpected {other} message: {msg}"),
        }
    }
    seen
}
