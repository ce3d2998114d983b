//! Subscriptions: envelopes, replay of exactly the last 100 events, task filters,
//! heartbeats, the 32-subscriber limit, and a subscriber that stops reading (lagged, then
//! resynchronised, while the others go on untouched).

use std::time::Duration;

use amphigory::core::DaemonEvent;
use serde_json::{Value, json};

use super::harness::*;

/// The `eta_seconds` counters of the next `n` envelopes, which must all be progress.
async fn counters(client: &mut Client, n: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let envelope = client.next().await;
        assert_eq!(envelope["data"]["type"], "progress", "{envelope}");
        out.push(envelope["data"]["eta_seconds"].as_u64().unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_wrap_the_seed_messages() {
    let daemon = Daemon::start().await;
    let mut c = daemon.connect().await;
    let ok = c.subscribe(json!({})).await;
    assert_eq!(ok["subscribed"], true);
    assert_eq!(ok["replayed"], 0);
    assert_eq!(ok["status"]["drives"][0]["device"], "/dev/sim0");
    daemon.bus().publish(progress("t-rip", 7));
    daemon.bus().publish(DaemonEvent::Error {
        reason: "disk full".into(),
    });
    let envelope = c.next().await;
    let keys: Vec<&String> = envelope.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "data",
            "event_name",
            "message_type",
            "timestamp_iso",
            "timestamp_ms"
        ]
    );
    assert_eq!(envelope["event_name"], "amphigory");
    assert_eq!(envelope["message_type"], "data");
    assert!(envelope["timestamp_ms"].as_i64().unwrap() > 1_600_000_000_000);
    assert!(
        chrono::DateTime::parse_from_rfc3339(envelope["timestamp_iso"].as_str().unwrap()).is_ok()
    );
    assert_eq!(
        envelope["data"],
        json!({"type": "progress", "task_id": "t-rip", "percent": 50, "eta_seconds": 7,
               "current_size_bytes": 7000, "speed": "42.0 MB/s"})
    );
    let error = c.next().await;
    assert_eq!(error["message_type"], "error");
    assert_eq!(
        error["data"],
        json!({"type": "daemon", "event": "error", "reason": "disk full"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_subscriber_gets_exactly_the_last_hundred_events_then_live_ones() {
    let daemon = Daemon::start().await;
    for n in 0..150 {
        daemon.bus().publish(progress("t-rip", n));
    }
    let mut late = daemon.connect().await;
    let ok = late.subscribe(json!({"replay": true})).await;
    assert_eq!(ok["replayed"], 100);
    let replayed = counters(&mut late, 100).await;
    assert_eq!(replayed, (50..150).collect::<Vec<u64>>());
    daemon.bus().publish(progress("t-rip", 1000));
    assert_eq!(counters(&mut late, 1).await, vec![1000]);

    let mut live_only = daemon.connect().await;
    assert_eq!(
        live_only.subscribe(json!({"replay": false})).await["replayed"],
        0
    );
    daemon.bus().publish(progress("t-rip", 1001));
    assert_eq!(counters(&mut live_only, 1).await, vec![1001]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_filter_keeps_that_task_and_daemon_wide_events() {
    let daemon = Daemon::start().await;
    daemon.bus().publish(progress("other", 1));
    daemon.bus().publish(progress("mine", 2));
    let mut c = daemon.connect().await;
    let ok = c
        .subscribe(json!({"task_id": "mine", "replay": true}))
        .await;
    // The start-up events, all daemon-wide (the disc inserted and fingerprinted, the
    // queue report as a heartbeat, in whichever order the engine met them), and "mine".
    assert_eq!(ok["replayed"], 4);
    let mut start_up: Vec<String> = Vec::new();
    for _ in 0..3 {
        let data = c.next().await["data"].clone();
        let event = data["event"].as_str().unwrap_or_default();
        start_up.push(format!("{}{event}", data["type"].as_str().unwrap()));
    }
    start_up.sort();
    assert_eq!(start_up, ["discfingerprinted", "discinserted", "heartbeat"]);
    assert_eq!(counters(&mut c, 1).await, vec![2]);
    daemon.bus().publish(progress("other", 3));
    daemon.bus().publish(DaemonEvent::Paused);
    daemon.bus().publish(progress("mine", 4));
    let paused = c.next().await;
    assert_eq!(paused["data"], json!({"type": "daemon", "event": "paused"}));
    assert_eq!(counters(&mut c, 1).await, vec![4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_get_heartbeats_and_queue_depth_changes() {
    let daemon = Daemon::start_with(|o| o.heartbeat_interval = Duration::from_millis(100)).await;
    let mut c = daemon.connect().await;
    c.subscribe(json!({})).await;
    let beat = c.next_of("heartbeat").await;
    assert_eq!(beat["message_type"], "status");
    assert_eq!(beat["data"]["queue_depth"], 0);
    assert_eq!(beat["data"]["paused"], false);
    let mut control = daemon.connect().await;
    control.ok(json!({"action": "pause"})).await;
    control
        .ok(json!({"action": "enqueue", "args": {"type": "scan"}}))
        .await;
    loop {
        let beat = c.next_of("heartbeat").await;
        if beat["data"]["queue_depth"] == 1 {
            assert_eq!(beat["data"]["paused"], true);
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_thirty_third_subscriber_is_refused_with_a_clear_error() {
    let daemon = Daemon::start().await;
    let mut subscribers = Vec::new();
    for _ in 0..32 {
        let mut c = daemon.connect().await;
        c.subscribe(json!({})).await;
        subscribers.push(c);
    }
    let mut extra = daemon.connect().await;
    let error = extra
        .refused(json!({"action": "subscribe", "args": {}}))
        .await;
    assert!(error.contains("too many subscribers"), "{error}");
    assert!(error.contains("32"), "{error}");
    extra.assert_usable().await;
    daemon.bus().publish(progress("t", 5));
    for c in &mut subscribers {
        assert_eq!(counters(c, 1).await, vec![5]);
    }
    // One leaves: its place is free once the daemon has noticed.
    drop(subscribers.pop());
    let mut attempts = 0;
    loop {
        let response = extra
            .request(json!({"action": "subscribe", "args": {}}))
            .await;
        if response["ok"] == true {
            break;
        }
        attempts += 1;
        assert!(attempts < 10_000, "the freed place never came back");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_is_lagged_and_resynced_without_slowing_others() {
    const BATCHES: u64 = 40;
    const BATCH: u64 = 250;
    let daemon = Daemon::start().await;
    let mut slow = daemon.connect().await;
    slow.subscribe(json!({})).await;
    let mut fast = daemon.connect().await;
    fast.subscribe(json!({})).await;
    // 10,000 events of ~250 bytes: far more than the socket buffer plus the bus's 1,024
    // slots. The fast subscriber reads each batch completely before the next is sent.
    for batch in 0..BATCHES {
        let first = batch * BATCH;
        for n in first..first + BATCH {
            daemon.bus().publish(progress("t-rip", n));
        }
        let got = counters(&mut fast, usize::try_from(BATCH).unwrap()).await;
        assert_eq!(got, (first..first + BATCH).collect::<Vec<u64>>());
    }
    // The slow one reads again: what was buffered (in order), then `lagged`, then `sync`.
    let mut last = None;
    let lagged = loop {
        let envelope = slow.next().await;
        match envelope["data"]["type"].as_str() {
            Some("progress") => {
                let n = envelope["data"]["eta_seconds"].as_u64().unwrap();
                assert!(
                    last.is_none_or(|l| n == l + 1),
                    "in order: {last:?} then {n}"
                );
                last = Some(n);
            }
            Some("lagged") => break envelope,
            other => panic!("unexpected {other:?}: {envelope}"),
        }
    };
    assert_eq!(lagged["message_type"], "status");
    let missed = lagged["data"]["missed"].as_u64().unwrap();
    assert!(missed > 0);
    let sync = slow.next().await;
    assert_eq!(sync["data"]["type"], "sync", "{sync}");
    assert_eq!(sync["data"]["drives"][0]["device"], "/dev/sim0");
    // Then it follows live events again.
    daemon.bus().publish(progress("t-rip", 99_999));
    let tail = loop {
        let envelope: Value = slow.next().await;
        if envelope["data"]["eta_seconds"] == 99_999 {
            break envelope;
        }
    };
    assert_eq!(tail["data"]["type"], "progress");
    assert_eq!(counters(&mut fast, 1).await, vec![99_999]);
}
