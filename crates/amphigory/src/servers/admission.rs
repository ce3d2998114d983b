//! Who gets in: both servers' accept loops share this. A connection under the server's
//! client budget is served; over it, one of a few refusal slots lets the server tell the
//! client why (HTTP 503 for a WebSocket, an `ok:false` line on the control socket) and
//! then close; with those slots busy too, the connection is closed at once (after at
//! most one non-blocking write of the answer). Either way its descriptor goes back
//! quickly, so a flood of clients can never take the descriptors the queue and the
//! drives need (SPEC §7.1 "Descriptors").
//!
//! It also keeps both the refusals and failed `accept`s out of the log's way: the first
//! one of a run is a warning, the rest are debug lines, and the end of a run is noted.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// Pause after a failed `accept` (out of file descriptors…) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What to do with an accepted connection.
#[derive(Debug)]
pub(crate) enum Admit {
    /// Serve it; the permit is its place in the budget, released when dropped.
    Serve(OwnedSemaphorePermit),
    /// Tell it the server is full, then close it; the permit is its refusal slot.
    Refuse(OwnedSemaphorePermit),
    /// Close it now, saying why only if that needs no waiting.
    Close,
}

/// The budget of one server (shared by its listeners).
#[derive(Debug)]
pub(crate) struct Admission {
    /// The server's name in log lines ("websocket", "control socket").
    what: &'static str,
    max_clients: usize,
    serving: Arc<Semaphore>,
    refusing: Arc<Semaphore>,
    /// Refusals since a connection was last served.
    refused: AtomicU64,
    /// `accept` failures since one last succeeded.
    failed: AtomicU64,
}

impl Admission {
    /// `max_clients` served at once, `max_refusing` answered "too many" at once.
    pub(crate) fn new(what: &'static str, max_clients: usize, max_refusing: usize) -> Self {
        Self {
            what,
            max_clients,
            serving: Arc::new(Semaphore::new(max_clients)),
            refusing: Arc::new(Semaphore::new(max_refusing)),
            refused: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    /// The most clients served at once (for the refusal's message).
    pub(crate) fn max_clients(&self) -> usize {
        self.max_clients
    }

    /// Decides about a connection just accepted.
    pub(crate) fn admit(&self) -> Admit {
        if let Ok(permit) = self.serving.clone().try_acquire_owned() {
            let refused = self.refused.swap(0, Ordering::Relaxed);
            if refused > 0 {
                tracing::info!(
                    "{}: serving clients again after refusing {refused}",
                    self.what
                );
            }
            return Admit::Serve(permit);
        }
        if self.refused.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::warn!(
                "{}: {} clients connected, as many as the open-file budget allows; refusing \
                 new ones until some leave",
                self.what,
                self.max_clients
            );
        } else {
            tracing::debug!("{}: refusing a client", self.what);
        }
        match self.refusing.clone().try_acquire_owned() {
            Ok(permit) => Admit::Refuse(permit),
            Err(_) => Admit::Close,
        }
    }

    /// The next connection `accept` gives, or `None` once `shutdown` fires. A failed
    /// `accept` (out of descriptors…) is logged and tried again after a pause: the
    /// pending connection stays in the backlog and would fail again at once.
    pub(crate) async fn next<T, F>(
        &self,
        shutdown: &CancellationToken,
        mut accept: impl FnMut() -> F,
    ) -> Option<T>
    where
        F: Future<Output = io::Result<T>>,
    {
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => return None,
                accepted = accept() => accepted,
            };
            match accepted {
                Ok(connection) => {
                    self.accepted();
                    return Some(connection);
                }
                Err(e) => self.accept_failed(&e),
            }
            tokio::select! {
                () = shutdown.cancelled() => return None,
                () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
            }
        }
    }

    /// Logs a failed `accept`: a warning for the first of a run, then debug lines.
    fn accept_failed(&self, error: &io::Error) {
        if self.failed.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::warn!(
                "{} accept failed: {error}; retrying every {} ms",
                self.what,
                ACCEPT_BACKOFF.as_millis()
            );
        } else {
            tracing::debug!("{} accept failed again: {error}", self.what);
        }
    }

    /// Notes a successful `accept` (ending a run of failures).
    fn accepted(&self) {
        let failed = self.failed.swap(0, Ordering::Relaxed);
        if failed > 0 {
            tracing::info!("{} accepting again after {failed} failures", self.what);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_then_refuses_then_closes_and_frees_places() {
        let admission = Admission::new("test", 2, 1);
        let a = admission.admit();
        let b = admission.admit();
        assert!(matches!((&a, &b), (Admit::Serve(_), Admit::Serve(_))));
        let refused = admission.admit();
        assert!(matches!(refused, Admit::Refuse(_)), "{refused:?}");
        assert!(matches!(admission.admit(), Admit::Close));
        drop(refused);
        assert!(matches!(admission.admit(), Admit::Refuse(_)));
        drop(a);
        assert!(matches!(admission.admit(), Admit::Serve(_)));
        assert_eq!(admission.refused.load(Ordering::Relaxed), 0);
        drop(b);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_accepts_are_retried_until_shutdown() {
        let admission = Admission::new("test", 1, 1);
        let shutdown = CancellationToken::new();
        let mut calls = 0;
        let accept = || {
            calls += 1;
            let n = calls;
            async move {
                match n {
                    1 | 2 => Err(io::Error::from_raw_os_error(24)), // EMFILE
                    _ => Ok(n),
                }
            }
        };
        assert_eq!(admission.next(&shutdown, accept).await, Some(3));
        assert_eq!(calls, 3, "two failures, each tried again");
        assert_eq!(
            admission.failed.load(Ordering::Relaxed),
            0,
            "the run of failures ended"
        );
        shutdown.cancel();
        let never = || std::future::pending::<io::Result<u8>>();
        assert_eq!(admission.next(&shutdown, never).await, None);
    }

    #[test]
    fn a_server_without_room_closes_everything() {
        let admission = Admission::new("test", 0, 0);
        assert!(matches!(admission.admit(), Admit::Close));
    }
}
