#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The control commands (SPEC §2) as a person runs them: the real `amphigory` binary
//! against a real daemon process on a simulated drive (the shared daemon harness), each
//! command in its human form and with `--json`, `watch` through a pseudo-terminal
//! (`script`) for the progress bars, and the exit codes that tell "no daemon", "the daemon
//! said no", "wrong protocol" and usage errors apart.

#[path = "cli_commands/harness.rs"]
mod harness;
mod support;

use std::path::PathBuf;
use std::process::Stdio;

use amphigory::queue::TaskState;
use harness::*;
use serde_json::Value;
use support::daemon::{Rig, WAIT};

#[test]
fn status_queue_and_drives_in_both_forms() {
    let rig = Rig::new();
    let daemon = rig.start("a");
    let cli = Cli::of(&daemon);
    let status = cli.human(&["status"]);
    assert!(status.contains("Daemon   a@"), "{status}");
    assert!(
        status.contains("Queue    0 tasks waiting, running"),
        "{status}"
    );
    assert!(status.contains("Task     none running"), "{status}");
    assert!(status.contains(":sim0  /dev/sim0  scanned"), "{status}");
    let json = cli.json(&["status"]);
    assert_eq!(json["protocol"], 1);
    assert_eq!(json["drives"][0]["device"], "/dev/sim0");
    assert_eq!(json["queue_depth"], 0);

    let drives = cli.human(&["drives"]);
    let mut lines = drives.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["DRIVE", "DEVICE", "LABEL", "STATE", "DISC"]
    );
    let row = lines.next().unwrap();
    assert!(row.contains("/dev/sim0"), "{drives}");
    assert!(row.contains("CLOCKWORK_LIGHTHOUSE"), "{drives}");
    let drive = &cli.json(&["drives"])["drives"][0];
    assert_eq!(drive["state"], "scanned");
    assert_eq!(drive["disc_type"], "bluray");
    assert!(drive["fingerprint"].as_str().unwrap().starts_with("br-"));
    assert_eq!(drive["scan_status"], "complete");
    assert!(drive["waiting_since"].is_string(), "{drive}");

    assert_eq!(cli.human(&["queue"]).trim(), "No tasks in the queue.");
    cli.human(&["pause"]);
    let id = rig.enqueue_scan();
    let queue = cli.human(&["queue"]);
    assert!(queue.starts_with("ID"), "{queue}");
    let row: Vec<&str> = queue.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row, [id.as_str(), "scan", "queued", "daemon"]);
    let tasks = cli.json(&["queue"]);
    assert_eq!(tasks["tasks"][0]["id"], id.as_str());
    assert_eq!(tasks["tasks"][0]["state"], "queued");
}

#[test]
fn pause_resume_cancel_and_label_in_both_forms() {
    let rig = Rig::new();
    let mut daemon = rig.start("a");
    let cli = Cli::of(&daemon);
    let paused = cli.human(&["pause"]);
    assert_eq!(
        paused.trim(),
        "Queue paused; a running task finishes first."
    );
    let again = cli.json(&["pause"]);
    assert_eq!(again["paused"], true);
    assert_eq!(again["changed"], false);
    let now = cli.json(&["pause", "--now"]);
    assert_eq!(now["now"], true);
    assert!(
        cli.human(&["pause", "--now"])
            .contains("nothing was running")
    );

    let first = rig.enqueue_scan();
    let second = rig.enqueue_scan();
    let cancelled = cli.human(&["cancel", &first]);
    assert_eq!(cancelled.trim(), format!("Cancelled {first}."));
    assert_eq!(cli.json(&["cancel", &second])["task_id"], second.as_str());
    assert!(rig.path(TaskState::Failed, &first).exists());

    assert_eq!(cli.human(&["resume"]).trim(), "Queue resumed.");
    let resumed = cli.json(&["resume"]);
    assert_eq!(
        (resumed["paused"].clone(), resumed["changed"].clone()),
        (false.into(), false.into())
    );

    let labelled = cli.human(&["label", "sim0", "Left drive"]);
    assert!(
        labelled.contains("is now labelled \"Left drive\"."),
        "{labelled}"
    );
    let json = cli.json(&["label", "/dev/sim0", "Top bay"]);
    assert_eq!(json["label"], "Top bay");
    assert!(json["drive_id"].as_str().unwrap().ends_with(":sim0"));
    assert!(cli.human(&["drives"]).contains("Top bay"));

    // Labels live in the state directory: a restarted daemon still knows them.
    daemon.stop();
    let again = rig.start("a");
    assert_eq!(socket_of(&again), cli.socket);
    assert_eq!(cli.json(&["drives"])["drives"][0]["label"], "Top bay");
    let cleared = cli.human(&["label", "sim0", ""]);
    assert!(cleared.contains("has no label now"), "{cleared}");
}

#[test]
fn running_tasks_are_watched_paused_now_and_cancelled() {
    let rig = Rig::new();
    let daemon = slow_daemon(&rig);
    let cli = Cli::of(&daemon);
    let watch = cli.watch_json();
    let (id, _) = rig.enqueue_rip(0, "Movie");
    let is_progress = |d: &Value| d["type"] == "progress" && d["task_id"] == id.as_str();
    let first = watch.until("progress", |d| is_progress(d) && !d["speed"].is_null());
    assert_eq!(first["message_type"], "data");
    let status = cli.human(&["status"]);
    assert!(
        status.contains(&format!("Task     {id}  rip  on a@")),
        "{status}"
    );
    assert!(status.contains("MB/s"), "{status}");
    assert_eq!(cli.json(&["status"])["running"][0]["task_id"], id.as_str());
    let queue = cli.human(&["queue"]);
    assert!(queue.contains("in_progress"), "{queue}");
    assert!(queue.contains('%'), "{queue}");

    let paused = cli.human(&["pause", "--now"]);
    assert!(
        paused.contains(&format!("put back at the head of the queue: {id}")),
        "{paused}"
    );
    rig.wait_names(TaskState::Queued, &[format!("{id}.json")]);
    watch.until("paused", |d| {
        d["type"] == "daemon" && d["event"] == "paused"
    });

    cli.human(&["resume"]);
    watch.until("a restart", |d| {
        d["type"] == "status" && d["status"] == "started"
    });
    watch.until("progress", is_progress);
    let cancelled = cli.human(&["cancel"]);
    assert_eq!(cancelled.trim(), format!("Cancelled {id}."));
    watch.until("failure", |d| {
        d["type"] == "status" && d["status"] == "failed"
    });
    let result = rig.wait_result(&id, WAIT);
    assert_eq!(result["error"]["code"], "TASK_CANCELLED");
    let out = cli.run(&["cancel", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let refused: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(refused["ok"], false);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("no task is running")
    );
}

#[test]
fn eject_and_stop_in_both_forms() {
    let rig = Rig::new();
    let mut daemon = rig.start("a");
    let cli = Cli::of(&daemon);
    let watch = cli.watch_json();
    let ejected = cli.human(&["eject"]);
    assert!(
        ejected.starts_with("Ejected the disc in /dev/sim0"),
        "{ejected}"
    );
    let disc = watch.until("disc ejected", |d| {
        d["type"] == "disc" && d["event"] == "ejected"
    });
    assert_eq!(disc["data"]["device"], "/dev/sim0");
    assert_eq!(cli.json(&["drives"])["drives"][0]["state"], "empty");
    assert_eq!(cli.json(&["eject", "sim0"])["device"], "/dev/sim0");

    let stopped = cli.json(&["stop"]);
    assert_eq!(stopped["stopping"], true);
    assert!(daemon.wait_exit(WAIT).success());
    assert!(!cli.socket.exists());

    let mut daemon = rig.start("a");
    assert_eq!(socket_of(&daemon), cli.socket);
    let stopped = cli.human(&["stop"]);
    assert_eq!(stopped.trim(), "The daemon is shutting down.");
    assert!(daemon.wait_exit(WAIT).success());
}

#[test]
fn watch_draws_progress_bars_in_a_terminal() {
    let rig = Rig::new();
    let daemon = slow_daemon(&rig);
    let cli = Cli::of(&daemon);
    let (id, _) = rig.enqueue_rip(0, "Movie");
    let Some(screen) = in_terminal(&cli, "watch", |t| {
        t.contains(&id) && t.contains("ETA") && t.contains("MB/s") && t.contains("Disc:")
    }) else {
        return;
    };
    assert!(
        screen.contains("Queue: 0 tasks waiting, running"),
        "{screen}"
    );
    assert!(
        screen.contains("Disc: CLOCKWORK_LIGHTHOUSE in /dev/sim0"),
        "{screen}"
    );
    let bar = ["[\u{1b}[", "[=", "[>"]
        .iter()
        .any(|start| screen.contains(start));
    assert!(bar, "a bar: {screen}");
    assert!(screen.contains('%'), "{screen}");
    assert!(
        screen.contains("\u{1b}["),
        "drawn with terminal escapes: {screen}"
    );
}

#[test]
fn watch_without_a_terminal_prints_plain_lines() {
    let rig = Rig::new();
    let daemon = rig.start("a");
    let cli = Cli::of(&daemon);
    let mut child = cli
        .command(&["watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = lines_of(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.starts_with("Disc: ")) {
        seen.push(lines.recv_timeout(WAIT).unwrap());
    }
    cli.human(&["pause"]);
    while !seen.iter().any(|l| l == "Queue: 0 tasks waiting, paused") {
        seen.push(lines.recv_timeout(WAIT).unwrap());
    }
    assert_eq!(
        seen.first().map(String::as_str),
        Some("Queue: 0 tasks waiting, running")
    );
    assert!(seen.iter().all(|l| !l.contains('\u{1b}')), "{seen:?}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn exit_codes_tell_no_daemon_refusals_mismatches_and_usage_apart() {
    let dir = tempfile::tempdir().unwrap();
    let nobody = Cli {
        socket: dir.path().join("none.sock"),
    };
    let out = nobody.run(&["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no daemon is running"), "{stderr}");
    assert!(
        stderr.contains("hint: start one with `amphigory daemon`"),
        "{stderr}"
    );
    let out = nobody.run(&["drives", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);

    for usage in [
        &["label", "sim0"][..],
        &["pause", "--later"],
        &["frobnicate"],
    ] {
        let out = nobody.run(usage);
        assert_eq!(out.status.code(), Some(2), "{usage:?}: {}", describe(&out));
    }
    let long = Cli {
        socket: PathBuf::from(format!("/tmp/{}/daemon.sock", "x".repeat(120))),
    };
    let out = long.run(&["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));

    let old = fake_daemon(dir.path(), r#"{"ok":true,"version":"9.9.9","protocol":99}"#);
    let out = Cli { socket: old }.run(&["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("amphigory 9.9.9 (control protocol 99)"),
        "{stderr}"
    );
    assert!(stderr.contains("restart the daemon"), "{stderr}");

    let rig = Rig::new();
    let daemon = rig.start("a");
    let out = Cli::of(&daemon).run(&["cancel", "nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the daemon refused: no queued or running task 'nope'"),
        "{stderr}"
    );
}
