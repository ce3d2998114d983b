#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Configuration (SPEC §3): every level of the precedence chain, path resolution, and
//! every way the inputs can be bad — malformed YAML, unknown keys, wrong types, and a
//! `/config.json` that is not JSON, too slow, an HTTP error, or missing fields.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use amphigory::cli::ToExitCode;
use amphigory::config::file::FileError;
use amphigory::config::webapp::FETCH_TIMEOUT;
use amphigory::config::{
    self, CacheState, ConfigError, LoadRequest, Loaded, Settings, Source, WebappState,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The fetch deadline in these tests (production: 2 s, asserted below).
const DEADLINE: Duration = Duration::from_millis(300);

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(yaml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("daemon.yaml"), yaml).unwrap();
        Self { dir }
    }

    /// `daemon.yaml` naming the webapp at `addr`, with the fixture as `webapp_basedir`.
    fn with_webapp(addr: SocketAddr, more: &str) -> Self {
        let f = Self::new("");
        let yaml = format!(
            "webapp_url: http://{addr}\nwebapp_basedir: {}\n{more}",
            f.dir.path().display()
        );
        std::fs::write(f.dir.path().join("daemon.yaml"), yaml).unwrap();
        f
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn request(&self) -> LoadRequest {
        LoadRequest {
            config_file: Some(self.path("daemon.yaml")),
            state_dir: Some(self.path("state")),
            fetch_timeout: DEADLINE,
            ..LoadRequest::default()
        }
    }

    fn write_cache(&self, value: &Value) {
        std::fs::create_dir_all(self.path("state")).unwrap();
        std::fs::write(self.path("state/cached_config.json"), value.to_string()).unwrap();
    }

    fn cache(&self) -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(self.path("state/cached_config.json")).unwrap(),
        )
        .unwrap()
    }

    async fn load(&self) -> Loaded {
        config::load(&self.request()).await.unwrap()
    }
}

/// A one-trick HTTP server answering every request with `reply` (`None`: never answers).
async fn webapp(reply: Option<String>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                match reply {
                    Some(reply) => {
                        let _ = stream.write_all(reply.as_bytes()).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            });
        }
    });
    addr
}

fn http(status: &str, body: &str) -> Option<String> {
    Some(format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
}

fn env(pairs: &[(&str, &str)]) -> Settings {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    config::env_settings(|name| map.get(name).cloned()).unwrap()
}

#[tokio::test]
async fn every_precedence_level_in_turn() {
    // Built-in default.
    let f = Fixture::new("");
    let e = f.load().await.effective;
    assert_eq!(
        (e.websocket_port.value, e.websocket_port.source),
        (9847, Source::Default)
    );
    assert_eq!(
        (e.heartbeat_interval.value, e.heartbeat_interval.source),
        (10, Source::Default)
    );
    assert_eq!(
        (e.log_level.value.as_str(), e.log_level.source),
        ("info", Source::Default)
    );

    // Cached config beats the default.
    f.write_cache(&json!({"websocket_port": 1001, "log_level": "warn"}));
    let loaded = f.load().await;
    assert_eq!(loaded.cache, CacheState::Used);
    assert_eq!(
        (
            loaded.effective.websocket_port.value,
            loaded.effective.websocket_port.source
        ),
        (1001, Source::Cached)
    );

    // Fetched config beats the cache, and replaces it.
    let addr = webapp(http(
        "200 OK",
        r#"{"websocket_port":1002,"heartbeat_interval":3}"#,
    ))
    .await;
    let f2 = Fixture::with_webapp(addr, "");
    f2.write_cache(&json!({"websocket_port": 1001, "log_level": "warn"}));
    let loaded = f2.load().await;
    assert_eq!(loaded.webapp, WebappState::Fetched);
    assert_eq!(loaded.cache, CacheState::Replaced);
    let e = &loaded.effective;
    assert_eq!(
        (e.websocket_port.value, e.websocket_port.source),
        (1002, Source::Fetched)
    );
    assert_eq!(
        (e.heartbeat_interval.value, e.heartbeat_interval.source),
        (3, Source::Fetched)
    );
    assert_eq!(
        e.log_level.source,
        Source::Default,
        "the stale cache is not consulted"
    );
    assert_eq!(f2.cache()["websocket_port"], 1002);

    // daemon.yaml beats the webapp.
    let f3 = Fixture::with_webapp(addr, "websocket_port: 1003\nlog_level: debug\n");
    let e = f3.load().await.effective;
    assert_eq!(
        (e.websocket_port.value, e.websocket_port.source),
        (1003, Source::File)
    );
    assert_eq!(e.heartbeat_interval.source, Source::Fetched);

    // The environment beats daemon.yaml; a flag beats the environment.
    let mut request = f3.request();
    request.env = env(&[("AMPHIGORY_WS_PORT", "1004"), ("AMPHIGORY_LOG", "trace")]);
    let e = config::load(&request).await.unwrap().effective;
    assert_eq!(
        (e.websocket_port.value, e.websocket_port.source),
        (1004, Source::Env)
    );
    assert_eq!(
        (e.log_level.value.as_str(), e.log_level.source),
        ("trace", Source::Env)
    );
    request.flags = Settings {
        websocket_port: Some(1005),
        ..Settings::default()
    };
    let e = config::load(&request).await.unwrap().effective;
    assert_eq!(
        (e.websocket_port.value, e.websocket_port.source),
        (1005, Source::Flag)
    );
    assert_eq!(e.log_level.source, Source::Env);
}

#[tokio::test]
async fn tasks_dir_is_basedir_plus_tasks_directory_unless_given() {
    let addr = webapp(http("200 OK", r#"{"tasks_directory":"/data/tasks"}"#)).await;
    let f = Fixture::with_webapp(addr, "");
    let e = f.load().await.effective;
    assert_eq!(e.tasks_directory.source, Source::Fetched);
    assert_eq!(
        (e.tasks_dir.value.clone(), e.tasks_dir.source),
        (f.path("data/tasks"), Source::Resolved)
    );
    assert_eq!(e.needs_config, None);

    let mut request = f.request();
    request.env = env(&[("AMPHIGORY_TASKS_DIR", "/from/env")]);
    let e = config::load(&request).await.unwrap().effective;
    assert_eq!(
        (e.tasks_dir.value, e.tasks_dir.source),
        (PathBuf::from("/from/env"), Source::Env)
    );
    request.flags.tasks_dir = Some("/from/flag".into());
    let e = config::load(&request).await.unwrap().effective;
    assert_eq!(
        (e.tasks_dir.value, e.tasks_dir.source),
        (PathBuf::from("/from/flag"), Source::Flag)
    );
}

#[tokio::test]
async fn neither_webapp_nor_cache_is_needs_config_not_an_error() {
    let dead = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let f = Fixture::with_webapp(dead, "");
    let loaded = f.load().await;
    assert!(
        matches!(&loaded.webapp, WebappState::Unreachable { reason } if reason.contains("connect"))
    );
    assert_eq!(loaded.cache, CacheState::Missing);
    let needs = loaded.effective.needs_config.clone().unwrap();
    assert!(needs.starts_with("needs config"), "{needs}");
    assert_eq!(loaded.effective.tasks_dir.value, f.path("state/tasks"));
    assert_eq!(loaded.problems(), vec![needs]);
}

fn file_error(result: Result<Loaded, ConfigError>) -> FileError {
    match result {
        Err(ConfigError::File(e)) => e,
        other => panic!("expected a file error, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_yaml_names_the_file_and_the_line() {
    let f =
        Fixture::new("webapp_url: http://localhost:6199\nwebapp_basedir: /opt/a\n  tasks: - x\n");
    let error = config::load(&f.request()).await;
    assert_eq!(error.as_ref().unwrap_err().exit_code(), 2);
    let error = file_error(error);
    let text = error.to_string();
    assert!(
        matches!(error, FileError::Syntax { line: 3, .. }),
        "{error:?}"
    );
    assert!(
        text.starts_with(&format!("{}:3:", f.path("daemon.yaml").display())),
        "{text}"
    );

    let f = Fixture::new("drives: [unclosed\n");
    assert!(matches!(
        file_error(config::load(&f.request()).await),
        FileError::Syntax { line: 1, .. }
    ));
}

#[tokio::test]
async fn wrong_types_name_the_key_and_the_line() {
    let cases = [
        (
            "webapp_url: http://h\nwebsocket_port: lots\n",
            2,
            "websocket_port",
        ),
        ("websocket_port: 70000\n", 1, "websocket_port"),
        ("no_webapp: yes\n", 1, "no_webapp"),
        ("drives:\n  sr0: Left\n  sr1: [a, b]\n", 3, "drives.sr1"),
        ("heartbeat_interval: -1\n", 1, "heartbeat_interval"),
    ];
    for (yaml, want_line, want_key) in cases {
        let f = Fixture::new(yaml);
        let error = file_error(config::load(&f.request()).await);
        let text = error.to_string();
        match &error {
            FileError::Syntax { line, key, .. } => {
                assert_eq!(
                    (*line, key.as_deref()),
                    (want_line, Some(want_key)),
                    "{yaml:?}: {text}"
                );
            }
            other => panic!("{yaml:?}: {other:?}"),
        }
        assert!(text.contains(&format!("key `{want_key}`")), "{text}");
    }
    // Well-typed values that cannot work.
    for (yaml, key) in [
        ("webapp_basedir: relative/dir\n", "webapp_basedir"),
        ("webapp_url: localhost:6199\n", "webapp_url"),
        ("heartbeat_interval: 0\n", "heartbeat_interval"),
    ] {
        let error = file_error(config::load(&Fixture::new(yaml).request()).await);
        assert!(
            matches!(&error, FileError::Invalid { key: k, line: Some(1), .. } if k == key),
            "{yaml:?}: {error:?}"
        );
    }
}

#[tokio::test]
async fn unknown_keys_are_reported_and_the_rest_still_works() {
    let f = Fixture::new("log_level: debug\nauto_eject: true\ncolour: blue\nflavour: 1\n");
    let loaded = f.load().await;
    assert_eq!(loaded.effective.log_level.value, "debug");
    let warning = loaded.warnings.join("\n");
    assert!(
        warning.contains("unknown keys ignored: colour (line 3), flavour (line 4)"),
        "{warning}"
    );
    assert!(warning.contains("daemon.yaml"), "{warning}");
}

#[tokio::test]
async fn a_named_config_file_must_exist() {
    let f = Fixture::new("");
    let mut request = f.request();
    request.config_file = Some(f.path("nope.yaml"));
    let error = file_error(config::load(&request).await);
    assert!(matches!(error, FileError::Read { .. }));
    assert!(error.to_string().contains("nope.yaml"));
}

#[tokio::test]
async fn config_json_that_is_not_json_falls_back_to_the_cache() {
    let addr = webapp(http("200 OK", "<html>Amphigory</html>")).await;
    let f = Fixture::with_webapp(addr, "");
    f.write_cache(&json!({"tasks_directory": "/cached"}));
    let loaded = f.load().await;
    assert!(
        matches!(&loaded.webapp, WebappState::Unreachable { reason } if reason.contains("not JSON")),
        "{:?}",
        loaded.webapp
    );
    assert_eq!(loaded.cache, CacheState::Used);
    assert_eq!(loaded.effective.tasks_dir.value, f.path("cached"));
    assert_eq!(
        f.cache()["tasks_directory"],
        "/cached",
        "a bad answer never replaces the cache"
    );

    let wrong_type = webapp(http("200 OK", r#"{"websocket_port":"ninety"}"#)).await;
    let loaded = Fixture::with_webapp(wrong_type, "").load().await;
    assert!(
        matches!(&loaded.webapp, WebappState::Unreachable { reason } if reason.contains("websocket_port"))
    );

    let failing = webapp(http("500 Internal Server Error", "{}")).await;
    let loaded = Fixture::with_webapp(failing, "").load().await;
    assert!(
        matches!(&loaded.webapp, WebappState::Unreachable { reason } if reason.contains("HTTP 500"))
    );
}

#[tokio::test]
async fn a_slow_webapp_costs_at_most_the_deadline() {
    assert_eq!(FETCH_TIMEOUT, Duration::from_secs(2));
    let addr = webapp(None).await;
    let f = Fixture::with_webapp(addr, "");
    f.write_cache(&json!({"websocket_port": 4242}));
    let started = Instant::now();
    let loaded = f.load().await;
    let took = started.elapsed();
    assert!(
        took >= DEADLINE && took < DEADLINE * 3,
        "load took {took:?}"
    );
    assert!(
        matches!(&loaded.webapp, WebappState::Unreachable { reason } if reason.contains("no answer within"))
    );
    assert_eq!(loaded.effective.websocket_port.source, Source::Cached);
}

#[tokio::test]
async fn config_json_lacking_fields_gets_defaults_and_keeps_extras() {
    let addr = webapp(http(
        "200 OK",
        r#"{"tasks_directory":"/t","theme":"dark","makemkv_path":null}"#,
    ))
    .await;
    let f = Fixture::with_webapp(addr, "");
    let e = f.load().await.effective;
    assert_eq!(e.tasks_directory.value.as_deref(), Some("/t"));
    assert_eq!(
        (e.websocket_port.value, e.websocket_port.source),
        (9847, Source::Default)
    );
    assert_eq!(
        (e.heartbeat_interval.value, e.heartbeat_interval.source),
        (10, Source::Default)
    );
    assert_eq!(
        (e.makemkvcon_path.value, e.makemkvcon_path.source),
        (None, Source::Default)
    );
    assert_eq!(e.extra.get("theme"), Some(&json!("dark")));
    assert_eq!(f.cache()["theme"], "dark", "the cache keeps every key");
}

#[test]
fn bad_environment_values_are_configuration_errors() {
    let lookup = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let error = config::env_settings(lookup(&[("AMPHIGORY_WS_PORT", "abc")])).unwrap_err();
    assert!(error.to_string().contains("AMPHIGORY_WS_PORT"), "{error}");
    assert_eq!(error.exit_code(), 2);
    assert!(config::env_settings(lookup(&[("AMPHIGORY_WEBAPP_BASEDIR", "rel")])).is_err());
    assert!(config::env_settings(lookup(&[("AMPHIGORY_WEBAPP_URL", "ftp://x")])).is_err());
}

#[test]
fn the_daemon_exits_2_naming_file_line_and_key() {
    let f = Fixture::new("webapp_url: http://localhost:6199\nheadless: on\n");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_amphigory"))
        .args(["daemon", "--headless", "--config"])
        .arg(f.path("daemon.yaml"))
        .arg("--state-dir")
        .arg(f.path("state"))
        .env("HOME", f.path("home"))
        .env_remove("AMPHIGORY_CONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:2:", f.path("daemon.yaml").display())),
        "{stderr}"
    );
    assert!(stderr.contains("key `headless`"), "{stderr}");
}

#[test]
fn doctor_lists_each_problem_with_a_fix_and_exits_1() {
    let f = Fixture::new(
        "webapp_url: http://127.0.0.1:9\nmakemkvcon_path: /nonexistent/makemkvcon\nfavourite: 1\n",
    );
    let doctor = |json: bool| {
        std::process::Command::new(env!("CARGO_BIN_EXE_amphigory"))
            .arg("doctor")
            .args(json.then_some("--json"))
            .arg("--config")
            .arg(f.path("daemon.yaml"))
            .arg("--state-dir")
            .arg(f.path("state"))
            .env("HOME", f.path("home"))
            .env("PATH", f.path("empty-bin"))
            .env_remove("AMPHIGORY_CONFIG")
            .output()
            .unwrap()
    };
    let text = doctor(false);
    eprintln!("{}", String::from_utf8_lossy(&text.stdout));
    assert_eq!(text.status.code(), Some(1));
    let output = doctor(true);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["healthy"], false);
    assert_eq!(report["config"]["webapp_url"]["source"], "daemon.yaml");
    assert_eq!(
        report["config"]["websocket_port"],
        json!({"value": 9847, "source": "default"})
    );
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    let detail = |needle: &str| {
        failed
            .iter()
            .any(|c| c["detail"].as_str().unwrap().contains(needle))
    };
    assert!(detail("favourite (line 3)"), "{failed:#?}");
    assert!(detail("needs config"), "{failed:#?}");
    assert!(detail("unreachable"), "{failed:#?}");
    assert!(
        detail("/nonexistent/makemkvcon does not exist"),
        "{failed:#?}"
    );
    assert!(
        failed.iter().all(|c| c["fix"].is_string()),
        "every problem says what to do: {failed:#?}"
    );
}
