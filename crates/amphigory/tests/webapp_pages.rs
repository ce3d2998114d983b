#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Issue 13: what the real webapp's pages and handlers read, against a stand-in webapp
//! that checks it the way the webapp's pydantic models do (types, not only keys): an
//! in-process daemon on simulated drives, configured as `amphigory daemon` configures
//! itself, talking to the stand-in over its link (SPEC §7.2).

#[path = "webapp_link/standin.rs"]
#[allow(dead_code)] // shared with tests/webapp_link.rs, which uses all of it
mod standin;

mod support;

use std::path::Path;
use std::time::Duration;

use amphigory::config::{self, LoadRequest, Settings};
use amphigory::core::DaemonEvent;
use amphigory::daemon::{ApplyConfig, DaemonHandle, DaemonOptions, SimOptions};
use amphigory::queue::NewTask;
use amphigory::servers::webapp_link::Backoff;
use serde_json::{Map, Value, json};
use standin::{Received, StandIn};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(15);

struct Daemon {
    handle: DaemonHandle,
    stop: CancellationToken,
}

impl Daemon {
    async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(WAIT, self.handle.wait())
            .await
            .unwrap();
    }
}

/// A daemon on simulated drives holding `discs`, linked to `webapp`; `basedir` writes
/// `webapp_basedir` into daemon.yaml (else the queue comes from `--tasks-dir`, as a
/// webapp developer runs `--simulate`).
async fn start(root: &Path, webapp: &StandIn, discs: &[&str], basedir: bool) -> Daemon {
    let mut yaml = format!("webapp_url: {}\ndaemon_id: tester@box\n", webapp.url());
    if basedir {
        yaml.push_str(&format!("webapp_basedir: {}\n", root.display()));
    }
    std::fs::write(root.join("daemon.yaml"), yaml).unwrap();
    let request = LoadRequest {
        config_file: Some(root.join("daemon.yaml")),
        state_dir: Some(root.join("state")),
        flags: Settings {
            websocket_port: Some(0),
            tasks_dir: (!basedir).then(|| root.join("tasks")),
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
        discs: discs.iter().map(|d| (*d).to_owned()).collect(),
        rate_mbps: 20_000.0,
        fault: None,
    });
    options.sim_executable = Some(env!("CARGO_BIN_EXE_amphigory").into());
    loaded.apply(&mut options);
    if let Some(link) = options.webapp_link.as_mut() {
        link.backoff = Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(200),
        };
    }
    let stop = CancellationToken::new();
    let handle = amphigory::daemon::start(options, stop.child_token())
        .await
        .unwrap();
    support::wait_scanned(&handle.status).await;
    Daemon { handle, stop }
}

fn webapp_config() -> Value {
    json!({"tasks_directory": "/data/tasks", "websocket_port": 9847, "heartbeat_interval": 5})
}

/// What the webapp's models accept; panics with the message otherwise.
fn check_like_the_webapp(msg: &Value) {
    let string = |key: &str| msg[key].is_string();
    let string_or_absent = |key: &str| msg.get(key).is_none_or(Value::is_string);
    match msg["type"].as_str() {
        Some("daemon_config") => {
            assert!(string("daemon_id") && string("timestamp"), "{msg}");
            for key in ["webapp_basedir", "git_sha"] {
                assert!(
                    string_or_absent(key),
                    "{key} must be a string or absent: {msg}"
                );
            }
        }
        Some("disc_event") => {
            assert!(string("device"), "{msg}");
            match msg["event"].as_str() {
                Some("inserted") => assert!(string_or_absent("volume_name"), "{msg}"),
                Some("fingerprinted") => assert!(string("fingerprint"), "{msg}"),
                Some("ejected") => {}
                other => panic!("unknown disc event {other:?}: {msg}"),
            }
        }
        Some("response") => {
            if let Some(scan) = msg["result"].get("scan_result").filter(|s| !s.is_null()) {
                check_scan(scan);
            }
        }
        _ => {}
    }
}

/// The Disc Review page: `disc_name` a string, tracks by title number (it rips
/// `track.number || index`), a `name` only where it differs from the disc's.
fn check_scan(scan: &Value) {
    let disc_name = scan["disc_name"].as_str().expect("disc_name is a string");
    let tracks = scan["tracks"].as_array().unwrap();
    for (index, track) in tracks.iter().enumerate() {
        assert_eq!(track["number"].as_u64(), Some(index as u64), "{scan}");
        assert!(track["chapters"].is_u64(), "{track}");
        if let Some(name) = track.get("name") {
            assert!(name.as_str().is_some_and(|n| n != disc_name), "{track}");
        }
    }
}

async fn request(webapp: &mut StandIn, id: &str, method: &str, params: Value) -> Value {
    webapp.send(json!({"type": "request", "request_id": id, "method": method, "params": params}));
    let answer = webapp
        .next_where(WAIT, |r| {
            r.msg["type"] == "response" && r.msg["request_id"] == id
        })
        .await;
    check_like_the_webapp(&answer.msg);
    answer.msg
}

/// Every message of connection `conn` so far, in order.
fn messages_of(webapp: &StandIn, conn: usize) -> Vec<Value> {
    webapp
        .log()
        .into_iter()
        .filter(|r: &Received| r.conn == conn)
        .map(|r| r.msg)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_1_2_3_the_disc_page_and_the_registration_read_what_the_webapp_expects() {
    let mut webapp = StandIn::start(webapp_config()).await;
    let root = tempfile::tempdir().unwrap();
    // No webapp_basedir: --tasks-dir, the way a webapp developer runs --simulate.
    let daemon = start(root.path(), &webapp, &["demo-bluray"], false).await;
    let first = webapp.next_where(WAIT, |_| true).await.msg;
    assert_eq!(first["type"], "daemon_config", "{first}");
    check_like_the_webapp(&first);
    assert!(first.get("webapp_basedir").is_none(), "{first}");
    let sha = first["git_sha"].as_str().expect("built in a git checkout");
    assert!(
        sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sha}"
    );

    let answer = request(&mut webapp, "r1", "get_drive_status", json!({})).await;
    let scan = &answer["result"]["scan_result"];
    check_scan(scan);
    assert_eq!(scan["disc_name"], "The Clockwork Lighthouse");
    assert_eq!(scan["tracks"][0]["classification"], "main_feature");
    // MakeMKV names every title after the disc (the simulated drive does too); only the
    // extra that has a name of its own keeps one.
    let named: Vec<(u64, &str)> = scan["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| Some((t["number"].as_u64()?, t.get("name")?.as_str()?)))
        .collect();
    assert_eq!(
        named,
        [(2, "The Clockwork Lighthouse: Behind the Scenes")],
        "{scan}"
    );
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item4_a_restarted_webapp_hears_of_the_disc_already_in() {
    let mut webapp = StandIn::start(webapp_config()).await;
    let root = tempfile::tempdir().unwrap();
    let daemon = start(root.path(), &webapp, &["demo-bluray"], true).await;
    webapp.next_of("daemon_config", WAIT).await;
    for restart in 1..=2 {
        webapp.stop().await;
        webapp.restart().await;
        let conn = restart + 1;
        let config = webapp
            .next_where(WAIT, |r| r.conn == conn && r.msg["type"] == "daemon_config")
            .await;
        check_like_the_webapp(&config.msg);
        let fingerprinted = webapp
            .next_where(WAIT, |r| {
                r.conn == conn && r.msg["event"] == "fingerprinted"
            })
            .await;
        let messages = messages_of(&webapp, conn);
        let kinds: Vec<String> = messages
            .iter()
            .take(3)
            .map(|m| format!("{}/{}", m["type"], m["event"]).replace('"', ""))
            .collect();
        assert_eq!(
            kinds,
            [
                "daemon_config/null",
                "disc_event/inserted",
                "disc_event/fingerprinted"
            ],
            "connection {conn}: {messages:#?}"
        );
        messages.iter().for_each(check_like_the_webapp);
        assert_eq!(messages[1]["device"], "/dev/sim0");
        assert_eq!(messages[1]["volume_name"], "CLOCKWORK_LIGHTHOUSE");
        assert!(
            fingerprinted.msg["fingerprint"]
                .as_str()
                .unwrap()
                .starts_with("br-")
        );
    }
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item5_a_scan_naming_no_drive_is_for_the_disc_put_in_last() {
    let mut webapp = StandIn::start(webapp_config()).await;
    let root = tempfile::tempdir().unwrap();
    let daemon = start(root.path(), &webapp, &["demo-bluray", "demo-dvd"], true).await;
    webapp.next_of("daemon_config", WAIT).await;
    // The user takes the DVD out of sim1 and puts it back: the disc in last (and not
    // the first drive, nor a busier one).
    let sim = daemon.handle.sim().unwrap().clone();
    sim.eject("/dev/sim1").unwrap();
    webapp
        .next_where(WAIT, |r| r.msg["event"] == "ejected")
        .await;
    sim.insert("/dev/sim1", "demo-dvd").unwrap();
    webapp
        .next_where(WAIT, |r| r.msg["event"] == "fingerprinted")
        .await;
    support::wait_scanned(&daemon.handle.status).await;

    let answer = request(&mut webapp, "r1", "get_drive_status", Value::Null).await;
    assert_eq!(answer["result"]["drive_id"], "tester@box:sim1", "{answer}");
    let fingerprint = answer["result"]["fingerprint"].as_str().unwrap().to_owned();

    let mut events = daemon.handle.bus.subscribe();
    let id = daemon.handle.queue.enqueue(&NewTask::scan()).unwrap();
    let mut started_on = None;
    loop {
        match tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            DaemonEvent::TaskStarted {
                task_id, drive_id, ..
            } if task_id == id => started_on = Some(drive_id),
            DaemonEvent::TaskFinished { task_id, .. } if task_id == id => break,
            _ => {}
        }
    }
    assert_eq!(started_on.as_deref(), Some("tester@box:sim1"));
    let result = read_result(&daemon, &id);
    assert_eq!(result["status"], "success", "{result}");
    assert_eq!(result["result"]["fingerprint"], fingerprint.as_str());
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item8a_a_request_with_null_or_no_params_is_answered() {
    let mut webapp = StandIn::start(webapp_config()).await;
    let root = tempfile::tempdir().unwrap();
    let daemon = start(root.path(), &webapp, &["demo-dvd"], true).await;
    webapp.next_of("daemon_config", WAIT).await;
    let null = request(&mut webapp, "n", "get_drive_status", Value::Null).await;
    assert_eq!(null["result"]["drive_id"], "tester@box:sim0");
    webapp.send(json!({"type": "request", "request_id": "absent", "method": "list_drives"}));
    let absent = webapp
        .next_where(WAIT, |r| r.msg["request_id"] == "absent")
        .await;
    assert_eq!(absent.msg["result"]["drives"].as_array().unwrap().len(), 1);
    let empty = request(
        &mut webapp,
        "e",
        "get_drive_status",
        Value::Object(Map::new()),
    )
    .await;
    assert_eq!(empty["result"]["drive_id"], "tester@box:sim0");
    daemon.shutdown().await;
}

/// `complete/<id>.json` (its task finished: the result is there).
fn read_result(daemon: &Daemon, id: &str) -> Value {
    let path = daemon
        .handle
        .queue
        .layout()
        .file(amphigory::queue::TaskState::Complete, id);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item7_output_folders_are_made_below_ripped_directory_never_on_a_missing_volume() {
    let root = tempfile::tempdir().unwrap();
    let ripped = root.path().join("ripped");
    std::fs::create_dir(&ripped).unwrap();
    let mut config = webapp_config();
    config["ripped_directory"] = json!(ripped.display().to_string());
    let mut webapp = StandIn::start(config).await;
    let daemon = start(root.path(), &webapp, &["demo-bluray"], true).await;
    webapp.next_of("daemon_config", WAIT).await;
    let rip = |directory: std::path::PathBuf| {
        NewTask::rip(amphigory::queue::RipSpec {
            track: 7,
            expected_size_bytes: None,
            expected_duration: None,
            directory,
            filename: "Trailer.mkv".into(),
        })
    };
    let mut events = daemon.handle.bus.subscribe();
    let deep = ripped.join("Movies/The Clockwork Lighthouse (2024)/Extras");
    let made = daemon.handle.queue.enqueue(&rip(deep.clone())).unwrap();
    let unmounted = std::path::PathBuf::from("/Volumes/NotMounted-amphigory/Movies/X");
    let refused = daemon.handle.queue.enqueue(&rip(unmounted)).unwrap();
    let mut finished = 0;
    while finished < 2 {
        if let DaemonEvent::TaskFinished { task_id, .. } = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            finished += usize::from(task_id == made || task_id == refused);
        }
    }
    assert_eq!(read_result(&daemon, &made)["status"], "success");
    assert!(deep.join("Trailer.mkv").is_file());
    let failed = read_result(&daemon, &refused);
    assert_eq!(failed["error"]["code"], "OUTPUT_WRITE_FAILED", "{failed}");
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(message.contains("is its volume mounted"), "{message}");
    assert!(!Path::new("/Volumes/NotMounted-amphigory").exists());
    daemon.shutdown().await;
}
