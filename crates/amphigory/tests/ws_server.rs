#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The daemon's WebSocket server (SPEC §7.1) against real `tokio-tungstenite` clients:
//! the protocol here, robustness (origins, oversized and garbage input, slow and silent
//! clients, limits, shutdown) in `ws_server/robustness.rs`.
//!
//! Heartbeat timing: the hub's unit tests check the exact interval with paused tokio
//! time. Here, over real sockets, the interval is tiny instead (100 ms): paused time
//! auto-advances whenever the runtime looks idle, which it also does while a loopback
//! packet is in flight, so read timeouts would fire spuriously.

#[path = "ws_server/harness.rs"]
mod harness;
#[path = "ws_server/robustness.rs"]
mod robustness;

use std::time::{Duration, Instant};

use amphigory::core::DaemonEvent;
use amphigory::servers::ws;
use amphigory_wire::drive::DriveState;
use amphigory_wire::task::TaskType;
use amphigory_wire::ws::DiscEventKind;
use amphigory_wire::{ErrorCode, TaskError};
use harness::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_comes_first_with_the_snapshot_then_connected() {
    let server = start(config()).await;
    let (_client, sync) = connect(server.addr).await;
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
    assert!(chrono::DateTime::parse_from_rfc3339(sync["timestamp"].as_str().unwrap()).is_ok());
    assert_eq!(
        sync["disc"],
        json!({"inserted": true, "device": "/dev/sr0", "volume_name": "DEMO_BLURAY"})
    );
    assert_eq!(
        sync["current_task"],
        json!({"id": "scan-1", "percent": 40, "eta_seconds": 12})
    );
    assert_eq!(sync["paused"], false);
    assert_eq!(sync["queue_depth"], 2);
    assert_eq!(
        sync["drives"],
        serde_json::to_value(&server.status.get().drives).unwrap()
    );

    // A later client sees the snapshot as it is then.
    server.status.update(|s| {
        s.paused = true;
        s.running.clear();
        s.queue_depth = 5;
    });
    let (_late, sync) = connect(server.addr).await;
    assert_eq!(
        (&sync["paused"], &sync["current_task"], &sync["queue_depth"]),
        (&json!(true), &Value::Null, &json!(5))
    );

    // ::1 serves the same, where this machine has IPv6.
    match server.addrs.iter().find(|a| a.is_ipv6()) {
        Some(v6) => {
            let (_v6_client, sync) = connect(*v6).await;
            assert_eq!(sync["queue_depth"], 5);
        }
        None => eprintln!("no ::1 here; IPv4 only"),
    }
}

fn progress(task_id: &str, percent: u8) -> DaemonEvent {
    DaemonEvent::TaskProgress {
        task_id: task_id.into(),
        percent,
        eta_seconds: None,
        current_size_bytes: None,
        speed: None,
    }
}

fn disc(event: DiscEventKind, volume: Option<&str>, fingerprint: Option<&str>) -> DaemonEvent {
    DaemonEvent::Disc {
        event,
        drive_id: format!("{DAEMON_ID}:sr1"),
        device: "/dev/sr1".into(),
        volume_name: volume.map(str::to_owned),
        fingerprint: fingerprint.map(str::to_owned),
    }
}

fn status(id: &str, status: &str) -> Option<Value> {
    Some(json!({"type":"status","task_id":id,"status":status}))
}

fn daemon(event: &str) -> Option<Value> {
    Some(json!({"type":"daemon","event":event}))
}

fn started(task_id: &str, task_type: TaskType) -> DaemonEvent {
    DaemonEvent::TaskStarted {
        task_id: task_id.into(),
        task_type,
        drive_id: format!("{DAEMON_ID}:sr1"),
    }
}

fn finished(task_id: &str, task_type: TaskType, error: Option<TaskError>) -> DaemonEvent {
    DaemonEvent::TaskFinished {
        task_id: task_id.into(),
        task_type,
        error,
        facts: Default::default(),
    }
}

/// A simulated scan and rip on `sr1`: every event, and the exact message it becomes.
fn scan_and_rip() -> Vec<(DaemonEvent, Option<Value>)> {
    let dr = format!("{DAEMON_ID}:sr1");
    let no_space = TaskError::new(ErrorCode::OutputWriteFailed, "disk full", None);
    vec![
        (
            disc(DiscEventKind::Inserted, Some("HOWL"), None),
            Some(
                json!({"type":"disc","event":"inserted","device":"/dev/sr1","volume_name":"HOWL","drive_id":dr}),
            ),
        ),
        (
            started("scan-2", TaskType::Scan),
            status("scan-2", "started"),
        ),
        (
            progress("scan-2", 50),
            Some(
                json!({"type":"progress","task_id":"scan-2","percent":50,"eta_seconds":null,
                        "current_size_bytes":null,"speed":null}),
            ),
        ),
        (
            disc(DiscEventKind::Fingerprinted, None, Some("fp-123")),
            Some(
                json!({"type":"disc","event":"fingerprinted","device":"/dev/sr1","fingerprint":"fp-123","drive_id":dr}),
            ),
        ),
        (DaemonEvent::QueueChanged { depth: 1 }, None),
        (
            finished("scan-2", TaskType::Scan, None),
            status("scan-2", "completed"),
        ),
        (started("rip-3", TaskType::Rip), status("rip-3", "started")),
        (
            DaemonEvent::TaskProgress {
                task_id: "rip-3".into(),
                percent: 12,
                eta_seconds: Some(300),
                current_size_bytes: Some(1_234_567),
                speed: Some("42.3 MB/s".into()),
            },
            Some(
                json!({"type":"progress","task_id":"rip-3","percent":12,"eta_seconds":300,
                        "current_size_bytes":1_234_567,"speed":"42.3 MB/s"}),
            ),
        ),
        (DaemonEvent::Paused, daemon("paused")),
        (DaemonEvent::Resumed, daemon("resumed")),
        (
            DaemonEvent::TaskRequeued {
                task_id: "rip-3".into(),
                reason: "pause now".into(),
            },
            None,
        ),
        (
            DaemonEvent::Error {
                reason: "makemkvcon not found".into(),
            },
            Some(json!({"type":"daemon","event":"error","reason":"makemkvcon not found"})),
        ),
        (
            finished("rip-3", TaskType::Rip, Some(no_space)),
            status("rip-3", "failed"),
        ),
        (
            disc(DiscEventKind::Ejected, None, None),
            Some(json!({"type":"disc","event":"ejected","device":"/dev/sr1","drive_id":dr})),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_and_a_rip_produce_every_message_with_exactly_the_seed_fields() {
    let server = start(config()).await;
    let (mut first, _) = connect(server.addr).await;
    let (mut second, _) = connect(server.addr).await;
    let script = scan_and_rip();
    for (event, _) in &script {
        server.bus.publish(event.clone());
    }
    for client in [&mut first, &mut second] {
        for expected in script.iter().filter_map(|(_, m)| m.as_ref()) {
            assert_eq!(&next_json(client).await, expected);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_arrive_at_the_configured_interval() {
    let interval = Duration::from_millis(100);
    let server = start(ws::WsServerConfig {
        heartbeat_interval: interval,
        ..config()
    })
    .await;
    let (mut client, _) = connect(server.addr).await;
    let mut arrivals = vec![Instant::now()];
    for _ in 0..4 {
        let beat = next_json(&mut client).await;
        arrivals.push(Instant::now());
        assert_eq!(
            keys(&beat),
            ["current_task", "paused", "queue_depth", "timestamp", "type"]
        );
        assert_eq!(beat["type"], "heartbeat");
        assert_eq!(beat["current_task"], "scan-1");
        assert_eq!(
            (&beat["paused"], &beat["queue_depth"]),
            (&json!(false), &json!(2))
        );
        assert!(chrono::DateTime::parse_from_rfc3339(beat["timestamp"].as_str().unwrap()).is_ok());
    }
    let gaps: Vec<Duration> = arrivals.windows(2).skip(1).map(|w| w[1] - w[0]).collect();
    eprintln!("heartbeat gaps: {gaps:?}");
    for gap in gaps {
        assert!(gap >= interval * 7 / 10 && gap < interval * 20, "{gap:?}");
    }
    // A heartbeat reads the snapshot as it is then.
    server.status.update(|s| s.paused = true);
    let beat = next_of(&mut client, "heartbeat").await;
    assert_eq!(beat["paused"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_answered_from_the_snapshot() {
    let server = start(config()).await;
    let (mut client, _) = connect(server.addr).await;
    send_json(
        &mut client,
        json!({"type":"request","request_id":"r1","method":"get_drive_status","params":{}}),
    )
    .await;
    let answer = next_json(&mut client).await;
    assert_eq!(keys(&answer), ["request_id", "result", "type"]);
    assert_eq!(
        (&answer["type"], &answer["request_id"]),
        (&json!("response"), &json!("r1"))
    );
    assert_eq!(
        answer["result"]["drive_id"],
        format!("{DAEMON_ID}:sr0"),
        "the busy drive"
    );
    assert_eq!(answer["result"]["state"], "scanning");

    send_json(
        &mut client,
        json!({"type":"request","request_id":2,"method":"get_drive_status",
               "params":{"drive_id":format!("{DAEMON_ID}:sr1")}}),
    )
    .await;
    let answer = next_json(&mut client).await;
    assert_eq!(answer["request_id"], 2);
    assert_eq!(answer["result"]["drive_id"], format!("{DAEMON_ID}:sr1"));

    // Without params, and after the drives change, still exactly one drive object.
    server.status.update(|s| {
        s.drives.clear();
        s.drives.push(drive("sr5", DriveState::Ripping, Some("X")));
    });
    send_json(
        &mut client,
        json!({"type":"request","request_id":"r3","method":"get_drive_status"}),
    )
    .await;
    assert_eq!(
        next_json(&mut client).await["result"]["drive_id"],
        format!("{DAEMON_ID}:sr5")
    );

    send_json(
        &mut client,
        json!({"type":"request","request_id":"r4","method":"list_drives","params":{}}),
    )
    .await;
    let answer = next_json(&mut client).await;
    assert_eq!(keys(&answer["result"]), ["drives"]);
    assert_eq!(answer["result"]["drives"].as_array().unwrap().len(), 1);

    send_json(
        &mut client,
        json!({"type":"request","request_id":"r5","method":"format_disk","params":{}}),
    )
    .await;
    assert_eq!(
        next_json(&mut client).await,
        json!({"type":"response","request_id":"r5",
               "error":{"code":"unknown_method","message":"unknown method: format_disk"}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_messages_notify_the_refetcher() {
    let server = start(config()).await;
    let (mut client, _) = connect(server.addr).await;
    for kind in ["config_updated", "webapp_config_changed"] {
        send_json(&mut client, json!({ "type": kind })).await;
        tokio::time::timeout(WAIT, server.config_changed.notified())
            .await
            .unwrap_or_else(|_| panic!("{kind} notifies"));
    }
}
