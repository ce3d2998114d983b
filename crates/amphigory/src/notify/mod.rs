//! Telling the user what happened (SPEC §11.1): [`policy`] owns *what* to say (pure),
//! with the "disc needed" timing rule in `needed`; one small backend per platform *says*
//! it, behind the [`Notifier`] trait:
//!
//! - Linux (`linux`): `org.freedesktop.Notifications.Notify` on the D-Bus session bus
//!   (zbus, which the tray already brings in);
//! - macOS (`macos`): the user-notification API when the daemon runs from
//!   `Amphigory.app`, else `osascript -e 'display notification …'` ([`osascript`]);
//! - elsewhere (`other`): nothing, said once.
//!
//! [`spawn`] wires it up: one task reads the event bus and feeds the decider (and wakes
//! when a "disc needed" falls due), another owns the backend; a bounded channel sits
//! between them, so a slow or hung notification server can never hold up the bus, let
//! alone the engine (a full channel drops the notification, with a log line). A backend
//! that cannot reach anyone (no session bus, no notification server) is logged once as a
//! warning (again only after it worked in between) and is never an error: the daemon
//! rips on.

mod needed;
pub mod policy;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
pub mod macos;
#[cfg_attr(not(target_os = "macos"), allow(dead_code))] // tested everywhere, run on macOS
pub mod osascript;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod other;

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::core::EventBus;
pub use policy::{Decider, Kind, Level, Notification};

/// The application name every notification carries.
pub const APP_NAME: &str = "Amphigory";
/// Notifications waiting for the backend; more than this and new ones are dropped.
const QUEUE: usize = 16;
/// How long one notification may take before the backend gives up on it.
const SEND_LIMIT: Duration = Duration::from_secs(10);

/// Why a notification was not shown.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Nobody to show it: no session bus, no notification server, no app bundle.
    #[error("{0}")]
    Unavailable(String),
    /// The platform refused or failed.
    #[error("{0}")]
    Failed(String),
}

/// Says one notification on one platform.
pub trait Notifier: Send + 'static {
    /// Shows `note`; an error means it was not shown (the caller logs it once).
    fn notify(
        &mut self,
        note: &Notification,
    ) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

/// Starts notifying at `level` on this platform's backend, from every event `bus`
/// publishes from now on (call it before the engine starts), until `shutdown`.
pub fn spawn(level: Level, bus: &EventBus, tasks: &TaskTracker, shutdown: &CancellationToken) {
    if level == Level::Off {
        tracing::debug!("notifications off");
        return;
    }
    spawn_with(platform_backend(), level, bus, tasks, shutdown);
}

/// [`spawn`] with a given backend.
pub fn spawn_with(
    backend: impl Notifier,
    level: Level,
    bus: &EventBus,
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let events = bus.subscribe();
    tasks.spawn(decide_loop(
        Decider::new(level),
        events,
        tx,
        shutdown.child_token(),
    ));
    tasks.spawn(say_loop(backend, rx, shutdown.child_token()));
}

#[cfg(target_os = "linux")]
fn platform_backend() -> impl Notifier {
    linux::DbusNotifier::default()
}

#[cfg(target_os = "macos")]
fn platform_backend() -> impl Notifier {
    macos::MacNotifier::detect()
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn platform_backend() -> impl Notifier {
    other::NoNotifier
}

/// Events in, notifications out to the backend's channel.
async fn decide_loop(
    mut decider: Decider,
    mut events: tokio::sync::broadcast::Receiver<crate::core::DaemonEvent>,
    tx: mpsc::Sender<Notification>,
    shutdown: CancellationToken,
) {
    loop {
        let due = decider.next_due().map(tokio::time::Instant::from_std);
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            () = sleep_until(due) => {
                let notes = decider.due(Instant::now());
                if !hand_over(&tx, notes) {
                    return;
                }
                continue;
            }
            event = events.recv() => event,
        };
        let event = match event {
            Ok(event) => event,
            // Missed events are missed notifications; the next ones still come.
            Err(RecvError::Lagged(missed)) => {
                tracing::debug!("notifications missed {missed} events");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if !hand_over(&tx, decider.on_event(&event, Instant::now())) {
            return;
        }
    }
}

/// Queues `notes` for the backend without waiting: when it is busy they are dropped,
/// with a log line. `false` once the backend is gone.
fn hand_over(tx: &mpsc::Sender<Notification>, notes: Vec<Notification>) -> bool {
    for note in notes {
        match tx.try_send(note) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(note)) => {
                tracing::info!("notification dropped (backend busy): {}", note.summary);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
        }
    }
    true
}

/// Sleeps until `deadline`; forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Hands each notification to the backend; a failure is logged once until one works.
async fn say_loop(
    mut backend: impl Notifier,
    mut rx: mpsc::Receiver<Notification>,
    shutdown: CancellationToken,
) {
    let mut failing = false;
    loop {
        let note = tokio::select! {
            () = shutdown.cancelled() => return,
            note = rx.recv() => match note {
                Some(note) => note,
                None => return,
            },
        };
        // A server that never answers must not hold up shutdown either.
        let result = tokio::select! {
            () = shutdown.cancelled() => return,
            sent = tokio::time::timeout(SEND_LIMIT, backend.notify(&note)) => match sent {
                Ok(result) => result,
                Err(_) => Err(NotifyError::Failed(format!(
                    "no answer within {SEND_LIMIT:?}"
                ))),
            },
        };
        match result {
            Ok(()) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("notifications work again");
                }
                tracing::debug!("notified: {}: {}", note.summary, note.body);
            }
            Err(e) if !failing => {
                failing = true;
                tracing::warn!("cannot notify: {e} (the daemon carries on without notifications)");
            }
            Err(e) => tracing::debug!("cannot notify: {e}"),
        }
    }
}

#[cfg(test)]
mod tests;
