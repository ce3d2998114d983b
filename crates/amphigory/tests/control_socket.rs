#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The control socket (SPEC §8) over a real Unix socket with a real daemon: every action
//! and the socket file's life here (permissions, stale sockets, a second daemon, clean
//! shutdown); subscriptions (replay, filters, limits, lag) in `control_socket/streams.rs`;
//! bad input in `control_socket/robustness.rs`.

#[path = "control_socket/harness.rs"]
mod harness;
#[path = "control_socket/robustness.rs"]
mod robustness;
#[path = "control_socket/streams.rs"]
mod streams;
mod support;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixListener;

use amphigory::cli::ToExitCode;
use amphigory::daemon::{self, DaemonError};
use amphigory::servers::control::BindError;
use harness::*;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_drives_version_and_tasks_answer() {
    let daemon = Daemon::start().await;
    let mut c = daemon.connect().await;
    let version = c.ok(json!({"action": "version"})).await;
    assert_eq!(version["protocol"], 1);
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(version["daemon_id"], "tester@host");
    let status = c.ok(json!({"action": "status"})).await;
    assert_eq!(status["daemon_id"], "tester@host");
    assert_eq!(status["paused"], false);
    assert_eq!(status["queue_depth"], 0);
    assert_eq!(status["running"], json!([]));
    assert_eq!(status["drives"][0]["device"], "/dev/sim0");
    assert_eq!(status["drives"][0]["drive_id"], "tester@host:sim0");
    let drives = c.ok(json!({"action": "drives", "args": {}})).await;
    assert_eq!(drives["drives"], status["drives"]);
    let tasks = c.ok(json!({"action": "tasks"})).await;
    assert_eq!(tasks["tasks"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume_write_and_remove_the_marker() {
    let daemon = Daemon::start().await;
    let marker = daemon.dir.path().join("tasks/PAUSED");
    let mut c = daemon.connect().await;
    let paused = c
        .ok(json!({"action": "pause", "args": {"now": false}}))
        .await;
    assert_eq!(
        (&paused["paused"], &paused["changed"]),
        (&json!(true), &json!(true))
    );
    assert!(marker.exists());
    assert_eq!(c.ok(json!({"action": "status"})).await["paused"], true);
    let now = c
        .ok(json!({"action": "pause", "args": {"now": true}}))
        .await;
    assert_eq!(now["requeued"], json!([]), "nothing was running");
    assert_eq!(now["changed"], false);
    let resumed = c.ok(json!({"action": "resume"})).await;
    assert_eq!(resumed["paused"], false);
    assert!(!marker.exists());
    assert_eq!(c.ok(json!({"action": "status"})).await["paused"], false);
    assert_eq!(c.ok(json!({"action": "resume"})).await["changed"], false);
}

/// The queue stays paused: this in-process daemon must not run tasks (see the harness).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_tasks_and_cancel_queued_ones() {
    let daemon = Daemon::start().await;
    let mut c = daemon.connect().await;
    c.ok(json!({"action": "pause"})).await;
    let scan = c
        .ok(json!({"action": "enqueue", "args": {"type": "scan"}}))
        .await;
    let scan_id = scan["task_id"].as_str().unwrap().to_owned();
    assert!(scan_id.ends_with("-scan"), "{scan_id}");
    let out = daemon.dir.path().join("out");
    let rip = c
        .ok(json!({"action": "enqueue", "args": {"type": "rip",
            "track": {"number": 0, "expected_size_bytes": 1000},
            "output_info": {"directory": out, "filename": "Movie.mkv"}}}))
        .await;
    let rip_id = rip["task_id"].as_str().unwrap().to_owned();
    let error = c
        .refused(json!({"action": "enqueue", "args": {"type": "rip", "track": {"number": 0}}}))
        .await;
    assert!(error.contains("output_info"), "{error}");
    let tasks = c.ok(json!({"action": "tasks"})).await;
    let listed: Vec<(&str, &str)> = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [(scan_id.as_str(), "queued"), (rip_id.as_str(), "queued")]
    );
    assert_eq!(c.ok(json!({"action": "status"})).await["queue_depth"], 2);

    let cancelled = c
        .ok(json!({"action": "cancel", "args": {"task_id": scan_id}}))
        .await;
    assert_eq!(cancelled["task_id"], scan_id.as_str());
    let tasks = c.ok(json!({"action": "tasks"})).await;
    assert_eq!(tasks["tasks"][0]["state"], "failed");
    let failed = daemon
        .dir
        .path()
        .join(format!("tasks/failed/{scan_id}.json"));
    assert!(
        std::fs::read_to_string(failed)
            .unwrap()
            .contains("TASK_CANCELLED")
    );
    let error = c
        .refused(json!({"action": "cancel", "args": {"task_id": "nope"}}))
        .await;
    assert!(error.contains("nope"), "{error}");
    let error = c.refused(json!({"action": "cancel"})).await;
    assert!(error.contains("no task is running"), "{error}");
    c.ok(json!({"action": "cancel", "args": {"task_id": rip_id}}))
        .await;
    assert_eq!(c.ok(json!({"action": "status"})).await["queue_depth"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_persist_and_eject_empties_the_drive() {
    let daemon = Daemon::start().await;
    let mut c = daemon.connect().await;
    let mut events = daemon.connect().await;
    events.subscribe(json!({})).await;
    let labelled = c
        .ok(json!({"action": "label", "args": {"drive_id": "sim0", "label": "Left drive"}}))
        .await;
    assert_eq!(
        labelled,
        json!({"ok": true, "drive_id": "tester@host:sim0", "label": "Left drive"})
    );
    let drives = c.ok(json!({"action": "drives"})).await;
    assert_eq!(drives["drives"][0]["label"], "Left drive");
    let file = std::fs::read_to_string(daemon.dir.path().join("state/labels.json")).unwrap();
    let stored: Value = serde_json::from_str(&file).unwrap();
    assert_eq!(stored, json!({"tester@host:sim0": "Left drive"}));
    let error = c
        .refused(json!({"action": "label", "args": {"drive_id": "sr7", "label": "x"}}))
        .await;
    assert!(error.contains("tester@host:sim0"), "{error}");
    let error = c
        .refused(json!({"action": "label", "args": {"drive_id": "sim0"}}))
        .await;
    assert!(error.contains("bad arguments for 'label'"), "{error}");

    let ejected = c.ok(json!({"action": "eject", "args": {}})).await;
    assert_eq!(ejected["device"], "/dev/sim0");
    let disc = events.next_of("disc").await;
    assert_eq!(disc["message_type"], "status");
    assert_eq!(disc["data"]["event"], "ejected");
    assert_eq!(disc["data"]["drive_id"], "tester@host:sim0");
    let drives = c.ok(json!({"action": "drives"})).await;
    assert_eq!(drives["drives"][0]["state"], "empty");
    let error = c
        .refused(json!({"action": "eject", "args": {"drive_id": "sr9"}}))
        .await;
    assert!(error.contains("no drive 'sr9'"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_are_loaded_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("labels.json"),
        r#"{"tester@host:sim0": "Top bay"}"#,
    )
    .unwrap();
    let daemon = Daemon::start_with(|o| o.state_dir = state.clone()).await;
    let drives = daemon.connect().await.ok(json!({"action": "drives"})).await;
    assert_eq!(drives["drives"][0]["label"], "Top bay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_shuts_down_and_removes_socket_and_pid_file() {
    let mut daemon = Daemon::start().await;
    let pid_file = amphigory::servers::control::path::pid_path(&daemon.socket);
    assert!(
        pid_file.to_string_lossy().ends_with(".sock.pid"),
        "{pid_file:?}"
    );
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, std::process::id());
    let mut watcher = daemon.connect().await;
    watcher.subscribe(json!({})).await;
    let mut c = daemon.connect().await;
    assert_eq!(c.ok(json!({"action": "stop"})).await["stopping"], true);
    assert_eq!(c.next_line().await, None, "stop closes the connection");
    assert_eq!(
        watcher.next_line().await,
        None,
        "subscribers are closed too"
    );
    daemon.wait_stopped().await;
    assert!(!daemon.socket.exists());
    assert!(!pid_file.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_is_0600_in_a_0700_directory() {
    let daemon = Daemon::start().await;
    let meta = std::fs::symlink_metadata(&daemon.socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(mode(&daemon.socket), 0o600);
    assert_eq!(mode(daemon.socket.parent().unwrap()), 0o700);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_socket_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("daemon.sock");
    drop(UnixListener::bind(&socket).unwrap());
    assert!(socket.exists(), "a socket file nobody listens on");
    let mut daemon = Daemon::start_with(|o| o.socket = Some(socket.clone())).await;
    daemon.connect().await.assert_usable().await;
    daemon.shutdown.cancel();
    daemon.wait_stopped().await;
    assert!(!socket.exists());
    std::fs::write(&socket, "not a socket").unwrap();
    let err = daemon::start(options(dir.path(), &socket), CancellationToken::new())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, DaemonError::Control(BindError::NotASocket { .. })),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&socket).unwrap(), "not a socket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_is_refused_before_touching_anything() {
    let first = Daemon::start().await;
    let other = tempfile::tempdir().unwrap();
    let err = daemon::start(
        options(other.path(), &first.socket),
        CancellationToken::new(),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(err.exit_code(), 3, "{err}");
    assert!(
        err.to_string().contains("already owns the control socket"),
        "{err}"
    );
    assert!(
        !other.path().join("tasks").exists(),
        "the queue was not touched"
    );
    assert!(!other.path().join("state").exists());
    first.connect().await.assert_usable().await;
}

/// The real binary: a live daemon makes a second one on the same socket exit with 3,
/// before it opens the queue.
#[test]
fn a_live_daemon_makes_a_second_one_exit_3() {
    use support::daemon::{BIN, Rig, WAIT as LONG};
    let rig = Rig::new();
    let first = rig.start("first");
    let line = first.wait_log("control socket at ", LONG);
    let socket = line
        .split_once("control socket at ")
        .unwrap()
        .1
        .trim()
        .to_owned();
    let second_tasks = rig.root().join("second-tasks");
    let out = std::process::Command::new(BIN)
        .arg("daemon")
        .arg("--socket")
        .arg(&socket)
        .arg("--tasks-dir")
        .arg(&second_tasks)
        .arg("--state-dir")
        .arg(rig.root().join("second-state"))
        .args([
            "--simulate",
            "demo-bluray",
            "--ws-port",
            "0",
            "--headless",
            "--no-webapp",
        ])
        .env("HOME", rig.root().join("home"))
        .env("NO_COLOR", "1")
        .env_remove("AMPHIGORY_SOCKET")
        .env_remove("AMPHIGORY_CONFIG")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("already owns the control socket"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("(pid {})", first.pid())),
        "{stderr}"
    );
    assert!(!stderr.contains("task queue at"), "{stderr}");
    assert!(
        !second_tasks.exists(),
        "the second daemon never touched a queue"
    );
    assert!(
        std::path::Path::new(&socket).exists(),
        "the live daemon's socket stays"
    );
}

/// Issue 12, case 8c: `--socket x.pid` (or `x.lock`) made the pid file (or the lock file)
/// the socket's own path, so the pid file replaced the socket and no client could reach
/// the daemon (or the daemon refused to start). The pid and lock files are now named by
/// appending to the socket's whole file name.
#[test]
fn case8c_a_socket_named_x_pid_or_x_lock_works_beside_its_pid_file() {
    use std::os::unix::fs::FileTypeExt;
    use support::daemon::{BIN, DaemonSpec, Rig, WAIT as LONG};
    let rig = Rig::new();
    for name in ["x.pid", "x.lock"] {
        let socket = rig.root().join("sockets").join(name);
        let mut daemon = rig.start_with(&DaemonSpec {
            args: vec!["--socket".into(), socket.display().to_string()],
            ..DaemonSpec::new(&format!("d-{name}"))
        });
        daemon.wait_log(&format!("control socket at {}", socket.display()), LONG);
        let kind = std::fs::symlink_metadata(&socket).unwrap().file_type();
        assert!(kind.is_socket(), "{name} is still the socket: {kind:?}");
        let pid_file = rig.root().join("sockets").join(format!("{name}.pid"));
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        assert_eq!(pid.trim(), daemon.pid().to_string());
        let out = std::process::Command::new(BIN)
            .arg("--socket")
            .arg(&socket)
            .args(["status", "--json"])
            .env_remove("AMPHIGORY_SOCKET")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "status over {name}: {stdout}");
        assert!(stdout.contains(r#""ok":true"#), "{stdout}");
        daemon.stop();
        assert!(!socket.exists() && !pid_file.exists(), "{name}: cleaned up");
    }
}
