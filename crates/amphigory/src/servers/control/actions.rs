//! The actions of the control socket (SPEC §8), each turned into a response. Queue file
//! I/O runs on blocking threads; engine commands wait a bounded time for their answer.

use amphigory_wire::control::{ControlRequest, ControlResponse, EnqueueArgs, PROTOCOL_VERSION};
use amphigory_wire::drive::DriveStatus;
use amphigory_wire::task::TaskType;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::{ControlConfig, ControlContext};
use crate::core::status::drive_matches;
use crate::engine::EngineCommand;
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
    config: &ControlConfig,
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
        ControlRequest::Drives => Ok(json!({"drives": ctx.status.get().drives})),
        ControlRequest::Pause { now } => pause(ctx, now).await,
        ControlRequest::Resume => resume(ctx).await,
        ControlRequest::Cancel { task_id } => cancel(ctx, config, task_id).await,
        ControlRequest::Label { drive_id, label } => set_label(ctx, &drive_id, label).await,
        ControlRequest::Eject { drive_id } => eject(ctx, drive_id.as_deref()).await,
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
        "daemon_id": ctx.status.get().daemon_id,
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

/// The snapshot, with the queue depth and pause state read from the queue itself (the
/// engine's copy can be a moment behind a `pause` just answered).
async fn status(ctx: &ControlContext) -> Reply {
    let queue = ctx.queue.clone();
    let ledger = ctx.space.clone();
    let (depth, paused, space) = blocking(move || {
        // What the queued rips need per volume (SPEC §11.2); a queue that cannot be
        // listed right now shows none rather than failing the whole status.
        let rips = queue.queued_rips().unwrap_or_default();
        let space = by_volume(&rips, |dir| ledger.held_on(dir));
        Ok((queue.queue_depth(), queue.is_paused(), space))
    })
    .await?;
    let mut snapshot = ctx.status.get();
    snapshot.queue_depth = depth;
    snapshot.paused = paused;
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
    let running = ctx.status.get().running;
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

/// Writes the `PAUSED` marker before answering (so a `status` right after agrees), and
/// tells the engine, which stops running tasks when `now`.
async fn pause(ctx: &ControlContext, now: bool) -> Reply {
    let queue = ctx.queue.clone();
    let changed = blocking(move || queue.set_paused(true).map_err(|e| e.to_string())).await?;
    let stopped: Vec<String> = if now {
        ctx.status
            .get()
            .running
            .into_iter()
            .map(|r| r.task_id)
            .collect()
    } else {
        Vec::new()
    };
    engine(ctx, EngineCommand::Pause { now }).await?;
    Ok(json!({"paused": true, "changed": changed, "now": now, "requeued": stopped}))
}

async fn resume(ctx: &ControlContext) -> Reply {
    let queue = ctx.queue.clone();
    let changed = blocking(move || queue.set_paused(false).map_err(|e| e.to_string())).await?;
    engine(ctx, EngineCommand::Resume).await?;
    Ok(json!({"paused": false, "changed": changed}))
}

async fn engine(ctx: &ControlContext, command: EngineCommand) -> Result<(), String> {
    ctx.commands
        .send(command)
        .await
        .map_err(|_| "the daemon is shutting down".to_owned())
}

async fn cancel(ctx: &ControlContext, config: &ControlConfig, task_id: Option<String>) -> Reply {
    let (reply, answer) = oneshot::channel();
    engine(ctx, EngineCommand::Cancel { task_id, reply }).await?;
    match tokio::time::timeout(config.reply_timeout, answer).await {
        Ok(Ok(Ok(id))) => Ok(json!({ "task_id": id })),
        Ok(Ok(Err(message))) => Err(message),
        Ok(Err(_)) => Err("the daemon is shutting down".to_owned()),
        Err(_) => Err("the engine did not answer in time; try again".to_owned()),
    }
}

/// The drive `needle` names (id, device, or device without `/dev/`); `None` = the only
/// drive.
fn find_drive(drives: &[DriveStatus], needle: Option<&str>) -> Result<DriveStatus, String> {
    let found = match needle {
        Some(needle) => drives.iter().find(|d| drive_matches(d, needle)),
        None if drives.len() == 1 => drives.first(),
        None if drives.is_empty() => return Err("this daemon has no drives".to_owned()),
        None => return Err(format!("several drives: name one of {}", names(drives))),
    };
    found.cloned().ok_or_else(|| match needle {
        Some(needle) if drives.is_empty() => {
            format!("no drive '{needle}': this daemon has no drives")
        }
        Some(needle) => format!("no drive '{needle}'; drives: {}", names(drives)),
        None => "no drive".to_owned(),
    })
}

fn names(drives: &[DriveStatus]) -> String {
    let ids: Vec<&str> = drives.iter().map(|d| d.drive_id.as_str()).collect();
    ids.join(", ")
}

/// Labels a known drive, or a full drive id (`daemon:device`) of one not present now.
async fn set_label(ctx: &ControlContext, needle: &str, label: String) -> Reply {
    let drives = ctx.status.get().drives;
    let drive_id = match find_drive(&drives, Some(needle)) {
        Ok(drive) => drive.drive_id,
        Err(_) if needle.contains(':') => needle.to_owned(),
        Err(message) => return Err(message),
    };
    let labels = ctx.labels.clone();
    let id = drive_id.clone();
    let label = blocking(move || labels.set(&id, &label).map_err(|e| e.to_string())).await?;
    let labels = ctx.labels.clone();
    ctx.status.update(|s| labels.apply(&mut s.drives));
    Ok(json!({"drive_id": drive_id, "label": label}))
}

async fn eject(ctx: &ControlContext, needle: Option<&str>) -> Reply {
    let drive = find_drive(&ctx.status.get().drives, needle)?;
    ctx.ejector
        .eject(&drive.drive_id, &drive.device)
        .await
        .map_err(|e| e.to_string())?;
    Ok(json!({"drive_id": drive.drive_id, "device": drive.device, "ejected": true}))
}

async fn enqueue(ctx: &ControlContext, args: EnqueueArgs) -> Reply {
    let task = new_task(args)?;
    let queue = ctx.queue.clone();
    let id = blocking(move || queue.enqueue(&task).map_err(|e| e.to_string())).await?;
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

    fn drive(id: &str, device: &str) -> DriveStatus {
        DriveStatus {
            drive_id: id.into(),
            device: device.into(),
            ..DriveStatus::default()
        }
    }

    #[test]
    fn drives_are_found_by_id_device_or_short_name() {
        let one = [drive("d@h:sim0", "/dev/sim0")];
        assert_eq!(find_drive(&one, None).unwrap().drive_id, "d@h:sim0");
        assert_eq!(find_drive(&one, Some("sim0")).unwrap().drive_id, "d@h:sim0");
        assert!(
            find_drive(&one, Some("sr9"))
                .unwrap_err()
                .contains("d@h:sim0")
        );
        let two = [
            drive("d@h:sim0", "/dev/sim0"),
            drive("d@h:sim1", "/dev/sim1"),
        ];
        assert!(find_drive(&two, None).unwrap_err().contains("several"));
        assert!(find_drive(&[], None).unwrap_err().contains("no drives"));
    }

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
