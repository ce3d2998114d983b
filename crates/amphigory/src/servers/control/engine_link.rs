//! Every call the control socket makes to the engine, in one place (so the channel can
//! give way to a typed engine handle without touching the actions).

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::error::ActionError;
use crate::engine::EngineCommand;

/// Pause the queue; `now` stops the running tasks and requeues them.
pub(super) async fn pause(
    commands: &mpsc::Sender<EngineCommand>,
    now: bool,
) -> Result<(), ActionError> {
    send(commands, EngineCommand::Pause { now }).await
}

/// Resume the queue.
pub(super) async fn resume(commands: &mpsc::Sender<EngineCommand>) -> Result<(), ActionError> {
    send(commands, EngineCommand::Resume).await
}

/// Cancels `task_id` (the running task when `None`), waiting at most `timeout` for the
/// engine's answer: the id cancelled.
pub(super) async fn cancel(
    commands: &mpsc::Sender<EngineCommand>,
    timeout: Duration,
    task_id: Option<String>,
) -> Result<String, ActionError> {
    let (reply, answer) = oneshot::channel();
    send(commands, EngineCommand::Cancel { task_id, reply }).await?;
    match tokio::time::timeout(timeout, answer).await {
        Ok(Ok(Ok(id))) => Ok(id),
        Ok(Ok(Err(message))) => Err(ActionError::Engine(message)),
        Ok(Err(_)) => Err(ActionError::ShuttingDown),
        Err(_) => Err(ActionError::EngineTimeout),
    }
}

async fn send(
    commands: &mpsc::Sender<EngineCommand>,
    command: EngineCommand,
) -> Result<(), ActionError> {
    commands
        .send(command)
        .await
        .map_err(|_| ActionError::ShuttingDown)
}
