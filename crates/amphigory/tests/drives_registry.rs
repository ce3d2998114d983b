#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The drive registry (SPEC §9.1–§9.4) inside a real in-process daemon on simulated
//! drives: drives work in parallel, tasks are routed by `drive` and `disc_fingerprint`,
//! a disc is scanned once, `waiting_since` follows the drive, ejects fail the task
//! running there, auto-eject, persistent labels, and disc events on the WebSocket.

#[allow(dead_code)]
#[path = "ws_server/harness.rs"]
mod harness;

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use amphigory::core::{DaemonEvent, StatusSnapshot};
use amphigory::daemon::{self, DaemonHandle, DaemonOptions, SimOptions};
use amphigory::queue::{NewTask, RipSpec, TaskState};
use amphigory::sim::Fault;
use amphigory_wire::ErrorCode;
use amphigory_wire::drive::{DriveState, DriveStatus};
use amphigory_wire::ws::DiscEventKind;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

#[path = "drives_registry/rig.rs"]
mod rig;
use rig::*;

/// N drives, one rip each naming its drive: they overlap and take clearly less time than
/// one after another.
async fn rips_in_parallel(n: usize) {
    let discs = vec!["demo-bluray"; n];
    let mut rig = Rig::start(&discs, SLOW_RATE, |_| {}).await;
    let (track, size) = smallest_track(&rig.drive("/dev/sim0"));
    let mut events = Events::new(rig.handle());
    let begin = Instant::now();
    let ids: Vec<String> = (0..n)
        .map(|i| {
            let drive = drive_id(&format!("/dev/sim{i}"));
            rig.enqueue(&rip(&rig.out(), &format!("Movie {i}"), track, Some(&drive)))
        })
        .collect();
    let errors = events.finished(&ids).await;
    let wall = begin.elapsed();
    for (id, error) in &errors {
        assert_eq!(error, &None, "{id} failed");
    }
    let first_finish = ids.iter().map(|id| events.finished_at(id)).min().unwrap();
    let mut durations = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (started, drive) = events.started(id);
        assert_eq!(drive, drive_id(&format!("/dev/sim{i}")), "{id}");
        assert!(
            started < first_finish,
            "{id} started after another rip finished: no overlap; {:#?}",
            events.kinds()
        );
        durations.push(events.finished_at(id) - started);
        let file = rig.out().join(format!("Movie {i}/Movie {i}.mkv"));
        assert_eq!(
            std::fs::metadata(&file).unwrap().len(),
            size,
            "{}",
            file.display()
        );
    }
    let sum: Duration = durations.iter().sum();
    eprintln!(
        "{n} drives: title {track} ({size} bytes) at {SLOW_RATE} MB/s; wall {wall:.2?}, \
         single rips {durations:.2?}, sum {sum:.2?}, wall/sum {:.2}",
        wall.as_secs_f64() / sum.as_secs_f64()
    );
    assert!(
        wall.as_secs_f64() < 0.75 * sum.as_secs_f64(),
        "wall {wall:?} not < 0.75 × {sum:?}"
    );
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_drives_rip_in_parallel() {
    rips_in_parallel(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_drives_rip_in_parallel() {
    rips_in_parallel(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_by_fingerprint_and_by_drive() {
    let mut rig = Rig::start(&["demo-bluray", "demo-dvd"], FAST_RATE, |_| {}).await;
    let dvd = fingerprint("demo-dvd");
    let bluray = fingerprint("demo-bluray");
    assert_eq!(
        rig.drive("/dev/sim1").fingerprint.as_deref(),
        Some(dvd.as_str())
    );
    let mut events = Events::new(rig.handle());
    let by_fingerprint = rig.enqueue(&scan(None, Some(&dvd)));
    let by_device = rig.enqueue(&scan(Some("/dev/sim0"), None));
    let by_id = rig.enqueue(&scan(Some(&drive_id("/dev/sim1")), None));
    let ids = [by_fingerprint.clone(), by_device.clone(), by_id.clone()];
    let errors = events.finished(&ids).await;
    assert!(errors.values().all(Option::is_none), "{errors:?}");
    for (id, device, fp) in [
        (&by_fingerprint, "/dev/sim1", &dvd),
        (&by_device, "/dev/sim0", &bluray),
        (&by_id, "/dev/sim1", &dvd),
    ] {
        let (_, drive) = events.started(id);
        assert_eq!(drive, drive_id(device), "{id}");
        assert!(drive.ends_with(&device["/dev/".len()..]));
        let result = rig.result(id);
        assert_eq!(result["status"], "success", "{result}");
        assert_eq!(result["result"]["fingerprint"], fp.as_str(), "{id}");
    }
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_task_fails_naming_the_candidates() {
    let mut rig = Rig::start(&["demo-bluray", "demo-dvd"], FAST_RATE, |_| {}).await;
    let mut events = Events::new(rig.handle());
    // A rip naming neither drive nor disc while two drives hold discs (a scan goes to
    // the current drive instead: SPEC §7.2).
    let id = rig.enqueue(&rip(&rig.out(), "Which", 7, None));
    let errors = events.finished(std::slice::from_ref(&id)).await;
    let error = errors[&id].clone().expect("the ambiguous task fails");
    assert_eq!(error.code, ErrorCode::InvalidTask, "{error:?}");
    for device in ["/dev/sim0", "/dev/sim1"] {
        assert!(
            error.message.contains(&drive_id(device)),
            "{:?} does not name {}",
            error.message,
            drive_id(device)
        );
    }
    let result = rig.result(&id);
    assert_eq!(result["status"], "failed", "{result}");
    assert_eq!(result["error"]["code"], "INVALID_TASK", "{result}");
    assert!(
        events
            .position_of(&id, |e| matches!(e, DaemonEvent::TaskStarted { .. }))
            .is_none(),
        "an ambiguous task never runs"
    );

    // The daemon goes on.
    let next = rig.enqueue(&scan(Some("sim1"), None));
    let errors = events.finished(std::slice::from_ref(&next)).await;
    assert_eq!(errors[&next], None);
    assert_eq!(events.started(&next).1, drive_id("/dev/sim1"));
    assert_eq!(rig.result(&next)["status"], "success");
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_insert_and_a_scan_task_make_exactly_one_scan() {
    let mut rig = Rig::start(&["demo-bluray"], FAST_RATE, |_| {}).await;
    let device = "/dev/sim0";
    assert_eq!(rig.rig().pids(device).len(), 1, "the start-up scan");
    let mut events = Events::new(rig.handle());
    let first = rig.enqueue(&NewTask::scan());
    let errors = events.finished(std::slice::from_ref(&first)).await;
    assert_eq!(errors[&first], None);
    assert_eq!(events.percents(&first), [0, 100]);
    assert_eq!(
        rig.rig().pids(device).len(),
        1,
        "a scan task for a scanned disc runs no makemkvcon"
    );
    assert_eq!(
        rig.result(&first)["result"]["fingerprint"],
        fingerprint("demo-bluray")
    );

    // Swap the disc and ask for a scan as soon as the webapp hears of the new one: the
    // proactive scan is starting (or running) then; the task must wait for it, not scan
    // again.
    let dvd = fingerprint("demo-dvd");
    rig.rig().eject(device).unwrap();
    rig.rig().insert(device, "demo-dvd").unwrap();
    events
        .wait("the dvd's insert", |e| {
            matches!(e, DaemonEvent::Disc { event: DiscEventKind::Fingerprinted, fingerprint: Some(fp), .. } if *fp == dvd)
        })
        .await;
    let second = rig.enqueue(&NewTask::scan());
    let at_enqueue = rig.drive(device);
    eprintln!(
        "scan task enqueued with the drive {:?} (scan {:?})",
        at_enqueue.state, at_enqueue.scan_status
    );
    let errors = events.finished(std::slice::from_ref(&second)).await;
    assert_eq!(errors[&second], None);
    assert_eq!(events.started(&second).1, drive_id(device));
    assert_eq!(
        events.percents(&second),
        [0, 100],
        "answered from the cache"
    );
    let result = rig.result(&second);
    assert_eq!(result["result"]["fingerprint"], dvd.as_str(), "{result}");
    assert_eq!(result["result"]["disc_type"], "dvd", "{result}");
    assert_eq!(
        rig.rig().pids(device).len(),
        2,
        "one scan per inserted disc, none for the scan tasks"
    );
    let drive = rig.drive(device);
    assert_eq!(drive.state, DriveState::Scanned, "{drive:?}");
    assert_eq!(drive.fingerprint.as_deref(), Some(dvd.as_str()));
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_since_is_set_and_cleared() {
    let mut rig = Rig::start(&["demo-bluray"], SLOW_RATE, |_| {}).await;
    let device = "/dev/sim0";
    let scanned = rig.drive(device);
    assert!(
        scanned.waiting_since.is_some(),
        "scanned and idle: {scanned:?}"
    );
    let (track, _) = smallest_track(&scanned);
    let mut events = Events::new(rig.handle());

    // A rip starts: nothing waits any more.
    let first = rig.enqueue(&rip(&rig.out(), "First", track, None));
    let ripping = rig
        .wait_status("the rip running", |s| {
            drive_in(s, device).state == DriveState::Ripping
        })
        .await;
    let drive = drive_in(&ripping, device);
    assert_eq!(drive.rip_task_id.as_deref(), Some(first.as_str()));
    assert_eq!(drive.waiting_since, None, "{drive:?}");

    // It finishes: the disc waits again.
    let errors = events.finished(std::slice::from_ref(&first)).await;
    assert_eq!(errors[&first], None);
    let drive = rig.drive(device);
    assert_eq!(drive.state, DriveState::Scanned, "{drive:?}");
    let after_rip = drive.waiting_since.clone().expect("waiting after the rip");
    assert!(
        Some(&after_rip) > scanned.waiting_since.as_ref(),
        "{after_rip} not later than {:?}",
        scanned.waiting_since
    );

    // Eject: nothing waits in an empty drive.
    rig.rig().eject(device).unwrap();
    events
        .wait("the eject", |e| is_disc(e, DiscEventKind::Ejected, device))
        .await;
    let drive = rig.drive(device);
    assert_eq!(drive.state, DriveState::Empty, "{drive:?}");
    assert_eq!(drive.waiting_since, None, "{drive:?}");

    // A task for the empty drive waits there, and says so.
    let second = rig.enqueue(&rip(&rig.out(), "Second", track, Some(device)));
    let waiting = rig
        .wait_status("the drive waiting for a disc", |s| {
            drive_in(s, device).waiting_since.is_some()
        })
        .await;
    assert_eq!(drive_in(&waiting, device).state, DriveState::Empty);
    assert!(rig.is_queued(&second), "the task stays queued");
    assert!(
        events
            .position_of(&second, |e| matches!(e, DaemonEvent::TaskStarted { .. }))
            .is_none()
    );

    // A disc goes in: the task runs.
    rig.rig().insert(device, "demo-bluray").unwrap();
    let errors = events.finished(std::slice::from_ref(&second)).await;
    assert_eq!(errors[&second], None);
    assert_eq!(events.started(&second).1, drive_id(device));
    assert!(rig.out().join("Second/Second.mkv").is_file());
    assert!(rig.drive(device).waiting_since.is_some());
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eject_mid_rip_through_detection() {
    let mut rig = Rig::start(&["demo-bluray"], 100.0, |o| {
        if let Some(sim) = o.simulate.as_mut() {
            sim.fault = Some("eject@50".parse::<Fault>().unwrap());
        }
    })
    .await;
    let device = "/dev/sim0";
    let (track, _) = smallest_track(&rig.drive(device));
    let mut events = Events::new(rig.handle());
    let id = rig.enqueue(&rip(&rig.out(), "Movie", track, None));
    let errors = events.finished(std::slice::from_ref(&id)).await;
    let error = errors[&id].clone().expect("the rip fails");
    assert_eq!(error.code, ErrorCode::DiscEjected, "{error:?}");
    assert!(
        events
            .seen
            .iter()
            .any(|(_, e)| is_disc(e, DiscEventKind::Ejected, device)),
        "no Ejected disc event: {:#?}",
        events.kinds()
    );
    let result = rig.result(&id);
    assert_eq!(result["status"], "failed");
    assert_eq!(result["error"]["code"], "DISC_EJECTED");
    let drive = rig.drive(device);
    assert_eq!(drive.state, DriveState::Empty, "{drive:?}");
    assert_eq!(drive.waiting_since, None);
    assert_eq!(drive.fingerprint, None);
    assert_eq!(drive.scan_result, None);
    assert!(!rig.out().join("Movie/Movie.mkv").exists());
    let movie_dir = rig.out().join("Movie");
    if movie_dir.exists() {
        let left: Vec<_> = std::fs::read_dir(&movie_dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "partial output left: {left:?}");
    }
    assert_eq!(hidden_under(&rig.out()), Vec::<PathBuf>::new());
    assert_eq!(
        rig.rig().pids(device).len(),
        2,
        "the start-up scan and the rip"
    );
    assert_no_child(rig.rig(), device);
    rig.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_eject_after_the_last_rip() {
    let mut rig = Rig::start(&["demo-bluray"], 200.0, |o| o.engine.auto_eject = true).await;
    let device = "/dev/sim0";
    let (track, _) = smallest_track(&rig.drive(device));
    let mut events = Events::new(rig.handle());
    let first = rig.enqueue(&rip(&rig.out(), "First", track, None));
    let second = rig.enqueue(&rip(&rig.out(), "Second", track, Some(device)));
    let errors = events.finished(&[first.clone(), second.clone()]).await;
    assert!(errors.values().all(Option::is_none), "{errors:?}");
    let ejected = events
        .wait("the auto-eject", |e| {
            is_disc(e, DiscEventKind::Ejected, device)
        })
        .await;
    let ejected_at = events.seen.len() - 1;
    let first_done = events
        .position_of(&first, |e| matches!(e, DaemonEvent::TaskFinished { .. }))
        .unwrap();
    let second_done = events
        .position_of(&second, |e| matches!(e, DaemonEvent::TaskFinished { .. }))
        .unwrap();
    assert!(first_done < second_done, "{:#?}", events.kinds());
    assert!(
        second_done < ejected_at,
        "ejected before the last rip: {:#?}",
        events.kinds()
    );
    let ejects = events
        .seen
        .iter()
        .filter(|(_, e)| is_disc(e, DiscEventKind::Ejected, device))
        .count();
    assert_eq!(ejects, 1, "{:#?}", events.kinds());
    let DaemonEvent::Disc { drive_id: id, .. } = ejected else {
        unreachable!()
    };
    assert_eq!(id, drive_id(device));
    assert_eq!(rig.drive(device).state, DriveState::Empty);
    assert!(rig.out().join("First/First.mkv").is_file());
    assert!(rig.out().join("Second/Second.mkv").is_file());
    let sim = rig.rig().drives().unwrap();
    assert!(!sim[0].state.present, "the simulated disc left the drive");
    rig.shutdown().await;
}

/// Sends one control-socket request and returns the reply.
async fn control(socket: &Path, request: &Value) -> Value {
    let stream = UnixStream::connect(socket).await.unwrap();
    let (read, mut write) = stream.into_split();
    write
        .write_all(format!("{request}\n").as_bytes())
        .await
        .unwrap();
    let mut line = String::new();
    tokio::time::timeout(WAIT, BufReader::new(read).read_line(&mut line))
        .await
        .expect("a reply in time")
        .unwrap();
    serde_json::from_str(&line).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_survive_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let socket = root.path().join("d.sock");
    let configured: BTreeMap<String, String> = [
        ("sim0".to_owned(), "From the config".to_owned()),
        ("/dev/sim1".to_owned(), "Right drive".to_owned()),
    ]
    .into();
    let start = |socket: &Path| {
        let mut options = options(root.path(), &["demo-bluray", "demo-dvd"], FAST_RATE);
        options.socket = Some(socket.to_owned());
        options.drive_labels = configured.clone();
        options
    };

    let stop = CancellationToken::new();
    let handle = daemon::start(start(&socket), stop.clone()).await.unwrap();
    support::wait_scanned(&handle.status).await;
    let before = handle.status.get();
    assert_eq!(
        drive_in(&before, "/dev/sim0").label.as_deref(),
        Some("From the config")
    );
    assert_eq!(
        drive_in(&before, "/dev/sim1").label.as_deref(),
        Some("Right drive")
    );
    let reply = control(
        &socket,
        &serde_json::json!({"action": "label", "args": {"drive_id": "sim0", "label": "Left drive"}}),
    )
    .await;
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(reply["drive_id"], drive_id("/dev/sim0"), "{reply}");
    assert_eq!(
        drive_in(&handle.status.get(), "/dev/sim0").label.as_deref(),
        Some("Left drive")
    );
    stop.cancel();
    tokio::time::timeout(WAIT, handle.wait())
        .await
        .expect("the daemon stops in time");

    // A new daemon on the same state directory (and a new sim directory).
    let stop = CancellationToken::new();
    let socket2 = socket.clone(); // the same path: the first daemon let go of it
    let handle = daemon::start(start(&socket2), stop.clone()).await.unwrap();
    support::wait_scanned(&handle.status).await;
    let after = handle.status.get();
    let sim0 = drive_in(&after, "/dev/sim0");
    assert_eq!(sim0.drive_id, drive_id("/dev/sim0"));
    assert_eq!(
        sim0.label.as_deref(),
        Some("Left drive"),
        "the runtime label wins"
    );
    assert_eq!(
        drive_in(&after, "/dev/sim1").label.as_deref(),
        Some("Right drive"),
        "drive_labels fill in an unlabelled drive"
    );
    stop.cancel();
    tokio::time::timeout(WAIT, handle.wait())
        .await
        .expect("the daemon stops in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disc_events_reach_websocket_clients() {
    let mut rig = Rig::start(&["demo-bluray", "demo-dvd"], FAST_RATE, |o| {
        o.ws_port = Some(0)
    })
    .await;
    let addr = *rig.handle().ws_addrs.iter().find(|a| a.is_ipv4()).unwrap();
    let (mut client, sync) = harness::connect(addr).await;
    assert_eq!(sync["drives"].as_array().unwrap().len(), 2, "{sync}");

    let device = "/dev/sim1";
    rig.rig().eject(device).unwrap();
    let ejected = harness::next_of(&mut client, "disc").await;
    assert_eq!(ejected["event"], "ejected", "{ejected}");
    assert_eq!(ejected["device"], device, "{ejected}");
    assert_eq!(ejected["drive_id"], drive_id(device), "{ejected}");

    rig.rig().insert(device, "demo-bluray").unwrap();
    let inserted = harness::next_of(&mut client, "disc").await;
    assert_eq!(inserted["event"], "inserted", "{inserted}");
    assert_eq!(inserted["device"], device, "{inserted}");
    assert_eq!(inserted["drive_id"], drive_id(device), "{inserted}");
    assert_eq!(
        inserted["volume_name"], "CLOCKWORK_LIGHTHOUSE",
        "{inserted}"
    );
    let fingerprinted = harness::next_of(&mut client, "disc").await;
    assert_eq!(fingerprinted["event"], "fingerprinted", "{fingerprinted}");
    assert_eq!(fingerprinted["device"], device, "{fingerprinted}");
    assert_eq!(
        fingerprinted["drive_id"],
        drive_id(device),
        "{fingerprinted}"
    );
    assert_eq!(
        fingerprinted["fingerprint"],
        fingerprint("demo-bluray"),
        "{fingerprinted}"
    );
    // The other drive was never touched.
    assert_eq!(rig.drive("/dev/sim0").state, DriveState::Scanned);
    rig.shutdown().await;
}
