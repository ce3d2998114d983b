//! [`EngineHandle`]: the one way into the engine for the control socket, the tray, the
//! webapp link and the demo. Cheap to clone; every request is typed, waits a bounded
//! time for its answer, and fails with an [`EngineError`] that says why.

use std::sync::Arc;
use std::time::Duration;

use amphigory_wire::control::KeepAwakeStatus;
use amphigory_wire::drive::DriveStatus;
use tokio::sync::{mpsc, oneshot, watch};

use crate::core::status::DriveLookupError;
use crate::core::{Problem, StatusHandle, StatusSnapshot};
use crate::queue::{NewTask, Queue, QueueError};

/// How long a request waits for the engine's answer by default.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an eject may take before its answer is given up on: the platform may try two
/// commands of up to 30 s each (`diskutil`, then `drutil`, on macOS).
pub const EJECT_TIMEOUT: Duration = Duration::from_secs(75);

/// Why a request to the engine failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine has stopped (the daemon is shutting down).
    #[error("the daemon is shutting down")]
    Stopped,
    /// No answer within the time limit.
    #[error("the engine did not answer in time; try again")]
    Timeout,
    /// The `PAUSED` marker could not be written or removed.
    #[error("{0}")]
    Queue(#[from] QueueError),
    /// Nothing to cancel under that name.
    #[error("{0}")]
    Cancel(#[from] CancelError),
    /// No drive answers to that name.
    #[error("{0}")]
    Drive(#[from] DriveLookupError),
    /// The label was refused or could not be stored.
    #[error("{0}")]
    Label(#[from] crate::drives::labels::LabelError),
    /// The disc could not be ejected.
    #[error("{0}")]
    Eject(#[from] crate::drives::EjectError),
    /// The thread writing the task failed.
    #[error("the task could not be written: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Why a cancel found nothing to stop.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    /// No task named and none runs.
    #[error("no task is running")]
    NothingRunning,
    /// No task named and several run.
    #[error("several tasks are running: name one")]
    SeveralRunning,
    /// The named task is neither queued nor running.
    #[error("no queued or running task '{0}'")]
    Unknown(String),
    /// The queue could not be changed.
    #[error("cannot cancel '{id}': {source}")]
    Queue {
        /// The task.
        id: String,
        /// What failed.
        source: QueueError,
    },
}

/// What a pause did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paused {
    /// The queue was not paused before.
    pub changed: bool,
    /// Tasks stopped to go back to the queue (pause now).
    pub requeued: Vec<String>,
}

/// A label as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelled {
    /// The drive labelled.
    pub drive_id: String,
    /// Its label now (`None`: removed).
    pub label: Option<String>,
}

/// News other components give the engine for the status it publishes.
#[derive(Debug, Clone)]
pub enum Report {
    /// The webapp link is up or down.
    WebappLink(bool),
    /// Whether the machine is kept awake.
    KeepAwake(KeepAwakeStatus),
    /// The problems the webapp's configuration means now (replacing the last ones).
    ConfigProblems(Vec<Problem>),
}

type Answer<T> = oneshot::Sender<Result<T, EngineError>>;

/// Requests the engine answers; build them through [`EngineHandle`].
#[derive(Debug)]
pub enum EngineCommand {
    /// Pause after the current task, or now.
    Pause {
        /// Stop running tasks now and requeue them.
        now: bool,
        /// Answer (none from the tray).
        reply: Option<Answer<Paused>>,
    },
    /// Resume the queue; answers whether it was paused.
    Resume {
        /// Answer (none from the tray).
        reply: Option<Answer<bool>>,
    },
    /// Stop a running task for good, or remove a queued one; `None` = the running task
    /// (the only one). Answers with the id cancelled.
    Cancel {
        /// Which task.
        task_id: Option<String>,
        /// Answer.
        reply: Answer<String>,
    },
    /// Eject the disc of a drive (`None`: the only drive).
    Eject {
        /// Which drive.
        drive: Option<String>,
        /// Answer: the drive ejected from.
        reply: Answer<DriveStatus>,
    },
    /// Label a drive (a full drive id may name one not present now).
    SetLabel {
        /// Which drive.
        drive: String,
        /// The label; empty removes it.
        label: String,
        /// Answer.
        reply: Answer<Labelled>,
    },
    /// The status as of now (pause marker and queue depth read again first).
    Status {
        /// Answer.
        reply: Answer<StatusSnapshot>,
    },
    /// News for the status.
    Report(Report),
}

/// A cheap, cloneable, typed handle to the engine.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    commands: mpsc::Sender<EngineCommand>,
    status: StatusHandle,
    queue: Option<Arc<Queue>>,
    timeout: Duration,
}

impl EngineHandle {
    /// A handle sending to `commands`, reading `status`, enqueueing into `queue`.
    pub fn new(
        commands: mpsc::Sender<EngineCommand>,
        status: StatusHandle,
        queue: Option<Arc<Queue>>,
    ) -> Self {
        Self {
            commands,
            status,
            queue,
            timeout: REPLY_TIMEOUT,
        }
    }

    /// The same handle, waiting at most `timeout` for answers.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Pauses after the running tasks, or `now` (they go back to the queue).
    pub async fn pause(&self, now: bool) -> Result<Paused, EngineError> {
        self.ask(|reply| EngineCommand::Pause {
            now,
            reply: Some(reply),
        })
        .await
    }

    /// Resumes; true when the queue was paused.
    pub async fn resume(&self) -> Result<bool, EngineError> {
        self.ask(|reply| EngineCommand::Resume { reply: Some(reply) })
            .await
    }

    /// Pause or resume without waiting for the answer (the tray's clicks).
    pub async fn set_paused(&self, paused: bool, now: bool) -> Result<(), EngineError> {
        let command = if paused {
            EngineCommand::Pause { now, reply: None }
        } else {
            EngineCommand::Resume { reply: None }
        };
        self.send(command).await
    }

    /// Cancels a task (`None`: the only running one); answers with its id.
    pub async fn cancel(&self, task_id: Option<String>) -> Result<String, EngineError> {
        self.ask(|reply| EngineCommand::Cancel { task_id, reply })
            .await
    }

    /// Ejects the disc of `drive` (`None`: the only drive); answers with the drive.
    pub async fn eject(&self, drive: Option<String>) -> Result<DriveStatus, EngineError> {
        let within = self.timeout.max(EJECT_TIMEOUT);
        self.ask_within(within, |reply| EngineCommand::Eject { drive, reply })
            .await
    }

    /// Labels a drive; an empty label removes it.
    pub async fn set_label(&self, drive: String, label: String) -> Result<Labelled, EngineError> {
        self.ask(|reply| EngineCommand::SetLabel {
            drive,
            label,
            reply,
        })
        .await
    }

    /// Writes a daemon task into the queue; answers with its id.
    pub async fn enqueue(&self, task: NewTask) -> Result<String, EngineError> {
        let Some(queue) = self.queue.clone() else {
            return Err(EngineError::Stopped);
        };
        Ok(tokio::task::spawn_blocking(move || queue.enqueue(&task)).await??)
    }

    /// The status as of now: the engine reads the pause marker and queue depth again.
    pub async fn status(&self) -> Result<StatusSnapshot, EngineError> {
        self.ask(|reply| EngineCommand::Status { reply }).await
    }

    /// The status as last published (no round trip).
    pub fn snapshot(&self) -> StatusSnapshot {
        self.status.get()
    }

    /// The published status, to wait for changes.
    pub fn watch(&self) -> watch::Receiver<StatusSnapshot> {
        self.status.watch()
    }

    /// Gives the engine news for the status (waiting at most the reply timeout for room
    /// in its queue).
    pub async fn report(&self, report: Report) {
        if let Err(e) = self.send(EngineCommand::Report(report)).await {
            tracing::debug!("report not delivered: {e}");
        }
    }

    /// Queues `command`, waiting at most the reply timeout for room.
    async fn send(&self, command: EngineCommand) -> Result<(), EngineError> {
        self.commands
            .send_timeout(command, self.timeout)
            .await
            .map_err(|e| match e {
                mpsc::error::SendTimeoutError::Timeout(_) => EngineError::Timeout,
                mpsc::error::SendTimeoutError::Closed(_) => EngineError::Stopped,
            })
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(Answer<T>) -> EngineCommand,
    ) -> Result<T, EngineError> {
        self.ask_within(self.timeout, command).await
    }

    /// Sends the request and waits for its answer, all of it within `within`.
    async fn ask_within<T>(
        &self,
        within: Duration,
        command: impl FnOnce(Answer<T>) -> EngineCommand,
    ) -> Result<T, EngineError> {
        let (reply, answer) = oneshot::channel();
        let asking = async {
            self.send(command(reply)).await?;
            answer.await.map_err(|_| EngineError::Stopped)?
        };
        tokio::time::timeout(within, asking)
            .await
            .unwrap_or(Err(EngineError::Timeout))
    }
}
