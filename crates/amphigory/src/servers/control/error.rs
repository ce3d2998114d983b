//! Why an action failed: [`ActionError`], whose text is the `error` of the `ok:false`
//! response the client gets.

use crate::engine::EngineError;
use crate::queue::QueueError;

/// Why an action could not be carried out.
#[derive(Debug, thiserror::Error)]
pub(super) enum ActionError {
    /// A blocking helper thread failed (panicked or was cancelled).
    #[error("internal error: {0}")]
    Internal(#[from] tokio::task::JoinError),
    /// The queue directory refused.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The engine refused, or did not answer; its text as it is.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The task to enqueue is not one the daemon runs.
    #[error(transparent)]
    Enqueue(#[from] super::enqueue::EnqueueError),
}
