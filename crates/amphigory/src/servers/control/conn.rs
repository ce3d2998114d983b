//! One client connection: bounded request lines in, one JSON response line out per
//! request, until the client leaves, sends `stop`, or turns the connection into an event
//! stream with `subscribe`. A bad line gets `ok:false` and the next line is read as usual.

use std::sync::Arc;

use amphigory_wire::control::{ControlRequest, ControlResponse, RawRequest};
use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::actions::{self, Outcome};
use super::lines::{Line, LineReader};
use super::subscribe;
use super::{ControlConfig, ControlContext};

/// How long a refused client's answer may take to go out.
const REFUSAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// What every connection shares.
pub(super) struct Shared {
    pub(super) ctx: ControlContext,
    pub(super) config: ControlConfig,
    /// One permit per subscriber.
    pub(super) subscribers: Arc<Semaphore>,
    /// The server's own shutdown (a child of the daemon's).
    pub(super) shutdown: CancellationToken,
}

/// The client went away, or the server is shutting down.
#[derive(Debug)]
pub(super) struct Gone;

/// Both halves of a connection.
pub(super) struct Conn {
    pub(super) lines: LineReader<BufReader<OwnedReadHalf>>,
    out: BufWriter<OwnedWriteHalf>,
    shutdown: CancellationToken,
}

impl Conn {
    /// Buffers one line (`bytes` and a newline); a client that does not read blocks
    /// this connection only, and shutdown ends the wait.
    pub(super) async fn write_line(&mut self, bytes: &[u8]) -> Result<(), Gone> {
        let Self { out, shutdown, .. } = self;
        let write = async {
            out.write_all(bytes).await?;
            out.write_all(b"\n").await
        };
        tokio::select! {
            biased;
            () = shutdown.cancelled() => Err(Gone),
            written = write => written.map_err(|_| Gone),
        }
    }

    /// Sends what was buffered.
    pub(super) async fn flush(&mut self) -> Result<(), Gone> {
        let Self { out, shutdown, .. } = self;
        tokio::select! {
            biased;
            () = shutdown.cancelled() => Err(Gone),
            flushed = out.flush() => flushed.map_err(|_| Gone),
        }
    }

    /// Writes and flushes one response.
    pub(super) async fn reply(&mut self, response: &ControlResponse) -> Result<(), Gone> {
        let bytes = encode_reply(response).map_err(|e| {
            tracing::warn!("cannot encode a control response: {e}");
            Gone
        })?;
        self.write_line(&bytes).await?;
        self.flush().await
    }
}

/// Serves one connection to its end.
pub(super) async fn serve(stream: UnixStream, shared: Arc<Shared>) {
    let (read, write) = stream.into_split();
    let mut conn = Conn {
        lines: LineReader::new(BufReader::new(read), shared.config.max_line_bytes),
        out: BufWriter::new(write),
        shutdown: shared.shutdown.clone(),
    };
    loop {
        let line = tokio::select! {
            biased;
            () = shared.shutdown.cancelled() => return,
            line = conn.lines.next() => line,
        };
        let request = match line {
            Ok(None) | Err(_) => return,
            Ok(Some(line)) => match request_of(line, shared.config.max_line_bytes) {
                Some(request) => request,
                None => continue,
            },
        };
        let outcome = match request {
            Ok(request) => actions::handle(&shared.ctx, &shared.config, request).await,
            Err(message) => Outcome::Reply(ControlResponse::err(message)),
        };
        let next = match outcome {
            Outcome::Reply(response) => conn.reply(&response).await,
            Outcome::Stop(response) => {
                let _ = conn.reply(&response).await;
                tracing::info!("stop requested on the control socket");
                shared.ctx.stop.cancel();
                return;
            }
            Outcome::Subscribe { task_id, replay } => {
                match shared.subscribers.clone().try_acquire_owned() {
                    Ok(permit) => {
                        subscribe::stream(&mut conn, &shared, task_id, replay).await;
                        drop(permit);
                        return;
                    }
                    Err(_) => conn.reply(&too_many(shared.config.max_subscribers)).await,
                }
            }
        };
        if next.is_err() {
            return;
        }
    }
}

/// Answers a connection over the limit and closes it.
pub(super) async fn refuse(mut stream: UnixStream, shared: Arc<Shared>) {
    if let Some(bytes) = refusal(shared.config.max_connections) {
        let write = stream.write_all(&bytes);
        let _ = tokio::time::timeout(REFUSAL_TIMEOUT, write).await;
    }
}

/// Refuses a connection with no refusal slot free: the answer goes out only if the
/// socket takes it at once (its buffer is empty, so it nearly always does).
pub(super) fn refuse_at_once(stream: UnixStream, max: usize) {
    if let Some(bytes) = refusal(max) {
        let _ = stream.try_write(&bytes);
    }
}

/// The `ok:false` line a connection over the limit gets.
fn refusal(max: usize) -> Option<Vec<u8>> {
    let response = ControlResponse::err(format!(
        "too many connections to the control socket (at most {max}); try again later"
    ));
    let mut bytes = encode_reply(&response).ok()?;
    bytes.push(b'\n');
    Some(bytes)
}

/// A response as the bytes of its line, without the newline: compact JSON, which escapes
/// every control character, so it never holds a newline of its own.
pub(crate) fn encode_reply(response: &ControlResponse) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(response)
}

/// What one input line asks: `None` for a blank line (skipped, no answer), else the
/// checked request or the error text for the client.
pub(crate) fn request_of(line: Line, max: usize) -> Option<Result<ControlRequest, String>> {
    match line {
        Line::Text(text) if text.trim().is_empty() => None,
        line => Some(parse(line, max)),
    }
}

/// A line as a checked request, or the error text for the client.
fn parse(line: Line, max: usize) -> Result<ControlRequest, String> {
    let text = match line {
        Line::Text(text) => text,
        Line::TooLong => return Err(format!("request too long: at most {max} bytes per line")),
        Line::NotUtf8 => return Err("malformed request: not UTF-8".to_owned()),
    };
    let raw: RawRequest = serde_json::from_str(&text).map_err(|e| {
        format!(r#"malformed request ({e}); expected {{"action": "...", "args": {{...}}}}"#)
    })?;
    ControlRequest::from_raw(raw)
}

fn too_many(max: usize) -> ControlResponse {
    ControlResponse::err(format!(
        "too many subscribers: at most {max} connections may subscribe at once; \
         close one and try again"
    ))
}
