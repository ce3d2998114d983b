//! The actions of the control socket (SPEC §8), each turned into a response. What
//! changes the daemon goes through the engine's handle (which waits a bounded time for
//! the answer); queue listings run on blocking threads.

use amphigory_wire::control::{ControlRequest, ControlResponse, EnqueueArgs, PROTOCOL_VERSION};
use amphigory_wire::task::TaskType;
use serde_json::{Value, json};

use super::{ControlConfig, ControlContext};
use crate::queue::space::by_volume;
use crate::queue::{NewTask, RipSpec};

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

type Reply = Result<Value, String>;

/// Carries out one request.
pub(super) async fn handle(
    ctx: &ControlContext,
    _config: &ControlConfig,
    request: ControlRequest,
) -> Outcome {
    let reply = match request {
        ControlRequest::Subscribe { task_id, replay } => {
            return Outcome::Subscribe { task_id, replay };
        }
        ControlRequest::Stop => {
            return Outcome::Stop(ControlResponse::ok(json!({"stopping": true})));
        }
        ControlRequest::Version => Ok(version(ctx)),
        ControlRequest::Status => status(ctx).await,
        ControlRequest::Tasks => tasks(ctx).await,
        ControlRequest::Drives => Ok(json!({"drives": ctx.engine.snapshot().drives})),
        ControlRequest::Pause { now } => pause(ctx, now).await,
        ControlRequest::Resume => resume(ctx).await,
        ControlRequest::Cancel { task_id } => cancel(ctx, task_id).await,
        ControlRequest::Label { drive_id, label } => set_label(ctx, &drive_id, label).await,
        ControlRequest::Eject { drive_id } => eject(ctx, drive_id).await,
        ControlRequest::Enqueue(args) => enqueue(ctx, args).await,
    };
    Outcome::Reply(match reply {
        Ok(body) => ControlResponse::ok(body),
        Err(message) => ControlResponse::err(message),
    })
}

fn version(ctx: &ControlContext) -> Value {
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": PROTOCOL_VERSION,
        "daemon_id": ctx.engine.snapshot().daemon_id,
    })
}

/// Runs queue file I/O on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(format!("internal error: {e}")))
}

/// The snapshot as of now (the engine reads the pause marker and queue depth again),
/// with what the queued rips need per volume.
async fn status(ctx: &ControlContext) -> Reply {
    let snapshot = ctx.engine.status().await.map_err(|e| e.to_string())?;
    let queue = ctx.queue.clone();
    let ledger = ctx.space.clone();
    let space = blocking(move || {
        // What the queued rips need per volume (SPEC §11.2); a queue that cannot be
        // listed right now shows none rather than failing the whole status.
        let rips = queue.queued_rips().unwrap_or_default();
        Ok(by_volume(&rips, |dir| ledger.held_on(dir)))
    })
    .await?;
    let mut body = serde_json::to_value(&snapshot).map_err(|e| e.to_string())?;
    if let Some(map) = body.as_object_mut() {
        map.insert("protocol".into(), json!(PROTOCOL_VERSION));
        map.insert("space".into(), json!(space));
    }
    Ok(body)
}

/// Every task in queue order; running ones carry their drive and progress.
async fn tasks(ctx: &ControlContext) -> Reply {
    let queue = ctx.queue.clone();
    let entries = blocking(move || queue.list().map_err(|e| e.to_string())).await?;
    let running = ctx.engine.snapshot().running;
    let tasks: Vec<Value> = entries
        .into_iter()
        .map(|entry| {
            let mut value = serde_json::to_value(&entry).unwrap_or(Value::Null);
            let run = running.iter().find(|r| r.task_id == entry.id);
            if let (Some(map), Some(run)) = (value.as_object_mut(), run) {
                map.insert("drive_id".into(), json!(run.drive_id));
                map.insert("percent".into(), json!(run.percent));
                map.insert("eta_seconds".into(), json!(run.eta_seconds));
                map.insert("speed".into(), json!(run.speed));
            }
            value
        })
        .collect();
    Ok(json!({ "tasks": tasks }))
}

/// The engine writes the `PAUSED` marker (stopping running tasks when `now`) and shows
/// it before answering, so a `status` right after agrees.
async fn pause(ctx: &ControlContext, now: bool) -> Reply {
    let paused = ctx.engine.pause(now).await.map_err(|e| e.to_string())?;
    Ok(json!({"paused": true, "changed": paused.changed, "now": now, "requeued": paused.requeued}))
}

async fn resume(ctx: &ControlContext) -> Reply {
    let changed = ctx.engine.resume().await.map_err(|e| e.to_string())?;
    Ok(json!({"paused": false, "changed": changed}))
}

async fn cancel(ctx: &ControlContext, task_id: Option<String>) -> Reply {
    let id = ctx
        .engine
        .cancel(task_id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(json!({ "task_id": id }))
}

/// Labels a known drive, or a full drive id (`daemon:device`) of one not present now.
async fn set_label(ctx: &ControlContext, needle: &str, label: String) -> Reply {
    let labelled = ctx
        .engine
        .set_label(needle.to_owned(), label)
        .await
        .map_err(|e| e.to_string())?;
    Ok(json!({"drive_id": labelled.drive_id, "label": labelled.label}))
}

async fn eject(ctx: &ControlContext, needle: Option<String>) -> Reply {
    let drive = ctx.engine.eject(needle).await.map_err(|e| e.to_string())?;
    Ok(json!({"drive_id": drive.drive_id, "device": drive.device, "ejected": true}))
}

async fn enqueue(ctx: &ControlContext, args: EnqueueArgs) -> Reply {
    let task = new_task(args)?;
    let id = ctx.engine.enqueue(task).await.map_err(|e| e.to_string())?;
    Ok(json!({ "task_id": id }))
}

/// The wire arguments as a task to write; only daemon tasks, and a rip needs its track
/// and destination.
fn new_task(args: EnqueueArgs) -> Result<NewTask, String> {
    let base = match args.task_type {
        Some(TaskType::Scan) => NewTask::scan(),
        Some(TaskType::Rip) => {
            let track = args.track.ok_or("a rip needs `track` ({\"number\": N})")?;
            let output = args.output_info.unwrap_or_default();
            let (Some(directory), Some(filename)) = (output.directory, output.filename) else {
                return Err("a rip needs `output_info` with `directory` and `filename`".into());
            };
            NewTask::rip(RipSpec {
                track: track.number,
                expected_size_bytes: track.expected_size_bytes,
                expected_duration: track.expected_duration,
                directory: directory.into(),
                filename,
            })
        }
        Some(other) => {
            return Err(format!(
                "the daemon enqueues only scan and rip tasks, not {}",
                other.as_str()
            ));
        }
        None => return Err("`type` is required: \"scan\" or \"rip\"".to_owned()),
    };
    Ok(NewTask {
        drive: args.drive,
        disc_fingerprint: args.disc_fingerprint,
        ..base
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enqueue_arguments_become_tasks() {
        assert!(
            new_task(EnqueueArgs::default())
                .unwrap_err()
                .contains("type")
        );
        let scan = new_task(EnqueueArgs {
            task_type: Some(TaskType::Scan),
            drive: Some("sim0".into()),
            ..EnqueueArgs::default()
        })
        .unwrap();
        assert_eq!(scan.drive.as_deref(), Some("sim0"));
        let rip = EnqueueArgs {
            task_type: Some(TaskType::Rip),
            ..EnqueueArgs::default()
        };
        assert!(new_task(rip).unwrap_err().contains("track"));
        let transcode = EnqueueArgs {
            task_type: Some(TaskType::Transcode),
            ..EnqueueArgs::default()
        };
        assert!(new_task(transcode).unwrap_err().contains("transcode"));
    }
}
