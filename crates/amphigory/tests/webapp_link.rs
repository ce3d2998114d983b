#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The webapp link (SPEC §7.2) against a stand-in webapp: an in-process daemon on a
//! simulated drive, configured exactly as `amphigory daemon` configures itself
//! (`config::load` then `Loaded::apply`), talking to an axum server that behaves like the
//! real webapp.

#[path = "webapp_link/standin.rs"]
mod standin;

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use amphigory::config::{self, CacheState, LoadRequest, Loaded, Settings, Source, WebappState};
use amphigory::core::DaemonEvent;
use amphigory::daemon::{ApplyConfig, DaemonHandle, DaemonOptions, SimOptions};
use amphigory::queue::{NewTask, RipSpec};
use amphigory::servers::webapp_link::Backoff;
use amphigory_wire::ws::DiscEventKind;
use serde_json::{Value, json};
use standin::StandIn;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// Generous bound for anything that should take milliseconds (loaded CI, debug build).
const WAIT: Duration = Duration::from_secs(10);
/// Reconnection schedule of these tests (the real one is 1 s → 30 s, unit-tested).
const FAST: Backoff = Backoff {
    initial: Duration::from_millis(20),
    max: Duration::from_millis(200),
};

fn webapp_config() -> Value {
    json!({"tasks_directory": "/data/tasks", "websocket_port": 9847, "heartbeat_interval": 1,
           "log_level": "info", "makemkv_path": null, "theme": "dark"})
}

struct Daemon {
    handle: DaemonHandle,
    loaded: Loaded,
    refresher: Option<config::ConfigRefresher>,
    stop: CancellationToken,
    root: PathBuf,
}

impl Daemon {
    async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(WAIT, self.handle.wait())
            .await
            .unwrap();
    }
}

/// A root with `daemon.yaml` naming the webapp at `url` and the root as `webapp_basedir`.
fn root_for(url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "webapp_url: {url}\nwebapp_basedir: {}\ndaemon_id: tester@box\n",
        dir.path().display()
    );
    std::fs::write(dir.path().join("daemon.yaml"), yaml).unwrap();
    std::fs::create_dir_all(dir.path().join("data/tasks")).unwrap();
    dir
}

/// Loads the configuration and starts an in-process daemon with a simulated Blu-ray drive.
async fn start_daemon(root: &Path, rate_mbps: f64) -> Daemon {
    let request = LoadRequest {
        config_file: Some(root.join("daemon.yaml")),
        state_dir: Some(root.join("state")),
        flags: Settings {
            websocket_port: Some(0),
            ..Settings::default()
        },
        ..LoadRequest::default()
    };
    let loaded = config::load(&request).await.unwrap();
    let mut options = DaemonOptions::new(
        loaded.effective.tasks_dir.value.clone(),
        loaded.state_dir.clone(),
    );
    options.simulate = Some(SimOptions {
        discs: vec!["demo-bluray".into()],
        rate_mbps,
        fault: None,
    });
    options.sim_executable = Some(env!("CARGO_BIN_EXE_amphigory").into());
    loaded.apply(&mut options);
    if let Some(link) = options.webapp_link.as_mut() {
        link.backoff = FAST;
    }
    let refresher = options
        .webapp_link
        .as_ref()
        .and_then(|l| l.refresher.clone());
    let stop = CancellationToken::new();
    let handle = amphigory::daemon::start(options, stop.child_token())
        .await
        .unwrap();
    support::wait_scanned(&handle.status).await;
    Daemon {
        handle,
        loaded,
        refresher,
        stop,
        root: root.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_at_once_answers_requests_and_ignores_echoes() {
    let mut webapp = StandIn::start(webapp_config()).await;
    let root = root_for(&webapp.url());
    let started = Instant::now();
    let daemon = start_daemon(root.path(), 50.0).await;
    let first = webapp.next_where(WAIT, |_| true).await;
    let registered = started.elapsed();
    assert!(
        registered < Duration::from_secs(1),
        "registered after {registered:?}"
    );
    eprintln!("daemon_config received {registered:?} after start-up began");
    assert_eq!(
        first.msg["type"], "daemon_config",
        "first message: {}",
        first.msg
    );
    assert_eq!(first.msg["daemon_id"], "tester@box");
    assert_eq!(
        first.msg["webapp_basedir"],
        root.path().display().to_string()
    );
    for key in ["timestamp", "makemkvcon_path", "git_sha"] {
        assert!(first.msg.get(key).is_some(), "daemon_config lacks {key}");
    }
    assert_eq!(daemon.loaded.webapp, WebappState::Fetched);
    assert_eq!(
        daemon.loaded.effective.tasks_dir.value,
        root.path().join("data/tasks")
    );

    answers_requests(&mut webapp).await;
    // Heartbeats at the webapp's interval (1 s), exactly {type, timestamp}.
    let beat = webapp.next_of("heartbeat", WAIT).await;
    assert_eq!(beat.msg.as_object().unwrap().len(), 2, "{}", beat.msg);

    // Config changes are refetched, under either name (after the start-up fetch and the
    // one every connection triggers).
    webapp.fetched_more_than(1, WAIT).await;
    for name in ["webapp_config_changed", "config_updated"] {
        let before = webapp.config_fetches();
        webapp.send(json!({"type": name}));
        webapp.fetched_more_than(before, WAIT).await;
    }

    disc_events_in_order(&mut webapp, &daemon).await;
    // Every echo of all that was ignored quietly: still the one connection.
    assert_eq!(webapp.connections(), 1);
    let registrations = webapp
        .log()
        .iter()
        .filter(|r| r.msg["type"] == "daemon_config")
        .count();
    assert_eq!(registrations, 1);
    daemon.shutdown().await;
}

/// `get_drive_status` (fast, one §9.1 drive object), `list_drives`, unknown methods.
async fn answers_requests(webapp: &mut StandIn) {
    // get_drive_status: one §9.1 drive object, fast.
    let sent = Instant::now();
    webapp
        .send(json!({"type":"request","request_id":"r1","method":"get_drive_status","params":{}}));
    let answer = webapp
        .next_where(WAIT, |r| {
            r.msg["type"] == "response" && r.msg["request_id"] == "r1"
        })
        .await;
    let latency = answer.at.duration_since(sent);
    assert!(
        latency < Duration::from_millis(50),
        "answered in {latency:?}"
    );
    eprintln!("get_drive_status answered in {latency:?}");
    assert!(answer.msg.get("error").is_none());
    let drive = answer.msg["result"].as_object().unwrap();
    let keys: Vec<&str> = drive.keys().map(String::as_str).collect();
    for key in [
        "drive_id",
        "daemon_id",
        "device",
        "label",
        "state",
        "disc_volume",
        "disc_type",
        "fingerprint",
        "scan_status",
        "scan_task_id",
        "scan_result",
        "scan_error",
        "rip_task_id",
        "rip_track_number",
        "rip_progress",
        "disc_inserted_at",
        "waiting_since",
        "last_updated",
    ] {
        assert!(keys.contains(&key), "drive object lacks {key}: {keys:?}");
    }
    assert_eq!(drive["drive_id"], "tester@box:sim0");
    assert_eq!(drive["device"], "/dev/sim0");

    webapp.send(json!({"type":"request","request_id":2,"method":"list_drives"}));
    let listed = webapp.next_where(WAIT, |r| r.msg["request_id"] == 2).await;
    assert_eq!(listed.msg["result"]["drives"].as_array().unwrap().len(), 1);
    webapp.send(json!({"type":"request","request_id":"r3","method":"format_disc","params":{}}));
    let refused = webapp
        .next_where(WAIT, |r| r.msg["request_id"] == "r3")
        .await;
    assert_eq!(refused.msg["error"]["code"], "unknown_method");
}

/// `disc_event` inserted, fingerprinted, ejected, with the webapp's fields.
async fn disc_events_in_order(webapp: &mut StandIn, daemon: &Daemon) {
    // Disc events, in order, with the webapp's fields.
    for event in [
        DiscEventKind::Inserted,
        DiscEventKind::Fingerprinted,
        DiscEventKind::Ejected,
    ] {
        daemon.handle.bus.publish(DaemonEvent::Disc {
            event,
            drive_id: "tester@box:sim0".into(),
            device: "/dev/sim0".into(),
            volume_name: Some("DEMO_BLURAY".into()),
            fingerprint: Some("fp-1".into()),
        });
    }
    let inserted = webapp.next_of("disc_event", WAIT).await.msg;
    assert_eq!(
        (inserted["event"].as_str(), inserted["volume_name"].as_str()),
        (Some("inserted"), Some("DEMO_BLURAY"))
    );
    let fingerprinted = webapp.next_of("disc_event", WAIT).await.msg;
    assert_eq!(
        (
            fingerprinted["event"].as_str(),
            fingerprinted["fingerprint"].as_str()
        ),
        (Some("fingerprinted"), Some("fp-1"))
    );
    assert_eq!(
        webapp.next_of("disc_event", WAIT).await.msg["event"],
        "ejected"
    );
}

/// A rip of the 25 GB main feature of `demo-bluray`.
fn enqueue_rip(daemon: &Daemon) -> String {
    let out = daemon.root.join("ripped");
    std::fs::create_dir_all(&out).unwrap();
    daemon
        .handle
        .queue
        .enqueue(&NewTask::rip(RipSpec {
            track: 0,
            expected_size_bytes: None,
            expected_duration: None,
            directory: out,
            filename: "Main Feature.mkv".into(),
        }))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rip_progress_reaches_the_webapp_through_twenty_restarts() {
    let mut webapp = StandIn::start(webapp_config()).await;
    let root = root_for(&webapp.url());
    // ~25 GB at 8 GB/s: about three seconds, several times what twenty restarts take.
    let daemon = start_daemon(root.path(), 8000.0).await;
    let mut events = daemon.handle.bus.subscribe();
    webapp.next_of("daemon_config", WAIT).await;
    let task_id = enqueue_rip(&daemon);
    let progress = webapp
        .next_where(WAIT, |r| {
            r.msg["type"] == "progress" && r.msg["task_id"] == task_id.as_str()
        })
        .await;
    for key in ["percent", "eta_seconds", "current_size_bytes", "speed"] {
        assert!(
            progress.msg.get(key).is_some(),
            "progress lacks {key}: {}",
            progress.msg
        );
    }

    let started = Instant::now();
    for restart in 1..=20 {
        webapp.stop().await;
        webapp.restart().await;
        let conn = webapp.next_of("daemon_config", WAIT).await.conn;
        assert_eq!(conn, restart + 1, "registration on the new connection");
    }
    let restarts_took = started.elapsed();
    assert!(
        !daemon.handle.status.get().running.is_empty(),
        "the rip must still be running after the restarts ({restarts_took:?})"
    );
    // Progress still flows on the latest connection.
    webapp
        .next_where(WAIT, |r| r.conn == 21 && r.msg["type"] == "progress")
        .await;

    let finished = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match events.recv().await {
                Ok(DaemonEvent::TaskFinished {
                    task_id: id, error, ..
                }) if id == task_id => return error,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => panic!("bus closed"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(finished, None, "the rip failed");
    assert!(root.path().join("ripped/Main Feature.mkv").is_file());

    // On every connection, daemon_config came first.
    let log = webapp.log();
    for conn in 1..=21 {
        let first = log.iter().find(|r| r.conn == conn).unwrap();
        assert_eq!(
            first.msg["type"], "daemon_config",
            "connection {conn} began with {}",
            first.msg
        );
    }
    eprintln!("20 restarts took {restarts_took:?}");
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webapp_down_at_start_up_means_the_cached_config() {
    let addr = StandIn::dead_port().await;
    let root = root_for(&format!("http://{addr}"));
    let state = root.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("cached_config.json"),
        json!({"tasks_directory": "/data/tasks", "heartbeat_interval": 1}).to_string(),
    )
    .unwrap();
    let daemon = start_daemon(root.path(), 50.0).await;
    let mut refetched = daemon.refresher.as_ref().unwrap().subscribe();
    assert!(matches!(
        daemon.loaded.webapp,
        WebappState::Unreachable { .. }
    ));
    assert_eq!(daemon.loaded.cache, CacheState::Used);
    assert_eq!(
        daemon.loaded.effective.tasks_directory.source,
        Source::Cached
    );
    assert_eq!(
        daemon.loaded.effective.tasks_dir.value,
        root.path().join("data/tasks")
    );
    assert!(
        daemon.handle.status.get().problems.is_empty(),
        "{:?}",
        daemon.handle.status.get().problems
    );

    // The webapp comes up: the daemon finds it, registers first, and refreshes the cache.
    let mut webapp = StandIn::start_on(
        addr,
        json!({"tasks_directory": "/data/tasks", "wiki_url": "http://wiki"}),
    )
    .await;
    let first = webapp.next_where(WAIT, |_| true).await;
    assert_eq!(first.msg["type"], "daemon_config");
    tokio::time::timeout(WAIT, refetched.changed())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        refetched.borrow().wiki_url.value.as_deref(),
        Some("http://wiki")
    );
    let cache = std::fs::read_to_string(state.join("cached_config.json")).unwrap();
    assert!(cache.contains("http://wiki"), "{cache}");
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neither_webapp_nor_cache_starts_in_needs_config() {
    let addr = StandIn::dead_port().await;
    let root = root_for(&format!("http://{addr}"));
    let daemon = start_daemon(root.path(), 50.0).await;
    assert_eq!(daemon.loaded.cache, CacheState::Missing);
    let stand_in = root.path().join("state/tasks");
    assert_eq!(daemon.loaded.effective.tasks_dir.value, stand_in);
    let problems = daemon.handle.status.get().problems;
    assert!(
        problems.iter().any(|p| p.starts_with("needs config")),
        "{problems:?}"
    );

    // Once the webapp answers, the status says a restart will use the real directory.
    let _webapp = StandIn::start_on(addr, webapp_config()).await;
    let mut status = daemon.handle.status.watch();
    tokio::time::timeout(
        WAIT,
        status.wait_for(|s| s.problems.iter().any(|p| p.starts_with("restart needed"))),
    )
    .await
    .unwrap()
    .unwrap();
    let problems = daemon.handle.status.get().problems;
    assert!(
        !problems.iter().any(|p| p.starts_with("needs config")),
        "{problems:?}"
    );
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_is_healthy_with_a_webapp_and_a_makemkvcon() {
    use std::os::unix::fs::PermissionsExt;
    let webapp = StandIn::start(webapp_config()).await;
    let root = root_for(&webapp.url());
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("makemkvcon");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'MSG:1005,0,1,\"MakeMKV v1.18.1 linux(x64-release) started\",\"%1 started\",\"MakeMKV v1.18.1 linux(x64-release)\"'\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let doctor = |json: bool| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_amphigory"));
        command
            .arg("doctor")
            .args(json.then_some("--json"))
            .arg("--config");
        command
            .arg(root.path().join("daemon.yaml"))
            .arg("--state-dir")
            .arg(root.path().join("state"))
            .env("HOME", root.path().join("home"))
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env_remove("AMPHIGORY_CONFIG");
        command.output()
    };
    let text = doctor(false).await.unwrap();
    eprintln!("{}", String::from_utf8_lossy(&text.stdout));
    assert_eq!(text.status.code(), Some(0));
    let output = doctor(true).await.unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    assert_eq!(report["healthy"], true);
    assert_eq!(report["config"]["tasks_directory"]["source"], "webapp");
    assert_eq!(report["config"]["tasks_dir"]["source"], "resolved");
    assert_eq!(
        report["config"]["heartbeat_interval"],
        json!({"value": 1, "source": "webapp"})
    );
    let checks = report["checks"].as_array().unwrap();
    let makemkvcon = checks.iter().find(|c| c["name"] == "makemkvcon").unwrap();
    assert!(
        makemkvcon["detail"]
            .as_str()
            .unwrap()
            .contains("MakeMKV v1.18.1"),
        "{makemkvcon}"
    );
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "webapp link" && c["ok"] == true)
    );
}

/// Waits until the status snapshot says the link is `up` (the tray's "disconnected"
/// overlay follows this field).
async fn link_state_becomes(daemon: &Daemon, up: bool) {
    let mut status = daemon.handle.status.watch();
    tokio::time::timeout(WAIT, status.wait_for(|s| s.webapp_link == Some(up)))
        .await
        .unwrap_or_else(|_| panic!("link state never became {up}"))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_snapshot_follows_the_link_up_and_down() {
    let mut webapp = StandIn::start(webapp_config()).await;
    let root = root_for(&webapp.url());
    let daemon = start_daemon(root.path(), 8000.0).await;
    link_state_becomes(&daemon, true).await;
    webapp.stop().await;
    link_state_becomes(&daemon, false).await;
    webapp.restart().await;
    link_state_becomes(&daemon, true).await;
    daemon.shutdown().await;
}
