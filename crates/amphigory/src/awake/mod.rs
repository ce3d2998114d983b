//! Keeping the machine awake while a task runs (SPEC §11.1): a logind inhibitor on Linux
//! (`linux.rs`), an IOKit power assertion on macOS (`macos.rs`, its FFI), nothing
//! elsewhere ([`NoInhibitor`]), each behind the small [`Inhibitor`] trait.
//!
//! One task owns the inhibitor. It watches the status snapshot's running tasks (set
//! before any event about them is published, so it never lags behind the bus), takes
//! the inhibitor when the first task starts and lets go as soon as the last one ends, and
//! on shutdown. Taking it is a D-Bus round trip at most, done here, never on the engine's
//! path; a machine without a system bus or logind is logged once and rips on regardless.

use std::future::Future;
use std::time::Duration;

use amphigory_wire::control::KeepAwakeStatus;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use tokio::sync::watch;

use crate::core::StatusSnapshot;
use crate::engine::{EngineHandle, Report};

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;

/// How long taking the inhibitor may take before it counts as failed (a hung bus must not
/// keep the task from releasing when the rips end).
const HOLD_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the machine cannot be kept awake; never more than a logged warning.
#[derive(Debug, thiserror::Error)]
pub enum AwakeError {
    /// No system bus to talk to.
    #[error("no D-Bus system bus: {0}")]
    NoBus(String),
    /// logind is missing or said no.
    #[error("logind Inhibit failed: {0}")]
    Refused(String),
    /// IOKit refused the power assertion.
    #[error("IOPMAssertionCreateWithName returned {0:#x}")]
    IoKit(i32),
    /// Taking it took longer than [`HOLD_TIMEOUT`].
    #[error("no answer within {HOLD_TIMEOUT:?}")]
    Timeout,
}

/// One platform's way of keeping the machine awake.
pub trait Inhibitor: Send + 'static {
    /// Its name in `amphigory status` (`logind`, `iokit`).
    fn backend(&self) -> &'static str;
    /// Takes it; `reason` is what the system shows (`Ripping 2 task(s)`).
    fn hold(&mut self, reason: &str) -> impl Future<Output = Result<(), AwakeError>> + Send;
    /// Lets go; nothing happens when nothing is held.
    fn release(&mut self);
}

/// Where nothing is known that keeps a machine awake: holding always fails.
#[derive(Debug, Default)]
pub struct NoInhibitor;

impl Inhibitor for NoInhibitor {
    fn backend(&self) -> &'static str {
        "none"
    }

    async fn hold(&mut self, _reason: &str) -> Result<(), AwakeError> {
        Err(AwakeError::Refused("not supported on this platform".into()))
    }

    fn release(&mut self) {}
}

/// This platform's inhibitor.
#[cfg(target_os = "linux")]
fn platform() -> linux::Logind {
    linux::Logind::default()
}

/// This platform's inhibitor.
#[cfg(target_os = "macos")]
fn platform() -> macos::PowerAssertion {
    macos::PowerAssertion::default()
}

/// This platform's inhibitor.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn platform() -> NoInhibitor {
    NoInhibitor
}

/// What the keep-awake task watches (the running tasks) and tells (whether the machine
/// is kept awake): the engine, or in tests a status handle standing in for it.
pub trait AwakeLink: Clone + Send + Sync + 'static {
    /// The status, to see tasks start and end.
    fn watch(&self) -> watch::Receiver<StatusSnapshot>;
    /// Shows `state` in the status.
    fn show(&self, state: KeepAwakeStatus) -> impl Future<Output = ()> + Send;
}

impl AwakeLink for EngineHandle {
    fn watch(&self) -> watch::Receiver<StatusSnapshot> {
        EngineHandle::watch(self)
    }

    async fn show(&self, state: KeepAwakeStatus) {
        self.report(Report::KeepAwake(state)).await;
    }
}

/// Starts keeping the machine awake while tasks run (when `enabled`), on the daemon's
/// tracker: it ends, releasing what it holds, when `shutdown` fires.
pub fn spawn(
    enabled: bool,
    status: &EngineHandle,
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
) {
    let inhibitor = platform();
    if !enabled {
        tracing::info!("keep_awake is off: the machine may sleep during rips");
        let state = KeepAwakeStatus {
            enabled: false,
            backend: inhibitor.backend().to_owned(),
            ..KeepAwakeStatus::default()
        };
        let status = status.clone();
        tasks.spawn(async move { status.show(state).await });
        return;
    }
    tasks.spawn(run(inhibitor, status.clone(), shutdown.child_token()));
}

/// Holds `inhibitor` while the snapshot shows a running task, until `shutdown`.
pub async fn run<I: Inhibitor, L: AwakeLink>(
    mut inhibitor: I,
    status: L,
    shutdown: CancellationToken,
) {
    let mut rx = status.watch();
    let mut shown = Shown::new(status, inhibitor.backend()).await;
    let mut held = false;
    // One attempt per busy period: a refusal is not retried until the queue idles.
    let mut tried = false;
    let mut warned = false;
    loop {
        let running = rx.borrow_and_update().running.len();
        if running == 0 {
            tried = false;
            if held {
                inhibitor.release();
                held = false;
                tracing::info!("no task runs: the machine may sleep again");
            }
            shown.set(false, None).await;
        } else if !held && !tried {
            tried = true;
            let reason = format!("Ripping {running} task(s)");
            let attempt = tokio::select! {
                result = tokio::time::timeout(HOLD_TIMEOUT, inhibitor.hold(&reason)) => {
                    result.unwrap_or(Err(AwakeError::Timeout))
                }
                () = shutdown.cancelled() => break,
            };
            held = attempt.is_ok();
            let problem = attempt.err().map(|e| e.to_string());
            match &problem {
                None => tracing::info!("keeping the machine awake ({reason})"),
                Some(e) if !warned => {
                    warned = true;
                    tracing::warn!("cannot keep the machine awake: {e}; rips go on regardless");
                }
                Some(e) => tracing::debug!("cannot keep the machine awake: {e}"),
            }
            shown.set(held, problem).await;
            // Tasks may have ended while it was being taken: look again at once.
            continue;
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { break },
            () = shutdown.cancelled() => break,
        }
    }
    inhibitor.release();
    shown.set(false, None).await;
}

/// The state as the snapshot shows it; written only when it changes (every write wakes
/// the snapshot's watchers, the keep-awake task among them).
struct Shown<L> {
    status: L,
    last: KeepAwakeStatus,
}

impl<L: AwakeLink> Shown<L> {
    async fn new(status: L, backend: &str) -> Self {
        let last = KeepAwakeStatus {
            enabled: true,
            held: false,
            backend: backend.to_owned(),
            problem: None,
        };
        status.show(last.clone()).await;
        Self { status, last }
    }

    async fn set(&mut self, held: bool, problem: Option<String>) {
        if self.last.held == held && self.last.problem == problem {
            return;
        }
        self.last.held = held;
        self.last.problem = problem;
        self.status.show(self.last.clone()).await;
    }
}

#[cfg(test)]
mod tests;
