#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// Linux only (the whole file); elsewhere an empty test crate, documented here.
#![cfg_attr(not(target_os = "linux"), allow(missing_docs))]
#![cfg(target_os = "linux")]
//! Desktop notifications on Linux (SPEC §11.1), end to end: a private session bus
//! (`dbus-daemon`, see `support::dbus`), a small `org.freedesktop.Notifications` server
//! written here with zbus that records every `Notify` call, and the real `amphigory
//! daemon` on a simulated drive with `--notifications all`. A finished rip, a failed one
//! and a disc that is in no drive each reach the server as a person would read them;
//! without any session bus the daemon rips normally and says once that it cannot notify.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use amphigory::queue::{NewTask, TaskState};
use support::daemon::{BIN, Daemon, DaemonSpec, Rig, WAIT, wait_for};
use support::dbus::{PrivateBus, Served};
use zbus::zvariant::OwnedValue;

/// `demo-bluray` title 6: 214,958,080 bytes.
const TITLE_6: u32 = 6;
/// A disc no simulated drive holds.
const ABSENT: &str = "br-0000absentdisc0000";

/// One `Notify` call as the server saw it.
#[derive(Debug, Clone)]
struct Call {
    app: String,
    summary: String,
    body: String,
    urgency: Option<u8>,
}

/// The notification server's object: records each call, answers with a fresh id.
struct Recorder {
    calls: mpsc::Sender<Call>,
    next_id: u32,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Recorder {
    #[allow(clippy::too_many_arguments)] // the D-Bus method's signature
    fn notify(
        &mut self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let urgency = hints.get("urgency").and_then(|v| u8::try_from(v).ok());
        let _ = self.calls.send(Call {
            app: app_name,
            summary,
            body,
            urgency,
        });
        self.next_id += 1;
        self.next_id
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        let s = |v: &str| v.to_owned();
        (s("test-server"), s("amphigory"), s("1"), s("1.2"))
    }
}

/// The server on the private bus, owning `org.freedesktop.Notifications` there.
struct NotificationServer {
    _served: Served,
    calls: mpsc::Receiver<Call>,
}

impl NotificationServer {
    fn start(bus: &PrivateBus) -> Self {
        let (tx, calls) = mpsc::channel();
        let recorder = Recorder {
            calls: tx,
            next_id: 0,
        };
        let served = bus.serve(
            "org.freedesktop.Notifications",
            "/org/freedesktop/Notifications",
            recorder,
        );
        Self {
            _served: served,
            calls,
        }
    }

    /// The next call (the daemon sends them one at a time, in order).
    fn next(&self, what: &str) -> Call {
        self.calls
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no notification ({what}) within {WAIT:?}: {e}"))
    }
}

/// A daemon on one simulated `demo-bluray` with its session bus at `bus`, notifying.
fn start_daemon(rig: &Rig, bus: &str, name: &str, extra: &[&str]) -> Daemon {
    let spec = DaemonSpec {
        tray_bus: Some(bus.to_owned()),
        ..DaemonSpec::new(name).with_args(&["--notifications", "all"])
    }
    .with_args(extra);
    rig.start_with(&spec)
}

/// `amphigory status` (human form) against `daemon`.
fn status(daemon: &Daemon) -> String {
    let line = daemon.wait_log("control socket at ", WAIT);
    let (_, socket) = line.split_once("control socket at ").unwrap();
    let out = Command::new(BIN)
        .args(["--socket", socket.trim(), "status"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn set_paused(rig: &Rig, daemon: &Daemon, paused: bool) {
    let marker = rig.tasks().join("PAUSED");
    if paused {
        std::fs::write(&marker, b"").unwrap();
    } else {
        std::fs::remove_file(&marker).unwrap();
    }
    // The engine has seen it once the status says so.
    let want = if paused { "paused" } else { "running" };
    wait_for(&format!("the queue {want}"), WAIT, &[], || {
        let text = status(daemon);
        text.lines()
            .any(|l| l.starts_with("Queue") && l.ends_with(want))
            .then_some(())
    });
}

fn enqueue_for_absent_disc(rig: &Rig, movie: &str) -> String {
    let task = NewTask {
        disc_fingerprint: Some(ABSENT.to_owned()),
        ..NewTask::rip(rig.rip_spec(TITLE_6, movie))
    };
    rig.queue().enqueue(&task).unwrap()
}

#[test]
fn a_failed_and_a_finished_rip_are_notified_then_all_done() {
    let Some(bus) = PrivateBus::start() else {
        return;
    };
    let server = NotificationServer::start(&bus);
    let rig = Rig::new();
    // The first rip's output gets a broken header: it fails, "not a valid MKV".
    let daemon = start_daemon(&rig, &bus.address, "rips", &["--sim-fault", "corrupt@50"]);
    set_paused(&rig, &daemon, true);
    let (broken, _) = rig.enqueue_rip(TITLE_6, "First Try");
    let (good, file) = rig.enqueue_rip(TITLE_6, "Second Try");
    set_paused(&rig, &daemon, false);

    let failed = server.next("the failed rip");
    let results = rig.wait_results(&[broken.clone(), good.clone()], WAIT);
    assert_eq!(results[&broken]["status"], "failed", "{results:#?}");
    let message = results[&broken]["error"]["message"].as_str().unwrap();
    assert_eq!(failed.app, "Amphigory");
    assert_eq!(failed.summary, "Rip failed");
    assert_eq!(failed.body, message);
    assert_eq!(failed.urgency, Some(2), "failures are critical");

    let finished = server.next("the finished rip");
    assert_eq!(results[&good]["status"], "success", "{results:#?}");
    assert_eq!(finished.summary, "Rip finished");
    assert!(
        finished.body.starts_with("Second Try — 215.0 MB in "),
        "{finished:?}"
    );
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 214_958_080);
    assert_eq!(finished.urgency, Some(1));

    let done = server.next("all done");
    assert_eq!(done.summary, "All done");
}

#[test]
fn tasks_for_a_disc_in_no_drive_ask_for_it_once() {
    let Some(bus) = PrivateBus::start() else {
        return;
    };
    let server = NotificationServer::start(&bus);
    let rig = Rig::new();
    let daemon = start_daemon(&rig, &bus.address, "needed", &[]);
    // Three rips for the absent disc, one file after another as the webapp writes a
    // selection: the engine may count 1, then 3; the notification waits for the count
    // to settle (2 s) and says 3.
    for movie in ["One", "Two", "Three"] {
        enqueue_for_absent_disc(&rig, movie);
    }

    let needed = server.next("disc needed");
    assert_eq!(needed.summary, "Disc needed");
    assert_eq!(needed.body, format!("Insert {ABSENT} — 3 rips wait for it"));
    let problem = format!("Problem  disc needed: Insert {ABSENT} — 3 rips wait for it");
    assert!(status(&daemon).contains(&problem), "{}", status(&daemon));

    // A fourth task for the same disc: the status counts it, nobody is asked again.
    enqueue_for_absent_disc(&rig, "Four");
    wait_for("four rips waiting", WAIT, &[], || {
        status(&daemon).contains("4 rips wait for it").then_some(())
    });
    // Sequenced after it: a rip of the disc that is in. Its notification is the very
    // next one, so no second "disc needed" was sent in between.
    let (id, _) = rig.enqueue_rip(TITLE_6, "Present");
    let next = server.next("the rip of the present disc");
    assert_eq!(next.summary, "Rip finished", "{next:?}");
    assert!(next.body.starts_with("Present — "), "{next:?}");
    assert_eq!(rig.wait_result(&id, WAIT)["status"], "success");
    assert_eq!(rig.names(TaskState::Queued).len(), 4);
    watch_shows_disc_needed(&daemon);
    // A WebSocket client connecting now learns it from its first message.
    let sync = daemon.sync();
    let needed = &sync["discs_needed"];
    assert_eq!(needed.as_array().map(Vec::len), Some(1), "{sync}");
    assert_eq!(needed[0]["fingerprint"], ABSENT, "{sync}");
    assert_eq!(needed[0]["waiting"], 4, "{sync}");
}

/// `amphigory watch --json --replay` carries the `disc_needed` events too, one per
/// change of the count.
fn watch_shows_disc_needed(daemon: &Daemon) {
    let line = daemon.wait_log("control socket at ", WAIT);
    let (_, socket) = line.split_once("control socket at ").unwrap();
    let mut child = Command::new(BIN)
        .args(["--socket", socket.trim(), "watch", "--json", "--replay"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Each change of the count is an event (1 and 3, or 3, then 4); the last says 4.
    let mut counts = Vec::new();
    while counts.last() != Some(&4) {
        let line = rx.recv_timeout(WAIT).unwrap_or_else(|e| {
            panic!("no disc_needed event with 4 waiting ({counts:?} so far): {e}")
        });
        if !line.contains(r#""type":"disc_needed""#) {
            continue;
        }
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        let data = &event["data"];
        assert_eq!(data["fingerprint"], ABSENT, "{event}");
        assert_eq!(data["rips"], data["waiting"], "{event}");
        counts.push(data["waiting"].as_u64().unwrap());
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(counts.contains(&3), "{counts:?}");
    assert!(counts.is_sorted(), "{counts:?}");
}

/// No session bus at all: the rips go on, and "cannot notify" is logged once, not once
/// per notification.
#[test]
fn without_a_session_bus_the_daemon_rips_and_says_so_once() {
    let rig = Rig::new();
    let nowhere = format!("unix:path={}", rig.root().join("no-bus").display());
    let spec = DaemonSpec {
        tray_bus: Some(nowhere),
        log_level: "info,amphigory::notify=debug",
        ..DaemonSpec::new("nobus").with_args(&["--notifications", "all"])
    };
    let daemon = rig.start_with(&spec);
    set_paused(&rig, &daemon, true);
    let ids: Vec<String> = ["A", "B"]
        .iter()
        .map(|m| rig.enqueue_rip(TITLE_6, m).0)
        .collect();
    set_paused(&rig, &daemon, false);
    let results = rig.wait_results(&ids, WAIT);
    assert!(
        results.values().all(|r| r["status"] == "success"),
        "{results:#?}"
    );
    // Two finished rips and "all done": three tries, the first warned about, the
    // other two only at debug level.
    wait_for("three notification attempts", WAIT, &[], || {
        let lines = daemon.log_lines();
        let quiet = lines
            .iter()
            .filter(|l| l.contains("DEBUG") && l.contains("cannot notify"))
            .count();
        (quiet >= 2).then_some(())
    });
    let lines = daemon.log_lines();
    let warned: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("WARN") && l.contains("cannot notify"))
        .collect();
    assert_eq!(warned.len(), 1, "{}", daemon.log_text());
    assert!(warned[0].contains("session bus"), "{}", warned[0]);
}
