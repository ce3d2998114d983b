//! What the daemon is started with: [`DaemonOptions`] (filled from the configuration by
//! [`super::ApplyConfig`], or directly by tests and the demo) and [`SimOptions`].

use std::path::PathBuf;
use std::time::Duration;

use crate::config::default_daemon_id;
use crate::core::Problem;
use crate::engine::EngineOptions;
use crate::sim::Fault;

/// Simulated drives (`--simulate`).
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// One drive per disc: built-in names or transcript paths.
    pub discs: Vec<String>,
    /// Read rate, MB/s.
    pub rate_mbps: f64,
    /// Fault to inject once.
    pub fault: Option<Fault>,
}

/// Everything the daemon needs to start.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The shared queue directory.
    pub tasks_dir: PathBuf,
    /// The daemon's private state directory.
    pub state_dir: PathBuf,
    /// `$USER@shorthostname` unless configured.
    pub daemon_id: String,
    /// Simulated drives instead of real ones.
    pub simulate: Option<SimOptions>,
    /// makemkvcon to use with real drives.
    pub makemkvcon: Option<PathBuf>,
    /// Stall limit of a rip.
    pub stall_timeout: Duration,
    /// WebSocket server port (0 = any free port); `None` = no server (the demo).
    pub ws_port: Option<u16>,
    /// Heartbeat period of the WebSocket server.
    pub heartbeat_interval: Duration,
    /// Engine tunables.
    pub engine: EngineOptions,
    /// The webapp's URL: its pages may use the WebSocket server (`Origin`).
    pub webapp_url: Option<String>,
    /// The live link to the webapp (SPEC §7.2) and config refetches; `None` = none.
    pub webapp_link: Option<crate::servers::webapp_link::LinkOptions>,
    /// Problems known at start (makemkvcon missing): the status shows them.
    pub problems: Vec<Problem>,
    /// The configuration's problems at start (needs config): the status shows them
    /// until a refetched configuration says otherwise.
    pub config_problems: Vec<Problem>,
    /// The executable that plays the simulated makemkvcon; `None` = this one. An
    /// in-process daemon in an integration test names `CARGO_BIN_EXE_amphigory` here.
    pub sim_executable: Option<PathBuf>,
    /// Control socket path (SPEC §8); `None` = no control socket (the demo).
    pub socket: Option<PathBuf>,
    /// daemon.yaml's `drives:` labels (drive id or device name → label).
    pub drive_labels: std::collections::BTreeMap<String, String>,
    /// How long a claim stays live without renewal ([`crate::queue::LEASE`]); shortened
    /// only by tests (the hidden `--lease-ms`, which also scales the engine's renewal
    /// and expiry periods: see [`DaemonOptions::set_lease`]).
    pub lease: Duration,
    /// Check free space before rips with this margin even on simulated drives (whose
    /// sparse files need none): tests of the free-space rules (hidden option).
    pub sim_free_space_margin: Option<u64>,
    /// Lose this share (%) of file-system events on purpose, as shared mounts do: tests
    /// of the safety rescan (hidden option).
    pub fs_event_loss: u8,
    /// Keep the machine awake while a task runs (SPEC §11.1). Off unless asked for, as
    /// `notifications`: the command line turns daemon.yaml's `keep_awake` (default true)
    /// into this, while in-process daemons (the demo, tests) leave the system bus alone.
    pub keep_awake: bool,
    /// Commands run on events (daemon.yaml `hooks:`).
    pub hooks: crate::hooks::HookOptions,
    /// What to notify the user of (SPEC §11.1). Off unless asked for: the command line
    /// turns daemon.yaml's `notifications:` (default `all`) into this, while in-process
    /// daemons (the demo, tests) stay quiet on the desktop.
    pub notifications: crate::notify::Level,
}

impl DaemonOptions {
    /// Defaults for everything but the two directories.
    pub fn new(tasks_dir: PathBuf, state_dir: PathBuf) -> Self {
        Self {
            tasks_dir,
            state_dir,
            daemon_id: default_daemon_id(),
            simulate: None,
            makemkvcon: None,
            stall_timeout: Duration::from_secs(120),
            ws_port: None,
            heartbeat_interval: Duration::from_secs(10),
            engine: EngineOptions::default(),
            webapp_url: None,
            webapp_link: None,
            problems: Vec::new(),
            config_problems: Vec::new(),
            sim_executable: None,
            socket: None,
            drive_labels: std::collections::BTreeMap::new(),
            lease: crate::queue::LEASE,
            sim_free_space_margin: None,
            fs_event_loss: 0,
            keep_awake: false,
            hooks: crate::hooks::HookOptions::default(),
            notifications: crate::notify::Level::Off,
        }
    }

    /// A lease of `lease` instead of five minutes, renewed every tenth of it and checked
    /// for expiry (other daemons' claims) every fifth.
    pub fn set_lease(&mut self, lease: Duration) {
        let floor = Duration::from_millis(10);
        self.lease = lease.max(floor);
        self.engine.lease_interval = (self.lease / 10).max(floor);
        self.engine.expired_lease_check = (self.lease / 5).max(floor);
    }
}
