//! The fan-out hub: the one task that listens to the event bus for every WebSocket
//! client.
//!
//! Each message is serialised once and the same bytes ([`Utf8Bytes`], reference counted)
//! are offered to every client's bounded queue with `try_send`, so a slow client costs the
//! others one failed `try_send` and nothing more. A client whose queue is full misses the
//! message and is marked stale: the next time it has room it first gets a fresh `sync`
//! (the full picture supersedes what it missed); after too many misses in a row it is
//! dropped (its queue closes, its connection sends a close frame). A hub that lags on the
//! bus resynchronises every client the same way.
//!
//! Joining happens inside the hub's loop, so a new client's `sync` is built and queued
//! before any event the hub handles after it: nothing falls between the snapshot and the
//! stream. (Writers update the status snapshot before publishing the matching event.)

use std::time::Duration;

use crate::units::now_rfc3339;
use amphigory_wire::ws::{DaemonEventKind, ServerMessage};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::core::{DaemonEvent, StatusHandle};
use crate::servers::wire_messages;

/// A client's end of its outbound queue: shared, already-serialised text frames.
pub(super) type ClientQueue = mpsc::Receiver<Utf8Bytes>;

/// How connections join the hub.
#[derive(Debug, Clone)]
pub(super) struct HubHandle {
    joins: mpsc::Sender<mpsc::Sender<Utf8Bytes>>,
    queue_len: usize,
}

impl HubHandle {
    /// Joins: the queue then holds `sync` and `daemon connected`, followed by every later
    /// message. `None` once the hub has stopped.
    pub(super) async fn join(&self) -> Option<ClientQueue> {
        let (tx, rx) = mpsc::channel(self.queue_len);
        self.joins.send(tx).await.ok()?;
        Some(rx)
    }
}

/// Settings of the hub.
#[derive(Debug, Clone, Copy)]
pub(super) struct HubSettings {
    /// Every client gets a `heartbeat` this often.
    pub heartbeat_interval: Duration,
    /// Capacity of each client's queue (at least 2: `sync` and `connected`).
    pub queue_len: usize,
    /// A client missing more messages than this in a row is dropped.
    pub max_skipped: u32,
}

/// Starts the hub; it ends on `shutdown`, dropping every client queue.
pub(super) fn spawn(
    bus: broadcast::Receiver<DaemonEvent>,
    status: StatusHandle,
    settings: HubSettings,
    shutdown: CancellationToken,
) -> (HubHandle, tokio::task::JoinHandle<()>) {
    let (joins_tx, joins) = mpsc::channel(64);
    let handle = HubHandle {
        joins: joins_tx,
        queue_len: settings.queue_len.max(2),
    };
    let hub = Hub::new(status, settings.max_skipped);
    let task = tokio::spawn(hub.run(bus, joins, settings.heartbeat_interval, shutdown));
    (handle, task)
}

/// One client as the hub sees it.
#[derive(Debug)]
struct Client {
    queue: mpsc::Sender<Utf8Bytes>,
    /// Messages missed in a row.
    skipped: u32,
    /// Missed something: owes a fresh `sync` before the next message.
    stale: bool,
}

/// The hub's state, owned by its task.
#[derive(Debug)]
pub(super) struct Hub {
    status: StatusHandle,
    max_skipped: u32,
    clients: Vec<Client>,
    connected: Option<Utf8Bytes>,
}

impl Hub {
    pub(super) fn new(status: StatusHandle, max_skipped: u32) -> Self {
        let connected = encode(&ServerMessage::Daemon {
            event: DaemonEventKind::Connected,
            reason: None,
        });
        Self {
            status,
            max_skipped,
            clients: Vec::new(),
            connected,
        }
    }

    async fn run(
        mut self,
        mut bus: broadcast::Receiver<DaemonEvent>,
        mut joins: mpsc::Receiver<mpsc::Sender<Utf8Bytes>>,
        heartbeat_interval: Duration,
        shutdown: CancellationToken,
    ) {
        let mut ticks =
            tokio::time::interval_at(Instant::now() + heartbeat_interval, heartbeat_interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut bus_open = true;
        let cancelled = shutdown.cancelled();
        tokio::pin!(cancelled);
        loop {
            tokio::select! {
                biased;
                () = &mut cancelled => break,
                join = joins.recv() => match join {
                    Some(queue) => self.admit(queue),
                    None => break,
                },
                event = bus.recv(), if bus_open => match event {
                    Ok(event) => self.publish(&event),
                    Err(RecvError::Lagged(missed)) => {
                        debug!(missed, "websocket hub lagged on the bus; resynchronising clients");
                        self.resync_all();
                    }
                    Err(RecvError::Closed) => bus_open = false,
                },
                _ = ticks.tick() => self.heartbeat(),
            }
        }
        debug!(clients = self.clients.len(), "websocket hub stopped");
    }

    /// Adds a client: `sync` first, then `daemon connected`.
    pub(super) fn admit(&mut self, queue: mpsc::Sender<Utf8Bytes>) {
        let mut client = Client {
            queue,
            skipped: 0,
            stale: true,
        };
        let mut sync = SyncCache::new(&self.status);
        if deliver(
            &mut client,
            self.connected.as_ref(),
            &mut sync,
            self.max_skipped,
        ) {
            self.clients.push(client);
        }
    }

    /// Sends an event's seed-protocol message (if it has one) to every client.
    pub(super) fn publish(&mut self, event: &DaemonEvent) {
        if self.clients.is_empty() {
            return;
        }
        if let Some(frame) = wire_messages::event_message(event)
            .as_ref()
            .and_then(encode)
        {
            self.broadcast(Some(&frame));
        }
    }

    /// Sends a `heartbeat` built from the status snapshot to every client.
    pub(super) fn heartbeat(&mut self) {
        if self.clients.is_empty() {
            return;
        }
        if let Some(frame) = encode(&wire_messages::heartbeat(&self.status.get(), now_rfc3339())) {
            self.broadcast(Some(&frame));
        }
    }

    /// Sends every client a fresh `sync`.
    pub(super) fn resync_all(&mut self) {
        for client in &mut self.clients {
            client.stale = true;
        }
        self.broadcast(None);
    }

    /// How many clients are attached.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.clients.len()
    }

    fn broadcast(&mut self, frame: Option<&Utf8Bytes>) {
        let mut sync = SyncCache::new(&self.status);
        let max_skipped = self.max_skipped;
        self.clients
            .retain_mut(|client| deliver(client, frame, &mut sync, max_skipped));
    }
}

/// The `sync` frame, built at most once per broadcast and only if a client needs it.
struct SyncCache<'a> {
    status: &'a StatusHandle,
    frame: Option<Utf8Bytes>,
}

impl<'a> SyncCache<'a> {
    fn new(status: &'a StatusHandle) -> Self {
        Self {
            status,
            frame: None,
        }
    }

    fn get(&mut self) -> Option<Utf8Bytes> {
        if self.frame.is_none() {
            self.frame = encode(&wire_messages::sync(&self.status.get(), now_rfc3339()));
        }
        self.frame.clone()
    }
}

/// Offers a stale client its `sync`, then `frame`. Returns whether to keep the client.
fn deliver(
    client: &mut Client,
    frame: Option<&Utf8Bytes>,
    sync: &mut SyncCache<'_>,
    max_skipped: u32,
) -> bool {
    if client.stale {
        let Some(sync) = sync.get() else {
            return true;
        };
        match client.queue.try_send(sync) {
            Ok(()) => {
                client.stale = false;
                client.skipped = 0;
            }
            Err(mpsc::error::TrySendError::Full(_)) => return skip(client, max_skipped),
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
        }
    }
    let Some(frame) = frame else {
        return true;
    };
    match client.queue.try_send(frame.clone()) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => skip(client, max_skipped),
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

fn skip(client: &mut Client, max_skipped: u32) -> bool {
    client.stale = true;
    client.skipped = client.skipped.saturating_add(1);
    let keep = client.skipped <= max_skipped;
    if !keep {
        debug!(
            skipped = client.skipped,
            "dropping a websocket client that does not keep up"
        );
    }
    keep
}

/// Serialises once; every client shares the bytes.
fn encode(message: &ServerMessage) -> Option<Utf8Bytes> {
    match serde_json::to_string(message) {
        Ok(text) => Some(Utf8Bytes::from(text)),
        Err(e) => {
            warn!(error = %e, "could not encode a websocket message");
            None
        }
    }
}

/// RFC 3339 with offset, seconds precision, like the rest of the daemon.
#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
