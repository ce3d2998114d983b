//! The actions of the control socket (SPEC §8), each turned into a typed reply. What
//! changes the daemon goes through the engine's handle (which waits a bounded time for
//! its answer); queue listings run on blocking threads.

use amphigory_wire::control::{
    ControlRequest, ControlResponse, DrivesReply, EjectReply, LabelReply, PROTOCOL_VERSION,
    PauseReply, Reply, ResumeReply, StatusReply, StopReply, TaskIdReply, TaskRow, TaskRun,
    TasksReply, VersionReply,
};

use super::enqueue::new_task;
use super::error::ActionError;
use super::snapshot::daemon_status;
use super::{ControlConfig, ControlContext};
use crate::core::status::RunningTask;
use crate::queue::TaskEntry;
use crate::queue::space::by_volume;

/// What the connection does next.
pub(super) enum Outcome {
    /// Send this.
    Reply(ControlResponse),
    /// Send this, then shut the daemon down.
    Stop(ControlResponse),
    /// Turn the connection into an event stream.
    Subscribe {
        /// Only this task's events (and daemon-wide ones).
        task_id: Option<String>,
        /// Replay the recent events first.
        replay: bool,
    },
}

/// Carries out one request.
pub(super) async fn handle(
    ctx: &ControlContext,
    _config: &ControlConfig,
    request: ControlRequest,
) -> Outcome {
    let reply: Result<Reply, ActionError> = match request {
        ControlRequest::Subscribe { task_id, replay } => {
            return Outcome::Subscribe { task_id, replay };
        }
        ControlRequest::Stop => {
            return Outcome::Stop(ControlResponse::ok(StopReply { stopping: true }));
        }
        ControlRequest::Version => Ok(version(ctx).into()),
        ControlRequest::Status => status(ctx).await.map(Reply::from),
        ControlRequest::Tasks => tasks(ctx).await.map(Reply::from),
        ControlRequest::Drives => Ok(DrivesReply {
            drives: ctx.engine.snapshot().drives,
        }
        .into()),
        ControlRequest::Pause { now } => pause(ctx, now).await.map(Reply::from),
        ControlRequest::Resume => resume(ctx).await.map(Reply::from),
        ControlRequest::Cancel { task_id } => ctx
            .engine
            .cancel(task_id)
            .await
            .map(|task_id| TaskIdReply { task_id }.into())
            .map_err(ActionError::from),
        ControlRequest::Label { drive_id, label } => {
            set_label(ctx, &drive_id, label).await.map(Reply::from)
        }
        ControlRequest::Eject { drive_id } => eject(ctx, drive_id).await.map(Reply::from),
        ControlRequest::Enqueue(args) => enqueue(ctx, args).await.map(Reply::from),
    };
    Outcome::Reply(match reply {
        Ok(body) => ControlResponse::ok(body),
        Err(refused) => ControlResponse::err(refused.to_string()),
    })
}

fn version(ctx: &ControlContext) -> VersionReply {
    VersionReply {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        protocol: PROTOCOL_VERSION,
        daemon_id: ctx.engine.snapshot().daemon_id,
    }
}

/// Runs queue file I/O on a blocking thread.
async fn blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ActionError>
where
    T: Send + 'static,
    E: Send + 'static,
    ActionError: From<E>,
{
    Ok(tokio::task::spawn_blocking(work).await??)
}

/// The snapshot as of now (the engine reads the pause marker and queue depth again),
/// with what the queued rips need per volume.
async fn status(ctx: &ControlContext) -> Result<StatusReply, ActionError> {
    let snapshot = ctx.engine.status().await?;
    let queue = ctx.queue.clone();
    let ledger = ctx.space.clone();
    let space = blocking(move || {
        // What the queued rips need per volume (SPEC §11.2); a queue that cannot be
        // listed right now shows none rather than failing the whole status.
        let rips = queue.queued_rips().unwrap_or_default();
        Ok::<_, ActionError>(by_volume(&rips, |dir| ledger.held_on(dir)))
    })
    .await?;
    Ok(StatusReply {
        status: daemon_status(snapshot),
        protocol: PROTOCOL_VERSION,
        space,
    })
}

/// Every task in queue order; running ones carry their drive and progress.
async fn tasks(ctx: &ControlContext) -> Result<TasksReply, ActionError> {
    let queue = ctx.queue.clone();
    let entries = blocking(move || queue.list()).await?;
    let running = ctx.engine.snapshot().running;
    let tasks = entries
        .into_iter()
        .map(|entry| {
            let run = running.iter().find(|r| r.task_id == entry.id);
            task_row(entry, run)
        })
        .collect();
    Ok(TasksReply { tasks })
}

fn task_row(entry: TaskEntry, run: Option<&RunningTask>) -> TaskRow {
    TaskRow {
        id: entry.id,
        task_type: entry.task_type,
        state: entry.state,
        owned: entry.owned,
        listed: entry.listed,
        run: run.map(|run| TaskRun {
            drive_id: run.drive_id.clone(),
            percent: run.percent,
            eta_seconds: run.eta_seconds,
            speed: run.speed.clone(),
        }),
    }
}

/// The engine writes the `PAUSED` marker (stopping running tasks when `now`) and shows
/// it before answering, so a `status` right after agrees.
async fn pause(ctx: &ControlContext, now: bool) -> Result<PauseReply, ActionError> {
    let paused = ctx.engine.pause(now).await?;
    Ok(PauseReply {
        paused: true,
        changed: paused.changed,
        now,
        requeued: paused.requeued,
    })
}

async fn resume(ctx: &ControlContext) -> Result<ResumeReply, ActionError> {
    let changed = ctx.engine.resume().await?;
    Ok(ResumeReply {
        paused: false,
        changed,
    })
}

/// Labels a known drive, or a full drive id (`daemon:device`) of one not present now.
async fn set_label(
    ctx: &ControlContext,
    needle: &str,
    label: String,
) -> Result<LabelReply, ActionError> {
    let labelled = ctx.engine.set_label(needle.to_owned(), label).await?;
    Ok(LabelReply {
        drive_id: labelled.drive_id,
        label: labelled.label,
    })
}

async fn eject(ctx: &ControlContext, needle: Option<String>) -> Result<EjectReply, ActionError> {
    let drive = ctx.engine.eject(needle).await?;
    Ok(EjectReply {
        drive_id: drive.drive_id,
        device: drive.device,
        ejected: true,
    })
}

async fn enqueue(
    ctx: &ControlContext,
    args: amphigory_wire::control::EnqueueArgs,
) -> Result<TaskIdReply, ActionError> {
    let task = new_task(args)?;
    let task_id = ctx.engine.enqueue(task).await?;
    Ok(TaskIdReply { task_id })
}
