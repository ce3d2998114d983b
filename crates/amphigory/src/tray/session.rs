//! Between the daemon and the main thread. The daemon runs on the runtime's worker
//! threads and holds a [`TrayLink`]: it pushes state through a `Send` [`TrayHandle`] and
//! receives clicks as [`TrayAction`]s. The main thread runs the platform's loop over the
//! other ends of those two channels ([`MainSide`]). Nothing else is shared.
//!
//! The tray appears once the daemon has started (so a daemon that cannot start never
//! shows an icon, and logging is set up before the tray says anything) and goes when
//! the daemon's future ends, however it ends. Restart is a graceful shutdown, then an
//! `exec` of the same binary with the same arguments, once everything has stopped.

use std::ffi::OsString;
use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::platform::{MainSide, Platform, TrayState, Waker};
use super::{LinkState, TrayAction, TrayConfig, TrayMenu, clicks};
use crate::config::EffectiveConfig;
use crate::core::StatusSnapshot;
use crate::daemon::{DaemonError, DaemonOptions};

/// How long stray tasks may run once the daemon's future has ended.
const RUNTIME_SHUTDOWN: Duration = Duration::from_secs(5);

/// The daemon's cheap, cloneable, `Send` handle on the tray.
#[derive(Clone)]
pub struct TrayHandle {
    state: Arc<watch::Sender<TrayState>>,
    waker: Option<Waker>,
}

impl std::fmt::Debug for TrayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrayHandle").finish_non_exhaustive()
    }
}

impl TrayHandle {
    /// A handle whose other end is `receiver` (`waker` called after each change).
    pub(super) fn new(waker: Option<Waker>) -> (Self, watch::Receiver<TrayState>) {
        let (tx, rx) = watch::channel(TrayState::default());
        let handle = Self {
            state: Arc::new(tx),
            waker,
        };
        (handle, rx)
    }

    /// Shows this snapshot.
    pub fn update(&self, status: StatusSnapshot) {
        self.modify(|s| {
            let changed = s.status != status;
            s.status = status;
            changed
        });
    }

    /// Uses these URLs and link state.
    pub fn set_config(&self, config: TrayConfig) {
        self.modify(|s| {
            let changed = s.config != config;
            s.config = config;
            changed
        });
    }

    /// The webapp link went up or down.
    pub fn set_link(&self, link: LinkState) {
        self.modify(|s| {
            let changed = s.config.webapp_link != link;
            s.config.webapp_link = link;
            changed
        });
    }

    /// The URLs and link state in use.
    pub fn config(&self) -> TrayConfig {
        self.state.borrow().config.clone()
    }

    /// The menu as the tray shows it now.
    pub fn menu(&self) -> TrayMenu {
        self.state.borrow().menu()
    }

    /// Shows the icon, with this state.
    fn start(&self, status: StatusSnapshot, config: TrayConfig) {
        self.modify(|s| {
            s.status = status;
            s.config = config;
            s.started = true;
            true
        });
    }

    /// Takes the icon down and ends the main thread's loop.
    fn close(&self) {
        self.modify(|s| !std::mem::replace(&mut s.closed, true));
    }

    fn modify(&self, change: impl FnOnce(&mut TrayState) -> bool) {
        if self.state.send_if_modified(change) {
            if let Some(wake) = &self.waker {
                wake();
            }
        }
    }
}

/// Closes the tray when the daemon's future ends, returns or unwinds.
struct CloseOnDrop(TrayHandle);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The daemon's end of the tray: the handle to push state through, the clicks to act on.
#[derive(Debug)]
pub struct TrayLink {
    handle: TrayHandle,
    actions: mpsc::UnboundedReceiver<TrayAction>,
    restart: Arc<AtomicBool>,
}

impl TrayLink {
    /// The handle the daemon pushes state through.
    pub fn handle(&self) -> TrayHandle {
        self.handle.clone()
    }

    /// Starts the daemon, shows it in the tray (status snapshots, refetched URLs) and
    /// acts on clicks, until `shutdown`; then waits for the daemon to stop.
    pub async fn run_daemon(
        self,
        options: DaemonOptions,
        config: TrayConfig,
        shutdown: CancellationToken,
    ) -> Result<(), DaemonError> {
        let refresher = options
            .webapp_link
            .as_ref()
            .and_then(|link| link.refresher.clone());
        let daemon = crate::daemon::start(options, shutdown.clone()).await?;
        let Self {
            handle,
            actions,
            restart,
        } = self;
        handle.start(daemon.status.get(), config);
        let tasks = TaskTracker::new();
        tasks.spawn(follow_status(
            daemon.status.watch(),
            handle.clone(),
            shutdown.clone(),
        ));
        if let Some(refresher) = refresher {
            let configs = refresher.subscribe();
            tasks.spawn(follow_config(configs, handle.clone(), shutdown.clone()));
        }
        let ctx = clicks::ActionContext {
            engine: daemon.engine.clone(),
            handle,
            restart,
            shutdown,
        };
        tasks.spawn(clicks::run(actions, ctx));
        daemon.wait().await;
        tasks.close();
        tasks.wait().await;
        tracing::info!("daemon stopped");
        Ok(())
    }
}

/// Every status change goes to the tray (the watch channel keeps only the newest, so a
/// slow tray skips intermediate snapshots instead of queueing them).
async fn follow_status(
    mut status: watch::Receiver<StatusSnapshot>,
    handle: TrayHandle,
    shutdown: CancellationToken,
) {
    loop {
        let snapshot = status.borrow_and_update().clone();
        handle.set_link(match snapshot.webapp_link {
            None => LinkState::Unknown,
            Some(true) => LinkState::Connected,
            Some(false) => LinkState::Down,
        });
        handle.update(snapshot);
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = status.changed() => if changed.is_err() { return },
        }
    }
}

/// A refetched webapp configuration may bring another `wiki_url` or `webapp_url`.
async fn follow_config(
    mut configs: watch::Receiver<Arc<EffectiveConfig>>,
    handle: TrayHandle,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = configs.changed() => if changed.is_err() { return },
        }
        let effective = configs.borrow_and_update().clone();
        let mut config = handle.config();
        config.webapp_url = effective.webapp_url.value.clone();
        config.wiki_url = effective.wiki_url.value.clone();
        handle.set_config(config);
    }
}

#[cfg(target_os = "linux")]
type Current = super::linux::Linux;
#[cfg(target_os = "macos")]
type Current = super::macos::MacOs;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
type Current = super::other::Headless;

/// Runs `daemon` on the runtime's worker threads and the tray on this thread, which
/// must be the main thread (macOS draws menus nowhere else), until the daemon's future
/// ends; then restarts the process if the menu asked for it. Returns the exit code.
pub fn run<F, Fut>(runtime: Runtime, daemon: F) -> ExitCode
where
    F: FnOnce(TrayLink) -> Fut,
    Fut: Future<Output = ExitCode> + Send + 'static,
{
    let (handle, state) = TrayHandle::new(Current::waker());
    let (action_tx, action_rx) = mpsc::unbounded_channel();
    let restart = Arc::new(AtomicBool::new(false));
    let link = TrayLink {
        handle: handle.clone(),
        actions: action_rx,
        restart: restart.clone(),
    };
    let closer = CloseOnDrop(handle);
    let future = daemon(link);
    let task = runtime.spawn(async move {
        let _closer = closer;
        future.await
    });
    let main = MainSide {
        state,
        actions: action_tx,
    };
    let code = Current::run(&runtime, main, task);
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    if restart.load(Ordering::SeqCst) {
        return exec_self();
    }
    code
}

/// Replaces this process with a new run of the same binary and arguments; returns only
/// when that fails.
fn exec_self() -> ExitCode {
    use std::os::unix::process::CommandExt;
    let args: Vec<OsString> = std::env::args_os().collect();
    let program = restart_program(args.first());
    tracing::info!("restarting: {}", program.to_string_lossy());
    let error = std::process::Command::new(&program)
        .args(args.iter().skip(1))
        .exec();
    tracing::error!("cannot restart {}: {error}", program.to_string_lossy());
    eprintln!(
        "amphigory daemon: cannot restart {}: {error}",
        program.to_string_lossy()
    );
    ExitCode::FAILURE
}

/// This executable, unless it is gone (replaced by an upgrade: Linux then reports
/// `… (deleted)`), in which case `argv[0]` finds the new one.
fn restart_program(argv0: Option<&OsString>) -> OsString {
    match (std::env::current_exe(), argv0) {
        (Ok(exe), _) if exe.is_file() => exe.into_os_string(),
        (_, Some(argv0)) => argv0.clone(),
        (Ok(exe), None) => exe.into_os_string(),
        (Err(_), None) => OsString::from("amphigory"),
    }
}
