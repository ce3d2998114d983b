//! The control-socket harness: a real daemon (`daemon::start`, in this process) on one
//! simulated `demo-bluray` drive in a temporary directory, serving its control socket,
//! and a raw newline-delimited JSON client over a real Unix socket.
//!
//! The in-process daemon's simulated makemkvcon would be this test binary, so these tests
//! never let it run a task: they pause the queue before enqueueing. Running tasks are
//! exercised against the real binary (`tests/cli_commands.rs`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use amphigory::core::{DaemonEvent, EventBus};
use amphigory::daemon::{self, DaemonHandle, DaemonOptions, SimOptions};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::sync::CancellationToken;

/// How long any single expected line may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// A running in-process daemon.
pub struct Daemon {
    pub dir: TempDir,
    pub socket: PathBuf,
    pub shutdown: CancellationToken,
    pub handle: Option<DaemonHandle>,
}

/// Options for a daemon in `root` serving `socket`: one fast simulated drive, no
/// WebSocket server, heartbeats out of the way (hourly).
pub fn options(root: &Path, socket: &Path) -> DaemonOptions {
    let mut options = DaemonOptions::new(root.join("tasks"), root.join("state"));
    options.daemon_id = "tester@host".into();
    options.simulate = Some(SimOptions {
        discs: vec!["demo-bluray".into()],
        rate_mbps: 20000.0,
        fault: None,
    });
    options.sim_executable = Some(env!("CARGO_BIN_EXE_amphigory").into());
    options.heartbeat_interval = Duration::from_secs(3600);
    options.socket = Some(socket.to_owned());
    options
}

impl Daemon {
    /// Starts a daemon with [`options`] in a fresh directory.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a daemon with [`options`] changed by `change`.
    pub async fn start_with(change: impl FnOnce(&mut DaemonOptions)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("run").join("amphigory").join("daemon.sock");
        let mut options = options(dir.path(), &socket);
        change(&mut options);
        let socket = options.socket.clone().unwrap();
        let shutdown = CancellationToken::new();
        let handle = daemon::start(options, shutdown.clone()).await.unwrap();
        settle(&handle.bus).await;
        crate::support::wait_scanned(&handle.status).await;
        Self {
            dir,
            socket,
            shutdown,
            handle: Some(handle),
        }
    }

    pub fn handle(&self) -> &DaemonHandle {
        self.handle.as_ref().unwrap()
    }

    pub fn bus(&self) -> &EventBus {
        &self.handle().bus
    }

    pub async fn connect(&self) -> Client {
        Client::connect(&self.socket).await
    }

    /// Waits until the daemon has stopped (after `stop` or the token).
    pub async fn wait_stopped(&mut self) {
        let handle = self.handle.take().unwrap();
        tokio::time::timeout(WAIT, handle.wait())
            .await
            .expect("the daemon stops in time");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Waits for the engine's first queue-depth report, its only unprompted event, so tests
/// that count events start from a quiet bus.
async fn settle(bus: &EventBus) {
    let (recent, mut rx) = bus.subscribe_with_replay();
    let is_depth = |e: &DaemonEvent| matches!(e, DaemonEvent::QueueChanged { .. });
    if recent.iter().any(is_depth) {
        return;
    }
    tokio::time::timeout(WAIT, async {
        while !is_depth(&rx.recv().await.unwrap()) {}
    })
    .await
    .expect("the engine reports the queue depth");
}

/// A progress event of task `task` whose `eta_seconds` is `n` (tests count with it).
pub fn progress(task: &str, n: u64) -> DaemonEvent {
    DaemonEvent::TaskProgress {
        task_id: task.into(),
        percent: 50,
        eta_seconds: Some(n),
        current_size_bytes: Some(n * 1000),
        speed: Some("42.0 MB/s".into()),
    }
}

/// A raw client: lines out, JSON lines in.
pub struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Client {
    pub async fn connect(path: &Path) -> Self {
        let stream = UnixStream::connect(path).await.unwrap();
        let (read, writer) = stream.into_split();
        Self {
            reader: BufReader::new(read),
            writer,
        }
    }

    /// Sends `bytes` and a newline.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
        self.writer.write_all(b"\n").await.unwrap();
    }

    /// The next line as JSON.
    pub async fn next(&mut self) -> Value {
        let line = self.next_line().await.expect("a line, not the end");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// The next line; `None` once the daemon closed the connection.
    pub async fn next_line(&mut self) -> Option<String> {
        let mut line = String::new();
        let read = tokio::time::timeout(WAIT, self.reader.read_line(&mut line))
            .await
            .expect("a line in time")
            .unwrap();
        (read > 0).then(|| line.trim_end().to_owned())
    }

    /// Sends a request, returns the response.
    pub async fn request(&mut self, request: Value) -> Value {
        self.send_raw(request.to_string().as_bytes()).await;
        self.next().await
    }

    /// `request` that must succeed.
    pub async fn ok(&mut self, request: Value) -> Value {
        let response = self.request(request.clone()).await;
        assert_eq!(response["ok"], true, "{request} → {response}");
        response
    }

    /// `request` that must fail; returns the error text.
    pub async fn refused(&mut self, request: Value) -> String {
        let response = self.request(request.clone()).await;
        assert_eq!(response["ok"], false, "{request} → {response}");
        response["error"].as_str().unwrap().to_owned()
    }

    /// Subscribes; returns the `ok` response.
    pub async fn subscribe(&mut self, args: Value) -> Value {
        self.ok(json!({"action": "subscribe", "args": args})).await
    }

    /// The next envelope whose data has this `type`, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let envelope = self.next().await;
            if envelope["data"]["type"] == kind {
                return envelope;
            }
        }
    }

    /// The connection still answers requests.
    pub async fn assert_usable(&mut self) {
        let version = self.ok(json!({"action": "version"})).await;
        assert_eq!(version["protocol"], 1);
    }
}
