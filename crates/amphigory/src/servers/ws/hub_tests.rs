//! Unit tests of the hub, without sockets: its queues are plain channels, so skipping,
//! dropping, lag recovery and the heartbeat clock (paused tokio time) are exact.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use super::*;
use crate::core::{EventBus, StatusSnapshot};

fn status() -> StatusHandle {
    StatusHandle::new(StatusSnapshot {
        daemon_id: "me@host".into(),
        queue_depth: 3,
        ..StatusSnapshot::default()
    })
}

fn progress(percent: u8) -> DaemonEvent {
    DaemonEvent::TaskProgress {
        task_id: "t1".into(),
        percent,
        eta_seconds: None,
        current_size_bytes: None,
        speed: None,
    }
}

fn kind(frame: &Utf8Bytes) -> String {
    let v: Value = serde_json::from_str(frame.as_str()).unwrap();
    match v["type"].as_str().unwrap() {
        "progress" => format!("progress {}", v["percent"]),
        "daemon" => format!("daemon {}", v["event"].as_str().unwrap()),
        other => other.to_owned(),
    }
}

fn drain(rx: &mut mpsc::Receiver<Utf8Bytes>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(frame) = rx.try_recv() {
        out.push(kind(&frame));
    }
    out
}

#[test]
fn a_new_client_gets_sync_then_connected_then_events() {
    let mut hub = Hub::new(status(), 8);
    let (tx, mut rx) = mpsc::channel(16);
    hub.admit(tx);
    hub.publish(&progress(5));
    hub.publish(&DaemonEvent::QueueChanged { depth: 2 });
    hub.publish(&DaemonEvent::Paused);
    assert_eq!(
        drain(&mut rx),
        ["sync", "daemon connected", "progress 5", "daemon paused"]
    );
}

#[test]
fn a_full_client_skips_then_gets_a_fresh_sync_before_the_next_message() {
    let mut hub = Hub::new(status(), 8);
    let (tx, mut rx) = mpsc::channel(3);
    hub.admit(tx);
    hub.publish(&progress(1));
    hub.publish(&progress(2)); // queue full: skipped
    hub.publish(&progress(3)); // skipped
    assert_eq!(drain(&mut rx), ["sync", "daemon connected", "progress 1"]);
    hub.publish(&progress(4));
    assert_eq!(drain(&mut rx), ["sync", "progress 4"]);
    hub.publish(&progress(5));
    assert_eq!(drain(&mut rx), ["progress 5"]);
    assert_eq!(hub.len(), 1);
}

#[test]
fn a_client_that_stays_full_is_dropped_and_others_keep_everything() {
    let mut hub = Hub::new(status(), 4);
    let (slow_tx, mut slow) = mpsc::channel(2);
    let (fast_tx, mut fast) = mpsc::channel(64);
    hub.admit(slow_tx);
    hub.admit(fast_tx);
    for percent in 0..10 {
        hub.publish(&progress(percent));
    }
    assert_eq!(hub.len(), 1, "the slow client is gone");
    assert_eq!(drain(&mut slow), ["sync", "daemon connected"]);
    assert!(slow.is_closed());
    let fast = drain(&mut fast);
    assert_eq!(fast.len(), 12);
    assert_eq!(fast.last().map(String::as_str), Some("progress 9"));
}

#[test]
fn closed_clients_are_forgotten_and_no_client_means_no_work() {
    let mut hub = Hub::new(status(), 4);
    let (tx, rx) = mpsc::channel(8);
    hub.admit(tx);
    drop(rx);
    hub.heartbeat();
    assert_eq!(hub.len(), 0);
    hub.publish(&progress(1));
    hub.resync_all();
}

#[tokio::test(start_paused = true)]
async fn heartbeats_come_exactly_every_interval() {
    let bus = EventBus::new();
    let interval = Duration::from_secs(10);
    let settings = HubSettings {
        heartbeat_interval: interval,
        queue_len: 16,
        max_skipped: 8,
    };
    let shutdown = CancellationToken::new();
    let (hub, task) = spawn(bus.subscribe(), status(), settings, shutdown.clone());
    let start = Instant::now();
    let mut rx = hub.join().await.unwrap();
    assert_eq!(kind(&rx.recv().await.unwrap()), "sync");
    assert_eq!(kind(&rx.recv().await.unwrap()), "daemon connected");
    for n in 1..=3u32 {
        let frame = rx.recv().await.unwrap();
        assert_eq!(start.elapsed(), interval * n, "heartbeat {n}");
        let v: Value = serde_json::from_str(frame.as_str()).unwrap();
        assert_eq!(v["type"], "heartbeat");
        assert_eq!(v["queue_depth"], 3);
    }
    shutdown.cancel();
    task.await.unwrap();
    assert!(rx.recv().await.is_none(), "queues close when the hub stops");
}

#[tokio::test]
async fn a_hub_that_lags_on_the_bus_resynchronises_its_clients() {
    let bus = EventBus::new();
    let settings = HubSettings {
        heartbeat_interval: Duration::from_secs(3600),
        queue_len: 4096,
        max_skipped: 8,
    };
    let shutdown = CancellationToken::new();
    let (hub, task) = spawn(bus.subscribe(), status(), settings, shutdown.clone());
    let mut rx = hub.join().await.unwrap();
    assert_eq!(kind(&rx.recv().await.unwrap()), "sync");
    assert_eq!(kind(&rx.recv().await.unwrap()), "daemon connected");
    // The hub cannot run while this (current-thread) test publishes without yielding.
    let published = crate::core::events::BUS_CAPACITY + 500;
    for n in 0..published {
        bus.publish(progress(u8::try_from(n % 100).unwrap()));
    }
    assert_eq!(kind(&rx.recv().await.unwrap()), "sync");
    let mut after = 0;
    while after < crate::core::events::BUS_CAPACITY {
        assert!(kind(&rx.recv().await.unwrap()).starts_with("progress"));
        after += 1;
    }
    shutdown.cancel();
    task.await.unwrap();
}
