//! One client connection: bounded request lines in, one JSON response line out per
//! request, until the client leaves, sends `stop`, or turns the connection into an event
//! stream with `subscribe`. A bad line gets `ok:false` and the next line is read as usual.

use std::sync::Arc;

use amphigory_wire::control::ControlResponse;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

use super::framing::{encode_reply, request_of};
use super::handlers::{self, Outcome};
use super::subscribe;
use super::transport::{Conn, Shared};

/// How long a refused client's answer may take to go out.
const REFUSAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Serves one connection to its end.
pub(super) async fn serve(stream: UnixStream, shared: Arc<Shared>) {
    let mut conn = Conn::new(
        stream,
        shared.config.max_line_bytes,
        shared.shutdown.clone(),
    );
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
            Ok(request) => handlers::handle(&shared.ctx, &shared.config, request).await,
            Err(refused) => Outcome::Reply(ControlResponse::err(refused.to_string())),
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

fn too_many(max: usize) -> ControlResponse {
    ControlResponse::err(format!(
        "too many subscribers: at most {max} connections may subscribe at once; \
         close one and try again"
    ))
}
