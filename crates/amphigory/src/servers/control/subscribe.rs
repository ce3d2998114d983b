//! `subscribe`: the connection becomes a stream of envelopes (SPEC §8). First the
//! `ok` response (with the status snapshot taken just after subscribing, so a client can
//! draw the full picture and apply every later event to it), then — with `replay` — the
//! last events the bus kept (at most 100), then live events and a `heartbeat` every
//! heartbeat interval.
//!
//! Each subscriber reads its own receiver of the bus's bounded broadcast channel, so
//! publishing never waits for it and a slow one costs nobody else anything. A subscriber
//! that falls more than the channel's capacity behind (its client stopped reading and the
//! socket buffer filled) learns it from the receiver: it is sent a `lagged` envelope and
//! a fresh `sync`, then live events again. Input after `subscribe` is read and ignored
//! (only the end of it matters: the client left).

use amphigory_wire::control::{ControlResponse, Envelope, MessageType, SubscribeReply};
use amphigory_wire::ws::{DaemonEventKind, ServerMessage};
use chrono::{Local, SecondsFormat};
use tokio::io::AsyncReadExt;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::{Instant, MissedTickBehavior};

use super::snapshot::daemon_status;
use super::transport::{Conn, Gone, Shared};
use crate::core::{DaemonEvent, StatusHandle};
use crate::servers::wire_messages;
use crate::units::now_rfc3339;

/// Events written before one flush when several are ready at once.
const BATCH: usize = 64;

/// The kind of envelope a message travels in: `data` for progress, `error` for daemon
/// errors, `status` for everything else.
pub fn message_type(message: &ServerMessage) -> MessageType {
    match message {
        ServerMessage::Progress(_) => MessageType::Data,
        ServerMessage::Daemon {
            event: DaemonEventKind::Error,
            ..
        } => MessageType::Error,
        _ => MessageType::Status,
    }
}

/// `message` in an envelope stamped now.
pub fn envelope(message: ServerMessage) -> Envelope {
    let now = Local::now();
    Envelope {
        event_name: "amphigory".to_owned(),
        timestamp_ms: now.timestamp_millis(),
        timestamp_iso: now.to_rfc3339_opts(SecondsFormat::Millis, false),
        message_type: message_type(&message),
        data: message,
    }
}

/// The message a subscriber with `filter` gets for `event`, if any: events of other
/// tasks are filtered out, daemon-wide ones always pass. A change of the queue depth,
/// which has no message of its own, goes out as an extra `heartbeat` (it carries the
/// depth), so status bars need not wait for the next periodic one.
fn message_for(
    event: &DaemonEvent,
    filter: Option<&str>,
    status: &StatusHandle,
) -> Option<ServerMessage> {
    match (filter, event.task_id()) {
        (Some(wanted), Some(task)) if wanted != task => None,
        _ => match event {
            DaemonEvent::QueueChanged { depth } => {
                let mut beat = wire_messages::heartbeat(&status.get(), now_rfc3339());
                if let ServerMessage::Heartbeat { queue_depth, .. } = &mut beat {
                    *queue_depth = *depth;
                }
                Some(beat)
            }
            _ => wire_messages::event_message(event),
        },
    }
}

/// Streams to `conn` until the client leaves or the server stops.
pub(super) async fn stream(conn: &mut Conn, shared: &Shared, filter: Option<String>, replay: bool) {
    let filter = filter.as_deref();
    let (recent, mut rx) = shared.ctx.bus.subscribe_with_replay();
    let snapshot = shared.ctx.status.get();
    let replayed: Vec<ServerMessage> = if replay {
        let status = &shared.ctx.status;
        recent
            .iter()
            .filter_map(|e| message_for(e, filter, status))
            .collect()
    } else {
        Vec::new()
    };
    let ok = ControlResponse::ok(SubscribeReply {
        subscribed: true,
        replayed: replayed.len(),
        status: daemon_status(snapshot),
    });
    if conn.reply(&ok).await.is_err() {
        return;
    }
    for message in replayed {
        if send(conn, message).await.is_err() {
            return;
        }
    }
    if conn.flush().await.is_err() {
        return;
    }
    let period = shared.config.heartbeat_interval;
    let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut scratch = [0u8; 1024];
    loop {
        let step = tokio::select! {
            biased;
            () = shared.shutdown.cancelled() => return,
            received = rx.recv() => match received {
                Ok(event) => forward(conn, &mut rx, event, filter, shared).await,
                Err(RecvError::Lagged(missed)) => resync(conn, shared, missed).await,
                Err(RecvError::Closed) => return,
            },
            _ = ticks.tick() => heartbeat(conn, shared).await,
            read = conn.lines.get_mut().read(&mut scratch) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => Ok(()),
            },
        };
        if step.and(conn.flush().await).is_err() {
            return;
        }
    }
}

/// Writes `first` and whatever else is already waiting (up to [`BATCH`]), so a burst
/// costs one flush; a lag noticed on the way is handled in order.
async fn forward(
    conn: &mut Conn,
    rx: &mut tokio::sync::broadcast::Receiver<DaemonEvent>,
    first: DaemonEvent,
    filter: Option<&str>,
    shared: &Shared,
) -> Result<(), Gone> {
    let mut next = Some(first);
    for _ in 0..BATCH {
        let Some(event) = next.take() else { break };
        if let Some(message) = message_for(&event, filter, &shared.ctx.status) {
            send(conn, message).await?;
        }
        next = match rx.try_recv() {
            Ok(event) => Some(event),
            Err(TryRecvError::Lagged(missed)) => return resync(conn, shared, missed).await,
            Err(TryRecvError::Empty | TryRecvError::Closed) => None,
        };
    }
    match next {
        Some(event) => match message_for(&event, filter, &shared.ctx.status) {
            Some(message) => send(conn, message).await,
            None => Ok(()),
        },
        None => Ok(()),
    }
}

/// `lagged`, then a fresh `sync`: the full picture supersedes what was missed.
async fn resync(conn: &mut Conn, shared: &Shared, missed: u64) -> Result<(), Gone> {
    tracing::debug!(missed, "control subscriber lagged; resynchronising it");
    send(conn, ServerMessage::Lagged { missed }).await?;
    let sync = wire_messages::sync(&shared.ctx.status.get(), now_rfc3339());
    send(conn, sync).await
}

async fn heartbeat(conn: &mut Conn, shared: &Shared) -> Result<(), Gone> {
    let beat = wire_messages::heartbeat(&shared.ctx.status.get(), now_rfc3339());
    send(conn, beat).await
}

async fn send(conn: &mut Conn, message: ServerMessage) -> Result<(), Gone> {
    match serde_json::to_vec(&envelope(message)) {
        Ok(bytes) => conn.write_line(&bytes).await,
        Err(e) => {
            tracing::warn!("cannot encode an envelope: {e}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_carry_the_right_kind() {
        let progress = ServerMessage::Progress(amphigory_wire::ws::Progress {
            task_id: "t".into(),
            percent: 1,
            eta_seconds: None,
            current_size_bytes: None,
            speed: None,
        });
        assert_eq!(message_type(&progress), MessageType::Data);
        let error = ServerMessage::Daemon {
            event: DaemonEventKind::Error,
            reason: Some("x".into()),
        };
        assert_eq!(message_type(&error), MessageType::Error);
        let lagged = ServerMessage::Lagged { missed: 3 };
        assert_eq!(message_type(&lagged), MessageType::Status);
        let e = envelope(progress);
        assert_eq!(e.event_name, "amphigory");
        assert!(e.timestamp_ms > 0);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["message_type"], "data");
        assert_eq!(v["data"]["type"], "progress");
    }

    #[test]
    fn filters_keep_daemon_wide_events() {
        let status = StatusHandle::new(crate::core::StatusSnapshot::default());
        let message_for = |e: &DaemonEvent, f: Option<&str>| message_for(e, f, &status);
        let of = |id: &str| DaemonEvent::TaskProgress {
            task_id: id.into(),
            percent: 5,
            eta_seconds: None,
            current_size_bytes: None,
            speed: None,
        };
        assert!(message_for(&of("a"), Some("a")).is_some());
        assert!(message_for(&of("b"), Some("a")).is_none());
        assert!(message_for(&of("b"), None).is_some());
        assert!(message_for(&DaemonEvent::Paused, Some("a")).is_some());
        assert!(matches!(
            message_for(&DaemonEvent::QueueChanged { depth: 3 }, Some("a")),
            Some(ServerMessage::Heartbeat { queue_depth: 3, .. })
        ));
        let requeued = DaemonEvent::TaskRequeued {
            task_id: "a".into(),
            reason: "pause".into(),
        };
        assert!(message_for(&requeued, None).is_none());
    }
}
