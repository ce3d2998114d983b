//! The local control socket (SPEC §8): the CLI, status bars and notification daemons on
//! this machine ask the daemon what it is doing and tell it what to do.
//!
//! Shaped like the WebSocket server: [`bind`] takes the socket path (lock file, stale
//! socket check, 0600 socket in a 0700 directory, pid file) so a second daemon fails
//! before touching anything; [`run`] then serves it with a [`ControlContext`] until the
//! shutdown token fires, and removes the socket and pid file on the way out.
//!
//! - `path`: where the socket is ([`socket_path`]), shared with the CLI.
//! - `bind`: taking, and on drop giving back, the socket path.
//! - `conn`: one connection: bounded newline-delimited JSON requests, one response each;
//!   malformed input is answered `ok:false` and the connection stays usable.
//! - `actions`: what each request does.
//! - `subscribe`: event streams: replay, live events, heartbeats, lag recovery.

mod actions;
pub(crate) mod bind;
pub(crate) mod conn;
pub(crate) mod lines;
pub mod path;
mod subscribe;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

use crate::core::{EventBus, StatusHandle};
use crate::drives::Ejector;
use crate::drives::labels::Labels;
use crate::engine::EngineCommand;
use crate::makemkv::runner::SpaceLedger;
use crate::queue::Queue;
use crate::servers::admission::{Admission, Admit};

pub use bind::{BindError, ControlListener, bind};
pub use path::{SocketPathError, socket_path};

/// At most this many connections may be subscribed at once (SPEC §8).
pub const MAX_SUBSCRIBERS: usize = 32;
/// The shortest request line limit the server accepts (a smaller one is replaced with the
/// default).
pub const MIN_LINE_BYTES: usize = 1024;
/// How long [`run`] waits for connections to end after shutdown.
const DRAIN_DEADLINE: Duration = Duration::from_secs(3);

/// Limits and timings of the server.
#[derive(Debug, Clone)]
pub struct ControlConfig {
    /// Subscribed connections allowed at once; the next one is refused with `ok:false`.
    pub max_subscribers: usize,
    /// Connections served at once; the daemon derives it from the open-file limit (SPEC
    /// §7.1 "Descriptors"). Further ones are answered `ok:false` and closed.
    pub max_connections: usize,
    /// Connections over `max_connections` being answered at once; any more are closed
    /// without an answer.
    pub max_refusing: usize,
    /// Longest request line, in bytes.
    pub max_line_bytes: usize,
    /// Subscribers get a `heartbeat` this often.
    pub heartbeat_interval: Duration,
    /// How long a request waits for the engine's answer.
    pub reply_timeout: Duration,
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            max_subscribers: MAX_SUBSCRIBERS,
            max_connections: 256,
            max_refusing: 8,
            max_line_bytes: 64 * 1024,
            heartbeat_interval: Duration::from_secs(10),
            reply_timeout: Duration::from_secs(5),
        }
    }
}

/// What the server reads and drives: the daemon's handles.
#[derive(Debug, Clone)]
pub struct ControlContext {
    /// Events for subscribers.
    pub bus: EventBus,
    /// The snapshot behind `status`, `drives`, `sync` and heartbeats.
    pub status: StatusHandle,
    /// Commands to the engine (pause, resume, cancel).
    pub commands: mpsc::Sender<EngineCommand>,
    /// The task queue (tasks, enqueue, the `PAUSED` marker).
    pub queue: Arc<Queue>,
    /// Drive labels.
    pub labels: Arc<Labels>,
    /// Ejects discs.
    pub ejector: Arc<Ejector>,
    /// What the running rips hold on their volumes (for what `status` says of space).
    pub space: Arc<SpaceLedger>,
    /// The daemon's root shutdown token: `stop` cancels it.
    pub stop: CancellationToken,
}

/// Serves `listener` until `shutdown` fires, then ends every connection and removes the
/// socket and pid file (returning once connections are gone, or after a short deadline).
/// Never fails: a bad client or a failed `accept` is logged and the server goes on.
pub async fn run(
    listener: ControlListener,
    ctx: ControlContext,
    config: ControlConfig,
    shutdown: CancellationToken,
) {
    let ControlListener { listener, guard } = listener;
    let listener = match tokio::net::UnixListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            warn!("control socket unusable: {e}");
            return;
        }
    };
    let config = sanitised(config);
    let shared = Arc::new(conn::Shared {
        ctx,
        subscribers: Arc::new(Semaphore::new(config.max_subscribers)),
        config,
        shutdown: shutdown.clone(),
    });
    let tracker = TaskTracker::new();
    accept_loop(&listener, &shared, &tracker).await;
    drop(listener);
    tracker.close();
    if tokio::time::timeout(DRAIN_DEADLINE, tracker.wait())
        .await
        .is_err()
    {
        warn!("control connections still open after the shutdown deadline");
    }
    drop(guard);
    tracing::debug!("control socket closed");
}

async fn accept_loop(
    listener: &tokio::net::UnixListener,
    shared: &Arc<conn::Shared>,
    tracker: &TaskTracker,
) {
    let config = &shared.config;
    let admission = Admission::new(
        "control socket",
        config.max_connections,
        config.max_refusing,
    );
    let shutdown = &shared.shutdown;
    while let Some((stream, _)) = admission.next(shutdown, || listener.accept()).await {
        let shared = shared.clone();
        match admission.admit() {
            Admit::Serve(permit) => {
                tracker.spawn(async move {
                    conn::serve(stream, shared).await;
                    drop(permit);
                });
            }
            Admit::Refuse(permit) => {
                tracker.spawn(async move {
                    conn::refuse(stream, shared).await;
                    drop(permit);
                });
            }
            Admit::Close => conn::refuse_at_once(stream, admission.max_clients()),
        }
    }
}

/// Replaces values that cannot work with the defaults, saying so.
fn sanitised(mut config: ControlConfig) -> ControlConfig {
    let defaults = ControlConfig::default();
    if config.heartbeat_interval.is_zero() {
        warn!("control heartbeat_interval is zero; using the default");
        config.heartbeat_interval = defaults.heartbeat_interval;
    }
    if config.max_line_bytes < MIN_LINE_BYTES {
        warn!("control max_line_bytes is too small; using the default");
        config.max_line_bytes = defaults.max_line_bytes;
    }
    config
}
