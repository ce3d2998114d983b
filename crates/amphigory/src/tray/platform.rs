//! What the session and the per-OS backends share: the state the main thread shows, its
//! ends of the channels, and the [`Platform`] trait each backend implements. Here, apart
//! from `session`, so the backends never import the session that selects them.

use std::process::ExitCode;
use std::sync::Arc;

use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{TrayAction, TrayConfig, TrayMenu};
use crate::core::StatusSnapshot;

/// What the main thread shows, sent whole.
#[derive(Debug, Clone, Default)]
pub(super) struct TrayState {
    /// The daemon's status.
    pub status: StatusSnapshot,
    /// URLs and the link.
    pub config: TrayConfig,
    /// The daemon has started: show the icon.
    pub started: bool,
    /// The daemon has ended: take the icon down and return.
    pub closed: bool,
}

impl TrayState {
    /// The menu for this state.
    pub fn menu(&self) -> TrayMenu {
        TrayMenu::new(&self.status, &self.config)
    }
}

/// Wakes the main thread's loop after a change (macOS); the Linux loop awaits the
/// channel instead.
pub(super) type Waker = Arc<dyn Fn() + Send + Sync>;

/// The main thread's ends of the channels.
pub(super) struct MainSide {
    /// What to show.
    pub state: watch::Receiver<TrayState>,
    /// Where clicks go.
    pub actions: mpsc::UnboundedSender<TrayAction>,
}

/// What each OS provides: a loop on the main thread that shows the state and reports
/// clicks, until the daemon's task ends.
pub(super) trait Platform {
    /// Called after every change, from any thread; `None` if the loop awaits the
    /// channel itself.
    fn waker() -> Option<Waker>;

    /// Runs the tray on this (the main) thread until `daemon` ends; its exit code.
    fn run(runtime: &Runtime, main: MainSide, daemon: JoinHandle<ExitCode>) -> ExitCode;
}

/// Waits for the daemon's task on this thread.
#[cfg(not(target_os = "linux"))]
pub(super) fn join(runtime: &Runtime, daemon: JoinHandle<ExitCode>) -> ExitCode {
    runtime.block_on(daemon).unwrap_or_else(|e| {
        tracing::error!("the daemon's task failed: {e}");
        ExitCode::FAILURE
    })
}
