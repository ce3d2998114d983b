//! The daemon's WebSocket server (SPEC §7.1, the seed protocol): browsers and local tools
//! get the full picture (`sync`) the moment they connect, then `progress`, `status`,
//! `disc`, `daemon` and `heartbeat` messages; they may send `config_updated`,
//! `webapp_config_changed` and the `request` methods of §7.2.
//!
//! Shaped like mini-redis: [`bind`] the loopback listeners (so the daemon can log the
//! port and tests can use port 0), then [`run`] them with a [`WsContext`] until the
//! shutdown token fires.
//!
//! Safety and speed, in one place each:
//! - loopback only (`127.0.0.1` and `::1`); a foreign `Origin` gets HTTP 403 (`origin`);
//! - one hub task listens to the bus and serialises each message once; every client has a
//!   bounded queue and a slow one is skipped, resynchronised, then dropped (`hub`);
//! - frames and messages are size-limited, writes time out, silent peers are pinged and
//!   dropped, and shutdown sends close frames (`peer`).

mod hub;
mod origin;
mod peer;

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::core::{EventBus, StatusHandle};
use crate::servers::admission::{Admission, Admit};

use origin::OriginPolicy;

/// The default `websocket_port` (SPEC §3).
pub const DEFAULT_PORT: u16 = 9847;
/// How long [`run`] waits for connections to close after shutdown.
const DRAIN_DEADLINE: Duration = Duration::from_secs(3);

/// How the server listens and how much it lets each client cost.
#[derive(Debug, Clone)]
pub struct WsServerConfig {
    /// Port on `127.0.0.1` and `::1`; 0 picks any free port (see [`WsListeners::port`]).
    pub port: u16,
    /// The webapp's URL or origin (e.g. `http://nas.lan:6199`), whose pages may connect
    /// besides localhost ones.
    pub webapp_origin: Option<String>,
    /// Every client gets a `heartbeat` this often (SPEC's `heartbeat_interval`).
    pub heartbeat_interval: Duration,
    /// A ping goes out this often; a peer silent for a whole interval after it is dropped.
    pub ping_interval: Duration,
    /// Largest inbound frame or message, in bytes; bigger ones close the connection.
    pub max_message_bytes: usize,
    /// Messages queued per client before it starts missing them.
    pub client_queue_len: usize,
    /// A client missing more messages than this in a row is dropped.
    pub max_skipped: u32,
    /// A write (one batch of messages) that takes longer drops the client.
    pub write_timeout: Duration,
    /// A handshake that takes longer is abandoned.
    pub handshake_timeout: Duration,
    /// Clients served at once (handshakes included); the daemon derives it from the
    /// open-file limit (SPEC §7.1 "Descriptors").
    pub max_clients: usize,
    /// Connections over `max_clients` answered HTTP 503 at once; any more are closed
    /// without an answer.
    pub max_refusing: usize,
}

impl Default for WsServerConfig {
    fn default() -> Self {
        Self {
            port: DEFAULT_PORT,
            webapp_origin: None,
            heartbeat_interval: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            max_message_bytes: 64 * 1024,
            client_queue_len: 128,
            max_skipped: 64,
            write_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            max_clients: 1024,
            max_refusing: 16,
        }
    }
}

impl WsServerConfig {
    /// Replaces values that cannot work (zero intervals, a queue too short for `sync`)
    /// with the defaults, saying so.
    fn sanitised(mut self) -> Self {
        let defaults = Self::default();
        let fix = |name: &str, bad: bool| {
            if bad {
                warn!("websocket {name} is unusable; using the default");
            }
            bad
        };
        if fix("heartbeat_interval", self.heartbeat_interval.is_zero()) {
            self.heartbeat_interval = defaults.heartbeat_interval;
        }
        if fix("ping_interval", self.ping_interval.is_zero()) {
            self.ping_interval = defaults.ping_interval;
        }
        if fix("client_queue_len", self.client_queue_len < 2) {
            self.client_queue_len = defaults.client_queue_len;
        }
        if fix("max_message_bytes", self.max_message_bytes < 1024) {
            self.max_message_bytes = defaults.max_message_bytes;
        }
        self
    }

    fn ws_config(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            // Small eager buffers: a thousand idle clients must stay cheap.
            .read_buffer_size(4 * 1024)
            .write_buffer_size(0)
            .max_message_size(Some(self.max_message_bytes))
            .max_frame_size(Some(self.max_message_bytes))
    }
}

/// Errors of [`bind`].
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// The IPv4 loopback port could not be bound (in use, not permitted…).
    #[error("cannot listen for websockets on {addr}: {source}")]
    Bind {
        /// The address tried.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
}

/// The bound loopback listeners, ready for [`run`].
#[derive(Debug)]
pub struct WsListeners {
    listeners: Vec<TcpListener>,
    config: WsServerConfig,
}

impl WsListeners {
    /// The addresses listened on: `127.0.0.1:PORT`, and `[::1]:PORT` when IPv6 works.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// The port listened on (the chosen one when the config said 0).
    pub fn port(&self) -> u16 {
        self.local_addrs().first().map_or(0, SocketAddr::port)
    }
}

/// What the server reads and notifies.
#[derive(Debug, Clone)]
pub struct WsContext {
    /// Events to forward to clients.
    pub bus: EventBus,
    /// The snapshot behind `sync`, `heartbeat` and `request` answers.
    pub status: StatusHandle,
    /// Notified (`notify_one`) when a client says the webapp's config changed.
    pub config_changed: Arc<Notify>,
}

/// Binds `127.0.0.1:port` and the same port on `::1`. IPv4 failing is an error; `::1`
/// failing (no IPv6 in this sandbox, port taken there) is logged and IPv4 serves alone.
pub async fn bind(config: WsServerConfig) -> Result<WsListeners, WsError> {
    let config = config.sanitised();
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
    let first = TcpListener::bind(v4)
        .await
        .map_err(|source| WsError::Bind { addr: v4, source })?;
    let port = first
        .local_addr()
        .map_err(|source| WsError::Bind { addr: v4, source })?
        .port();
    let mut listeners = vec![first];
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    match TcpListener::bind(v6).await {
        Ok(listener) => listeners.push(listener),
        Err(e) => info!("websocket: not listening on {v6} ({e}); IPv4 only"),
    }
    Ok(WsListeners { listeners, config })
}

/// Serves until `shutdown` fires, then closes every connection with a close frame and
/// returns once they are gone (or after a short deadline). Never fails: a bad client or
/// a failed `accept` is logged and the server goes on.
pub async fn run(listeners: WsListeners, ctx: WsContext, shutdown: CancellationToken) {
    let WsListeners { listeners, config } = listeners;
    let settings = hub::HubSettings {
        heartbeat_interval: config.heartbeat_interval,
        queue_len: config.client_queue_len,
        max_skipped: config.max_skipped,
    };
    let (hub, hub_task) = hub::spawn(
        ctx.bus.subscribe(),
        ctx.status.clone(),
        settings,
        shutdown.clone(),
    );
    let shared = Arc::new(peer::Shared {
        hub,
        status: ctx.status,
        config_changed: ctx.config_changed,
        origins: OriginPolicy::new(config.webapp_origin.as_deref()),
        ws_config: config.ws_config(),
        handshake_timeout: config.handshake_timeout,
        write_timeout: config.write_timeout,
        ping_interval: config.ping_interval,
        shutdown: shutdown.clone(),
    });
    let admission = Arc::new(Admission::new(
        "websocket",
        config.max_clients,
        config.max_refusing,
    ));
    let tracker = TaskTracker::new();
    for listener in listeners {
        let accepting = accept_loop(listener, shared.clone(), admission.clone(), tracker.clone());
        tracker.spawn(accepting);
    }
    drop(shared);
    shutdown.cancelled().await;
    tracker.close();
    if tokio::time::timeout(DRAIN_DEADLINE, tracker.wait())
        .await
        .is_err()
    {
        warn!("websocket connections still open after the shutdown deadline");
    }
    let _ = hub_task.await;
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<peer::Shared>,
    admission: Arc<Admission>,
    tracker: TaskTracker,
) {
    let shutdown = shared.shutdown.clone();
    while let Some((stream, peer)) = admission.next(&shutdown, || listener.accept()).await {
        let shared = shared.clone();
        match admission.admit() {
            Admit::Serve(permit) => {
                tracker.spawn(async move {
                    peer::serve(stream, peer, shared).await;
                    drop(permit);
                });
            }
            Admit::Refuse(permit) => {
                let max = admission.max_clients();
                tracker.spawn(async move {
                    peer::refuse(stream, peer, &shared, max).await;
                    drop(permit);
                });
            }
            Admit::Close => peer::refuse_at_once(stream, admission.max_clients()),
        }
    }
}
