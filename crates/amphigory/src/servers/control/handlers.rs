//! The actions of the control socket (SPEC §8), each turned into a typed reply. Queue
//! file I/O runs on blocking threads; engine calls go through `engine_link`.

use amphigory_wire::control::{
    ControlRequest, ControlResponse, DrivesReply, EjectReply, LabelReply, PROTOCOL_VERSION,
    PauseReply, Reply, ResumeReply, StatusReply, StopReply, TaskIdReply, TaskRow, TaskRun,
    TasksReply, VersionReply,
};

use super::drive_lookup::find_drive;
use super::enqueue::new_task;
use super::error::ActionError;
use super::snapshot::{daemon_status, task_state};
use super::{ControlConfig, ControlContext, engine_link};
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
    config: &ControlConfig,
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
            drives: ctx.status.get().drives,
        }
        .into()),
        ControlRequest::Pause { now } => pause(ctx, now).await.map(Reply::from),
        ControlRequest::Resume => resume(ctx).await.map(Reply::from),
        ControlRequest::Cancel { task_id } => {
            engine_link::cancel(&ctx.commands, config.reply_timeout, task_id)
                .await
                .map(|task_id| TaskIdReply { task_id }.into())
        }
        ControlRequest::Label { drive_id, label } => {
            set_label(ctx, &drive_id, label).await.map(Reply::from)
        }
        ControlRequest::Eject { drive_id } => {
            eject(ctx, drive_id.as_deref()).await.map(Reply::from)
        }
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
        daemon_id: ctx.status.get().daemon_id,
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

/// The snapshot, with the queue depth and pause state read from the queue itself (the
/// engine's copy can be a moment behind a `pause` just answered).
async fn status(ctx: &ControlContext) -> Result<StatusReply, ActionError> {
    let queue = ctx.queue.clone();
    let ledger = ctx.space.clone();
    let (depth, paused, space) = blocking(move || {
        // What the queued rips need per volume (SPEC §11.2); a queue that cannot be
        // listed right now shows none rather than failing the whole status.
        let rips = queue.queued_rips().unwrap_or_default();
        let space = by_volume(&rips, |dir| ledger.held_on(dir));
        Ok::<_, ActionError>((queue.queue_depth(), queue.is_paused(), space))
    })
    .await?;
    let mut snapshot = ctx.status.get();
    snapshot.queue_depth = depth;
    snapshot.paused = paused;
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
    let running = ctx.status.get().running;
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
        state: task_state(entry.state),
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

/// Writes the `PAUSED` marker before answering (so a `status` right after agrees), and
/// tells the engine, which stops running tasks when `now`.
async fn pause(ctx: &ControlContext, now: bool) -> Result<PauseReply, ActionError> {
    let queue = ctx.queue.clone();
    let changed = blocking(move || queue.set_paused(true)).await?;
    let requeued: Vec<String> = if now {
        ctx.status
            .get()
            .running
            .into_iter()
            .map(|r| r.task_id)
            .collect()
    } else {
        Vec::new()
    };
    engine_link::pause(&ctx.commands, now).await?;
    Ok(PauseReply {
        paused: true,
        changed,
        now,
        requeued,
    })
}

async fn resume(ctx: &ControlContext) -> Result<ResumeReply, ActionError> {
    let queue = ctx.queue.clone();
    let changed = blocking(move || queue.set_paused(false)).await?;
    engine_link::resume(&ctx.commands).await?;
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
    let drives = ctx.status.get().drives;
    let drive_id = match find_drive(&drives, Some(needle)) {
        Ok(drive) => drive.drive_id,
        Err(_) if needle.contains(':') => needle.to_owned(),
        Err(missing) => return Err(missing.into()),
    };
    let labels = ctx.labels.clone();
    let id = drive_id.clone();
    let label = blocking(move || labels.set_label(&id, &label).map_err(ActionError::Label)).await?;
    let labels = ctx.labels.clone();
    ctx.status.update(|s| labels.apply_labels(&mut s.drives));
    Ok(LabelReply { drive_id, label })
}

async fn eject(ctx: &ControlContext, needle: Option<&str>) -> Result<EjectReply, ActionError> {
    let drive = find_drive(&ctx.status.get().drives, needle)?;
    ctx.ejector
        .eject_disc(&drive.drive_id, &drive.device)
        .await
        .map_err(ActionError::Eject)?;
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
    let queue = ctx.queue.clone();
    let task_id = blocking(move || queue.enqueue(&task)).await?;
    Ok(TaskIdReply { task_id })
}
