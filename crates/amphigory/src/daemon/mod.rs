//! Putting the daemon together: open the queue, recover from a crash, set up the drives
//! (real or simulated) and the runner, start the engine, and hand back a handle. `run`
//! takes its shutdown signal as an argument so tests and the demo pass their own.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::core::{EventBus, Problem, ProblemKind, StatusHandle, StatusSnapshot};
use crate::drives::labels::Labels;
use crate::drives::simulated::SimMonitor;
use crate::drives::{DiscEvent, DriveMonitor, Ejector};
use crate::engine::{Engine, EngineHandle, EngineParts};
use crate::history::History;
use crate::makemkv::runner::{MakemkvconCommand, Runner, RunnerConfig, SpaceLedger};
use crate::queue::{Queue, QueueWatcher, RecoveryReport};
use crate::servers::control::{self, ControlConfig, ControlContext, ControlListener};
use crate::servers::ws::{self, WsContext, WsServerConfig};
use crate::sim::SimRig;

mod configure;
mod descriptors;
mod options;
mod orphans;

pub use crate::config::{default_daemon_id, default_state_dir};
// Where tests and older callers found it; drive ids are the drives' business now.
pub use crate::drives::drive_id;
pub use configure::ApplyConfig;
pub use options::{DaemonOptions, SimOptions};

use descriptors::FdBudget;

/// Detection reports waiting for the engine; a burst (many drives at start-up) fits.
const DETECTION_QUEUE: usize = 64;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The queue directory is unusable.
    #[error("task queue at {path}: {source}")]
    Queue {
        /// The directory.
        path: PathBuf,
        /// What failed.
        source: crate::queue::QueueError,
    },
    /// The state directory is unusable.
    #[error("state directory {path}: {source}")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The simulated drives could not be set up.
    #[error("simulated drives: {0}")]
    Sim(String),
    /// A listener could not be opened.
    #[error("{0}")]
    Listen(String),
    /// The control socket could not be taken (another daemon owns it: exit 3).
    #[error("control socket: {0}")]
    Control(#[from] control::BindError),
}

/// A running daemon.
pub struct DaemonHandle {
    /// Its event bus.
    pub bus: EventBus,
    /// Its status snapshot (the engine publishes it; read it here).
    pub status: StatusHandle,
    /// Its engine: pause, resume, cancel, eject, labels, enqueue, status.
    pub engine: EngineHandle,
    /// Its queue.
    pub queue: Arc<Queue>,
    /// Addresses of the WebSocket server, when one runs.
    pub ws_addrs: Vec<std::net::SocketAddr>,
    /// Path of the control socket, when one is served.
    pub control_socket: Option<PathBuf>,
    tasks: TaskTracker,
    _watcher: Option<QueueWatcher>,
    /// The simulated drives, kept alive (and ejected from) for the daemon's life.
    sim: Option<Arc<SimRig>>,
}

impl DaemonHandle {
    /// The simulated drives, when the daemon runs on them (tests insert and eject discs
    /// and count simulated makemkvcon runs through it).
    pub fn sim(&self) -> Option<&Arc<SimRig>> {
        self.sim.as_ref()
    }
}

impl DaemonHandle {
    /// Waits until every component has stopped (after the shutdown token fired) and the
    /// engine has drained its running tasks.
    pub async fn wait(self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// Starts the daemon; it runs until `shutdown` is cancelled.
pub async fn start(
    options: DaemonOptions,
    shutdown: CancellationToken,
) -> Result<DaemonHandle, DaemonError> {
    // Before anything with side effects: a second daemon stops here (exit 3).
    let control = bind_control(&options)?;
    let budget = descriptors::raise_and_budget();
    create_private_dir(&options.state_dir)?;
    let (queue, mut recovery) = open_queue(&options)?;
    let (sim, command, monitor) = drives_and_command(&options)?;
    let runner = Arc::new(Runner::new(
        command,
        runner_config(&options, sim.as_deref()),
    ));
    let bus = EventBus::new();
    publish_recovered(&bus, &recovery);
    let status = StatusHandle::new(initial_status(&options));
    let labels =
        Arc::new(Labels::load(&options.state_dir).with_configured(options.drive_labels.clone()));
    let tasks = TaskTracker::new();
    let wake = Arc::new(Notify::new());
    let watcher = watch_queue(&queue, &wake, options.fs_event_loss);
    tracing::info!("task queue at {}", options.tasks_dir.display());
    let ejector = ejector_of(monitor.as_deref());
    let (detection, detection_problem) = start_detection(monitor, &shutdown);
    let space = runner.space().clone();
    let mut problems = options.problems.clone();
    problems.extend(detection_problem);
    let (engine, engine_handle) = Engine::new(EngineParts {
        queue: queue.clone(),
        runner,
        bus: bus.clone(),
        status: status.clone(),
        options: options.engine.clone(),
        history: Some(Arc::new(History::new(&options.state_dir))),
        wake,
        daemon_id: options.daemon_id.clone(),
        labels,
        ejector,
        detection,
        pending: std::mem::take(&mut recovery.pending),
        problems,
        config_problems: options.config_problems.clone(),
    });
    let config_changed = Arc::new(Notify::new());
    let ws_ctx = WsContext {
        bus: bus.clone(),
        status: status.clone(),
        config_changed: config_changed.clone(),
    };
    let ws_addrs = start_ws_server(&options, &budget, ws_ctx, &tasks, &shutdown).await?;
    if let Some(link) = options.webapp_link.clone() {
        let ctx = crate::servers::webapp_link::LinkContext {
            bus: bus.clone(),
            engine: engine_handle.clone(),
            config_changed,
        };
        crate::servers::webapp_link::spawn(link, ctx, &tasks, &shutdown);
    }
    // These subscribe before the engine starts, so they miss none of its events.
    crate::awake::spawn(options.keep_awake, &engine_handle, &tasks, &shutdown);
    crate::hooks::spawn(options.hooks.clone(), &bus, &status, &tasks, &shutdown);
    crate::notify::spawn(options.notifications, &bus, &tasks, &shutdown);
    tasks.spawn(engine.run(shutdown.clone()));
    let mut handle = DaemonHandle {
        bus,
        status,
        engine: engine_handle,
        queue,
        ws_addrs,
        control_socket: None,
        tasks,
        _watcher: watcher,
        sim,
    };
    if let Some(listener) = control {
        let served = ControlParts { budget, space };
        handle.control_socket = Some(serve_control(
            listener, &handle, served, &options, &shutdown,
        ));
    }
    Ok(handle)
}

/// File-system wake-ups for the engine; without them (no inotify instance left, a mount
/// that reports nothing) the rescans still find every task.
fn watch_queue(queue: &Queue, wake: &Arc<Notify>, loss_percent: u8) -> Option<QueueWatcher> {
    queue
        .watch_lossy(wake.clone(), loss_percent)
        .inspect_err(|e| {
            tracing::warn!(
                "file-system notifications unavailable ({e}); relying on the 5 s rescan"
            );
        })
        .ok()
}

/// Starts disc detection; its reports go to the engine. A monitor that cannot start is a
/// problem the status shows (no drive will be used), not a reason to stop.
fn start_detection(
    monitor: Option<Box<dyn DriveMonitor>>,
    shutdown: &CancellationToken,
) -> (Option<mpsc::Receiver<DiscEvent>>, Option<Problem>) {
    let Some(monitor) = monitor else {
        return (None, None);
    };
    let (tx, rx) = mpsc::channel(DETECTION_QUEUE);
    match monitor.start(tx, shutdown.child_token()) {
        Ok(()) => (Some(rx), None),
        Err(e) => {
            tracing::error!("{e}; no drive will be used");
            let problem = format!("{e}: no drive will be used");
            (None, Some(Problem::new(ProblemKind::NoDetection, problem)))
        }
    }
}

/// Ejects the discs of the drives `monitor` reports (the platform's command without one).
fn ejector_of(monitor: Option<&dyn DriveMonitor>) -> Arc<Ejector> {
    Arc::new(monitor.map_or_else(Ejector::platform, DriveMonitor::ejector))
}

/// What the control socket serves besides the daemon handle.
struct ControlParts {
    budget: FdBudget,
    space: Arc<SpaceLedger>,
}

/// Takes the control socket (when one is configured), logging where it is.
fn bind_control(options: &DaemonOptions) -> Result<Option<ControlListener>, DaemonError> {
    let Some(path) = &options.socket else {
        return Ok(None);
    };
    let listener = control::bind(path)?;
    tracing::info!("control socket at {}", listener.path().display());
    Ok(Some(listener))
}

/// Serves the control socket over the daemon's handles; `stop` cancels `shutdown`.
fn serve_control(
    listener: ControlListener,
    daemon: &DaemonHandle,
    parts: ControlParts,
    options: &DaemonOptions,
    shutdown: &CancellationToken,
) -> PathBuf {
    let path = listener.path().to_owned();
    let ctx = ControlContext {
        bus: daemon.bus.clone(),
        status: daemon.status.clone(),
        engine: daemon.engine.clone(),
        queue: daemon.queue.clone(),
        space: parts.space,
        stop: shutdown.clone(),
    };
    let config = ControlConfig {
        heartbeat_interval: options.heartbeat_interval,
        max_connections: parts.budget.control.clients,
        max_refusing: parts.budget.control.refusing,
        ..ControlConfig::default()
    };
    let server = control::run(listener, ctx, config, shutdown.child_token());
    daemon.tasks.spawn(server);
    path
}

/// Opens the queue and recovers from whatever a previous life left behind, stopping any
/// makemkvcon it orphaned before a drive is used again.
fn open_queue(options: &DaemonOptions) -> Result<(Arc<Queue>, RecoveryReport), DaemonError> {
    let queue_err = |source| DaemonError::Queue {
        path: options.tasks_dir.clone(),
        source,
    };
    let queue = Queue::open(&options.tasks_dir, &options.state_dir, &options.daemon_id)
        .map_err(queue_err)?
        .with_lease(options.lease);
    let report = queue.recover().map_err(queue_err)?;
    report.log();
    orphans::stop(&report.orphan_children);
    Ok((Arc::new(queue), report))
}

/// Tasks recovery failed (`RETRIES_EXHAUSTED`) are news for everyone listening.
fn publish_recovered(bus: &EventBus, report: &RecoveryReport) {
    report
        .failed
        .iter()
        .for_each(|f| bus.publish(crate::engine::rejected_event(f)));
}

/// Binds and serves the WebSocket server (when a port is configured) within its share of
/// the descriptors; returns the addresses it listens on.
async fn start_ws_server(
    options: &DaemonOptions,
    budget: &FdBudget,
    ctx: WsContext,
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
) -> Result<Vec<std::net::SocketAddr>, DaemonError> {
    let Some(port) = options.ws_port else {
        return Ok(Vec::new());
    };
    let config = WsServerConfig {
        port,
        heartbeat_interval: options.heartbeat_interval,
        webapp_origin: options.webapp_url.clone(),
        max_clients: budget.ws.clients,
        max_refusing: budget.ws.refusing,
        ..WsServerConfig::default()
    };
    let listeners = ws::bind(config)
        .await
        .map_err(|e| DaemonError::Listen(e.to_string()))?;
    let addrs = listeners.local_addrs();
    for addr in &addrs {
        tracing::info!("websocket listening on {addr}");
    }
    tasks.spawn(ws::run(listeners, ctx, shutdown.child_token()));
    Ok(addrs)
}

/// Runs the daemon until `shutdown` is cancelled.
pub async fn run(options: DaemonOptions, shutdown: CancellationToken) -> Result<(), DaemonError> {
    let handle = start(options, shutdown).await?;
    handle.wait().await;
    tracing::info!("daemon stopped");
    Ok(())
}

fn runner_config(options: &DaemonOptions, sim: Option<&SimRig>) -> RunnerConfig {
    let config = RunnerConfig {
        stall_timeout: options.stall_timeout,
        ..RunnerConfig::default()
    };
    // Simulated rips write sparse files: the free-space check would demand real space.
    match (sim, options.sim_free_space_margin) {
        (Some(_), Some(margin)) => RunnerConfig {
            free_space_margin: Some(margin),
            ..config
        },
        (Some(rig), None) => rig.runner_config(config),
        (None, _) => config,
    }
}

/// Simulated drives (with their own detection and the simulated makemkvcon), or the real
/// makemkvcon with the platform's detection. Without a makemkvcon (SPEC §3: not found) no
/// drive is used, so tasks stay queued; the reason is in `options.problems`.
fn drives_and_command(options: &DaemonOptions) -> Result<DrivesSetup, DaemonError> {
    if let Some(sim) = &options.simulate {
        let mut rig = SimRig::create_temp(&sim.discs, sim.rate_mbps, sim.fault)
            .map_err(|e| DaemonError::Sim(e.to_string()))?;
        if let Some(executable) = &options.sim_executable {
            rig = rig.with_executable(executable);
        }
        let command = rig.command();
        let rig = Arc::new(rig);
        let monitor: Box<dyn DriveMonitor> = Box::new(SimMonitor::new(rig.clone()));
        return Ok((Some(rig), command, Some(monitor)));
    }
    let Some(program) = options.makemkvcon.clone() else {
        return Ok((None, MakemkvconCommand::new("makemkvcon"), None));
    };
    Ok((
        None,
        MakemkvconCommand::new(program),
        crate::drives::platform_monitor(),
    ))
}

/// The simulated drives (if any), the makemkvcon to run, and the disc detection.
type DrivesSetup = (
    Option<Arc<SimRig>>,
    MakemkvconCommand,
    Option<Box<dyn DriveMonitor>>,
);

fn initial_status(options: &DaemonOptions) -> StatusSnapshot {
    StatusSnapshot {
        daemon_id: options.daemon_id.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..StatusSnapshot::default()
    }
}

/// Creates a directory only this user can enter.
fn create_private_dir(path: &Path) -> Result<(), DaemonError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| DaemonError::StateDir {
            path: path.to_owned(),
            source,
        })
}
