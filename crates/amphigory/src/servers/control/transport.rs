//! What a connection's helpers share: the server-wide state ([`Shared`]) and one
//! client's two halves ([`Conn`]). The request loop (`connection`) and the event stream
//! (`subscribe`) both build on it, so neither needs the other's internals.

use std::sync::Arc;

use amphigory_wire::control::ControlResponse;
use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::framing::{LineReader, encode_reply};
use super::{ControlConfig, ControlContext};

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
    /// Splits `stream`, reading lines of at most `max_line` bytes; `shutdown` ends any
    /// wait for the client.
    pub(super) fn new(stream: UnixStream, max_line: usize, shutdown: CancellationToken) -> Self {
        let (read, write) = stream.into_split();
        Self {
            lines: LineReader::new(BufReader::new(read), max_line),
            out: BufWriter::new(write),
            shutdown,
        }
    }

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
