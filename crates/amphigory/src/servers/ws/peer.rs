//! One WebSocket connection, owned by one task: the handshake (with the `Origin` check),
//! then a loop that writes what the hub queues, reads what the client sends, pings, and
//! closes cleanly.
//!
//! Writes are batched (whatever is queued goes out in one flush) and bounded by a write
//! timeout, so a peer that stops reading is dropped instead of pinning the task forever;
//! its queue meanwhile fills up and the hub skips and then drops it. Everything a client
//! sends is size-limited by the WebSocket config and parsed as an
//! [`InboundMessage`]; anything unknown or malformed is logged at debug level and ignored.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use amphigory_wire::ws::InboundMessage;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::{MissedTickBehavior, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request, Response, write_response,
};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsProtoError, Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::hub::{ClientQueue, HubHandle};
use super::origin::OriginPolicy;
use crate::core::StatusHandle;
use crate::servers::requests;

/// Most queued messages written before one flush.
const MAX_BATCH: usize = 64;
/// How long a close frame may take to go out.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// How much of a malformed message is logged.
const LOG_PREVIEW: usize = 120;
/// How long a refused client has to send its request and read the 503.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);
/// What a refused client is told to wait before trying again, in seconds.
const RETRY_AFTER_SECS: &str = "10";

/// What every connection task shares.
#[derive(Debug)]
pub(super) struct Shared {
    pub hub: HubHandle,
    pub status: StatusHandle,
    pub config_changed: Arc<Notify>,
    pub origins: OriginPolicy,
    pub ws_config: WebSocketConfig,
    pub handshake_timeout: Duration,
    pub write_timeout: Duration,
    pub ping_interval: Duration,
    pub shutdown: CancellationToken,
}

/// Serves one accepted TCP connection until it ends or the daemon stops.
pub(super) async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    // Small frames must leave at once: Nagle would hold progress back for an ACK.
    let _ = stream.set_nodelay(true);
    let Some(ws) = handshake(stream, peer, &shared).await else {
        return;
    };
    let Some(queue) = shared.hub.join().await else {
        return;
    };
    debug!(%peer, "websocket client connected");
    let mut conn = Connection {
        ws,
        queue,
        peer,
        shared: &shared,
        awaiting_pong: false,
    };
    let close = conn.run().await;
    conn.close(close).await;
    debug!(%peer, "websocket client gone");
}

// The callback's signature is tungstenite's: its error is the HTTP response itself.
#[allow(clippy::result_large_err)]
async fn handshake(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
) -> Option<WebSocketStream<TcpStream>> {
    let check =
        |request: &Request, response: Response| check_origin(&shared.origins, request, response);
    let accepting =
        tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(shared.ws_config));
    tokio::select! {
        () = shared.shutdown.cancelled() => None,
        done = timeout(shared.handshake_timeout, accepting) => match done {
            Ok(Ok(ws)) => Some(ws),
            Ok(Err(e)) => {
                debug!(%peer, error = %e, "websocket handshake failed");
                None
            }
            Err(_) => {
                debug!(%peer, "websocket handshake timed out");
                None
            }
        },
    }
}

/// Answers a connection over the client budget with HTTP 503 instead of the upgrade and
/// closes it: the request is read first, so the close is orderly and the client reads a
/// clear answer, not a reset. A client that does not send its request in time is simply
/// closed.
#[allow(clippy::result_large_err)] // tungstenite's callback signature
pub(super) async fn refuse(stream: TcpStream, peer: SocketAddr, shared: &Shared, max: usize) {
    let full = move |_: &Request, _: Response| Err(too_many(max));
    let answering = tokio_tungstenite::accept_hdr_async_with_config(stream, full, None);
    tokio::select! {
        () = shared.shutdown.cancelled() => {}
        done = timeout(REFUSAL_TIMEOUT, answering) => {
            if !matches!(done, Ok(Err(WsProtoError::Http(_)))) {
                debug!(%peer, "a refused websocket client left before its answer");
            }
        }
    }
}

/// Refuses a connection with no refusal slot free: the 503 goes out if the socket takes
/// it at once (it nearly always does: its send buffer is empty), and the socket is
/// closed without waiting for the request. The client may see a reset instead of the
/// answer, but never a hang, and the descriptor is back at once.
pub(super) fn refuse_at_once(stream: TcpStream, max: usize) {
    let response = too_many(max);
    let mut bytes = Vec::new();
    if write_response(&mut bytes, &response).is_ok() {
        bytes.extend_from_slice(response.body().as_deref().unwrap_or_default().as_bytes());
        let _ = stream.try_write(&bytes);
    }
}

/// HTTP 503 "too many websocket clients", closing the connection.
fn too_many(max: usize) -> ErrorResponse {
    let body = format!("too many websocket clients (at most {max}); try again later\n");
    let length = body.len();
    let mut refusal = ErrorResponse::new(Some(body));
    *refusal.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = refusal.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    refusal
}

/// The handshake callback: a present `Origin` must be a localhost one or the webapp's.
#[allow(clippy::result_large_err)] // tungstenite's callback signature
fn check_origin(
    origins: &OriginPolicy,
    request: &Request,
    response: Response,
) -> Result<Response, ErrorResponse> {
    let mut values = request.headers().get_all(header::ORIGIN).iter();
    let allowed = match (values.next(), values.next()) {
        (None, _) => true,
        (Some(origin), None) => origin.to_str().is_ok_and(|o| origins.allows(Some(o))),
        (Some(_), Some(_)) => false,
    };
    if allowed {
        return Ok(response);
    }
    let origin = request.headers().get(header::ORIGIN);
    info!(?origin, "websocket handshake refused: foreign Origin");
    let mut refusal = ErrorResponse::new(Some("origin not allowed\n".to_owned()));
    *refusal.status_mut() = StatusCode::FORBIDDEN;
    Err(refusal)
}

/// Why a connection ended, as the close frame to send (if any can be sent).
type Ending = Option<CloseFrame>;

fn close_frame(code: CloseCode, reason: &'static str) -> Ending {
    Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    })
}

fn stopping() -> Ending {
    close_frame(CloseCode::Away, "daemon stopping")
}

struct Connection<'a> {
    ws: WebSocketStream<TcpStream>,
    queue: ClientQueue,
    peer: SocketAddr,
    shared: &'a Shared,
    /// A ping went out and nothing has come back since.
    awaiting_pong: bool,
}

impl Connection<'_> {
    async fn run(&mut self) -> Ending {
        let every = self.shared.ping_interval;
        let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // Registered once, not on every turn of the loop: a hundred connections share
        // this token.
        let cancelled = self.shared.shutdown.clone().cancelled_owned();
        tokio::pin!(cancelled);
        loop {
            tokio::select! {
                biased;
                () = &mut cancelled => return stopping(),
                inbound = self.ws.next() => match inbound {
                    Some(Ok(message)) => {
                        self.awaiting_pong = false;
                        if let Err(ending) = self.on_message(message).await {
                            return ending;
                        }
                    }
                    Some(Err(e)) => return self.on_read_error(&e),
                    None => return None,
                },
                queued = self.queue.recv() => match queued {
                    Some(frame) => {
                        if let Err(ending) = self.write_batch(frame).await {
                            return ending;
                        }
                    }
                    None if self.shared.shutdown.is_cancelled() => return stopping(),
                    None => return close_frame(CloseCode::Policy, "too slow: messages were dropped"),
                },
                _ = pings.tick() => {
                    if self.awaiting_pong {
                        debug!(peer = %self.peer, "websocket peer did not answer a ping");
                        return None;
                    }
                    self.awaiting_pong = true;
                    if let Err(ending) = self.send(Message::Ping(Default::default())).await {
                        return ending;
                    }
                }
            }
        }
    }

    /// Writes `first` and whatever else is queued, then flushes once.
    async fn write_batch(&mut self, first: Utf8Bytes) -> Result<(), Ending> {
        let Self { ws, queue, .. } = self;
        let writing = async {
            ws.feed(Message::Text(first)).await?;
            for _ in 1..MAX_BATCH {
                let Ok(next) = queue.try_recv() else { break };
                ws.feed(Message::Text(next)).await?;
            }
            ws.flush().await
        };
        // The write first: when it completes at once (the usual case) neither the timer
        // nor the shared token's waiter list is touched.
        let outcome = tokio::select! {
            biased;
            outcome = timeout(self.shared.write_timeout, writing) => outcome,
            () = self.shared.shutdown.cancelled() => return Err(stopping()),
        };
        self.finish_write(outcome)
    }

    async fn send(&mut self, message: Message) -> Result<(), Ending> {
        let sent = tokio::select! {
            biased;
            sent = timeout(self.shared.write_timeout, self.ws.send(message)) => sent,
            () = self.shared.shutdown.cancelled() => return Err(stopping()),
        };
        self.finish_write(sent)
    }

    fn finish_write(
        &self,
        outcome: Result<Result<(), WsProtoError>, tokio::time::error::Elapsed>,
    ) -> Result<(), Ending> {
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                debug!(peer = %self.peer, error = %e, "websocket write failed");
                Err(None)
            }
            Err(_) => {
                debug!(peer = %self.peer, "websocket peer stopped reading; dropping it");
                Err(None)
            }
        }
    }

    /// Handles one inbound message; only a failed write ends the connection.
    async fn on_message(&mut self, message: Message) -> Result<(), Ending> {
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(data) => {
                debug!(peer = %self.peer, len = data.len(), "ignoring a binary websocket message");
                return Ok(());
            }
            // Pongs clear `awaiting_pong` (any traffic does); tungstenite answers pings and
            // close frames itself.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => {
                return Ok(());
            }
        };
        match serde_json::from_str::<InboundMessage>(text.as_str()) {
            Ok(InboundMessage::ConfigUpdated | InboundMessage::WebappConfigChanged) => {
                info!(peer = %self.peer, "webapp config changed; refetching");
                self.shared.config_changed.notify_one();
                Ok(())
            }
            Ok(InboundMessage::Request {
                request_id,
                method,
                params,
            }) => {
                let snapshot = self.shared.status.get();
                let answer = requests::respond(&snapshot, request_id, &method, &params);
                match serde_json::to_string(&answer) {
                    Ok(json) => self.send(Message::text(json)).await,
                    Err(e) => {
                        debug!(error = %e, "could not encode a response");
                        Ok(())
                    }
                }
            }
            Ok(InboundMessage::Unknown) => {
                debug!(peer = %self.peer, message = preview(&text), "ignoring an unknown message type");
                Ok(())
            }
            Err(e) => {
                debug!(peer = %self.peer, error = %e, message = preview(&text), "ignoring malformed input");
                Ok(())
            }
        }
    }

    fn on_read_error(&self, error: &WsProtoError) -> Ending {
        match error {
            WsProtoError::Capacity(e) => {
                info!(peer = %self.peer, error = %e, "websocket client sent too much; closing");
                close_frame(CloseCode::Size, "message too big")
            }
            WsProtoError::Protocol(e) => {
                debug!(peer = %self.peer, error = %e, "websocket protocol error; closing");
                close_frame(CloseCode::Protocol, "protocol error")
            }
            other => {
                debug!(peer = %self.peer, error = %other, "websocket read failed");
                None
            }
        }
    }

    /// Sends the close frame (best effort, briefly) and lets the socket go.
    async fn close(&mut self, ending: Ending) {
        if let Some(frame) = ending {
            let _ = timeout(CLOSE_TIMEOUT, self.ws.close(Some(frame))).await;
        }
    }
}

/// The start of a message, for logs (never a 64 KiB line).
fn preview(text: &str) -> &str {
    let end = text
        .char_indices()
        .map(|(i, _)| i)
        .nth(LOG_PREVIEW)
        .unwrap_or(text.len());
    text.get(..end).unwrap_or_default()
}
