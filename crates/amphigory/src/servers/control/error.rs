//! Why an action failed: [`ActionError`], whose text is the `error` of the `ok:false`
//! response the client gets.

use super::ports::PortError;
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
    /// The engine's channel is closed: the daemon is on its way out.
    #[error("the daemon is shutting down")]
    ShuttingDown,
    /// The engine did not answer within the reply timeout.
    #[error("the engine did not answer in time; try again")]
    EngineTimeout,
    /// The engine refused (e.g. no such task to cancel); its text as it is.
    #[error("{0}")]
    Engine(String),
    /// The drive named was not found, or none was named among several.
    #[error(transparent)]
    Drive(#[from] super::drive_lookup::DriveLookupError),
    /// The label could not be set.
    #[error("{0}")]
    Label(PortError),
    /// The disc could not be ejected.
    #[error("{0}")]
    Eject(PortError),
    /// The task to enqueue is not one the daemon runs.
    #[error(transparent)]
    Enqueue(#[from] super::enqueue::EnqueueError),
}
