//! Running one claimed task on one drive: renew the lease while the runner works,
//! report progress to the engine, and turn the outcome into a result file (or a requeue)
//! and the event announcing it, which the engine publishes once its state shows the end.

use std::sync::Arc;

use amphigory_wire::result::{RipOutput, TaskResult};
use amphigory_wire::scan::ScanResult;
use amphigory_wire::task::TaskType;
use amphigory_wire::{ErrorCode, TaskError};

use super::job::Job;
use super::results::{self, RipFacts, RunClock};
use super::{EngineContext, StopReason};
use crate::core::{DaemonEvent, FinishedFacts};
use crate::makemkv::progress::ProgressUpdate;
use crate::makemkv::runner::{ChildEvent, RipRequest, RunError, Runner, Source};
use crate::queue::{Claim, QueueError, Task, TaskKind};
use crate::verify::Expected;

/// What the engine learns from a finished run.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// The scan, when the task was a successful scan.
    pub(crate) scan: Option<ScanResult>,
    /// A rip finished successfully.
    pub(crate) ripped: bool,
    /// The task finished but its result could not be written: the engine retries it
    /// (the claim is kept).
    pub(crate) pending: Option<Box<Unwritten>>,
    /// What to announce (task finished or requeued), after the state shows the end.
    pub(crate) event: Option<DaemonEvent>,
}

/// A finished task whose result could not be written.
#[derive(Debug)]
pub(crate) struct Unwritten {
    pub(crate) claim: Arc<Claim>,
    pub(crate) result: TaskResult,
    /// Why it could not be written.
    pub(crate) error: QueueError,
}

/// What the run came to.
enum Outcome {
    /// Write this result; the scan, when it is a successful scan.
    Finished(Box<TaskResult>, Option<ScanResult>),
    /// Put the task back in `queued/`.
    Requeue(&'static str),
    /// The claim is not ours any more: write nothing, touch nothing of the task's.
    ClaimLost(String),
}

/// Runs the job to its end, giving `on_progress` each progress update; never fails
/// (every failure becomes a result).
pub(crate) async fn run(
    ctx: EngineContext,
    job: Job,
    on_progress: impl FnMut(ProgressUpdate) + Send + 'static,
) -> Summary {
    let task = job.claim.task().clone();
    let clock = RunClock::start();
    let outcome = with_lease(&ctx, &job, execute(&ctx, &job, &clock, on_progress)).await;
    let mut summary = Summary::default();
    let mut event = None;
    match outcome {
        Outcome::Finished(result, scan) => {
            super::recorded::record(&ctx, &job, &clock, &result);
            summary.ripped = result.error.is_none() && result.task_type == TaskType::Rip;
            summary.scan = scan;
            match ctx.queue.finish(&job.claim, &result) {
                Ok(()) => event = Some(finished_event(&task, &result, Some(&job))),
                Err(QueueError::ClaimLost { reason, .. }) => {
                    event = Some(let_go(&ctx, &job.claim, &reason));
                }
                Err(error) => {
                    summary.pending = Some(Box::new(Unwritten {
                        claim: job.claim.clone(),
                        result: *result,
                        error,
                    }));
                }
            }
        }
        Outcome::Requeue(reason) => match ctx.queue.requeue(&job.claim) {
            Err(QueueError::ClaimLost { reason, .. }) => {
                event = Some(let_go(&ctx, &job.claim, &reason));
            }
            other => {
                if let Err(e) = other {
                    tracing::error!(task = %task.id, "cannot requeue: {e}");
                }
                tracing::info!(task = %task.id, "task requeued: {reason}");
                event = Some(DaemonEvent::TaskRequeued {
                    task_id: task.id.clone(),
                    reason: reason.into(),
                });
            }
        },
        Outcome::ClaimLost(reason) => event = Some(let_go(&ctx, &job.claim, &reason)),
    }
    summary.event = event;
    summary
}

/// Logs a task whose result is durable and builds the event saying so; `job` (when the
/// run is at hand) adds the drive and the disc to what the result says.
pub(crate) fn finished_event(task: &Task, result: &TaskResult, job: Option<&Job>) -> DaemonEvent {
    match &result.error {
        None => tracing::info!(task = %task.id, "task completed"),
        Some(e) => tracing::warn!(task = %task.id, code = %e.code, "task failed: {}", e.message),
    }
    DaemonEvent::TaskFinished {
        task_id: task.id.clone(),
        task_type: task.task_type(),
        error: result.error.clone(),
        facts: finished_facts(task, result, job),
    }
}

/// What a hook or a notification may want to say about the run besides its outcome.
fn finished_facts(task: &Task, result: &TaskResult, job: Option<&Job>) -> FinishedFacts {
    let output = result
        .result
        .as_ref()
        .filter(|_| result.error.is_none() && matches!(task.kind, TaskKind::Rip(_)))
        .and_then(|r| serde_json::from_value::<RipOutput>(r.clone()).ok());
    let source = result.source.as_ref();
    FinishedFacts {
        drive_id: job.map(|j| j.drive.drive_id.clone()),
        size_bytes: output.as_ref().map(|o| o.size_bytes),
        name: output.as_ref().map(|o| file_stem(&o.destination.filename)),
        seconds: result.duration_seconds,
        output_path: output.map(|o| o.output_path),
        title: match &task.kind {
            TaskKind::Rip(spec) => Some(spec.track),
            TaskKind::Scan => None,
        },
        disc_fingerprint: source
            .and_then(|s| s.disc_fingerprint.clone())
            .or_else(|| task.disc_fingerprint.clone())
            .or_else(|| job.and_then(|j| j.disc_fingerprint.clone())),
        volume: job.and_then(|j| j.disc_volume.clone()),
    }
}

/// A file name without its extension (`Movie.mkv` → `Movie`).
fn file_stem(filename: &str) -> String {
    std::path::Path::new(filename)
        .file_stem()
        .map_or_else(|| filename.to_owned(), |s| s.to_string_lossy().into_owned())
}

/// Logs and publishes a task whose result became durable later (see `pending`).
pub(crate) fn announce_finished(ctx: &EngineContext, task: &Task, result: &TaskResult) {
    ctx.bus.publish(finished_event(task, result, None));
}

/// Runs `work` while renewing the claim's lease, so no other daemon takes it over. A
/// renewal that finds the claim lost stops the run at once (SPEC §4 "Claim lost").
async fn with_lease(
    ctx: &EngineContext,
    job: &Job,
    work: impl std::future::Future<Output = Outcome>,
) -> Outcome {
    let mut lease = tokio::time::interval(ctx.options.lease_interval);
    lease.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    lease.reset(); // the claim was made just now
    tokio::pin!(work);
    let mut lost = None;
    loop {
        tokio::select! {
            outcome = &mut work => {
                return match (outcome, lost) {
                    (Outcome::ClaimLost(_), Some(reason)) => Outcome::ClaimLost(reason),
                    (outcome, _) => outcome,
                };
            }
            _ = lease.tick(), if lost.is_none() => match ctx.queue.touch(&job.claim) {
                Ok(()) => {}
                Err(QueueError::ClaimLost { reason, .. }) => {
                    tracing::error!(task = %job.claim.task().id, "claim lost ({reason}); stopping the run");
                    let _ = job.reason.set(StopReason::ClaimLost);
                    job.cancel.cancel();
                    lost = Some(reason);
                }
                Err(e) => {
                    tracing::warn!(task = %job.claim.task().id, "cannot renew the lease: {e}; trying again in {:?}", ctx.options.lease_interval);
                }
            },
        }
    }
}

async fn execute(
    ctx: &EngineContext,
    job: &Job,
    clock: &RunClock,
    on_progress: impl FnMut(ProgressUpdate) + Send + 'static,
) -> Outcome {
    let task = job.claim.task();
    let source = Source::Device(job.drive.device.clone());
    let runner = task_runner(ctx, &job.claim);
    match &task.kind {
        TaskKind::Scan => match scan(job, &runner, &source, on_progress).await {
            Ok(scan) => {
                let result = results::scan_success(&task.id, clock, &scan);
                Outcome::Finished(Box::new(result), Some(scan))
            }
            Err(e) => failed(job, TaskType::Scan, clock, e),
        },
        TaskKind::Rip(spec) => {
            let scanned = job
                .cached_scan
                .as_deref()
                .and_then(|s| s.tracks.iter().find(|t| t.number == spec.track));
            let expected_size = spec
                .expected_size_bytes
                .or(scanned.and_then(|t| t.size_bytes));
            let request = RipRequest {
                source,
                title: spec.track,
                output_dir: spec.directory.clone(),
                filename: spec.filename.clone(),
                expected_size,
                space_needed: Some(expected_size.unwrap_or_else(|| default_rip_size(job))),
                temp_dir: job.claim.rip_temp_dir(),
                usual_rate: super::recorded::usual_rate(ctx, job),
            };
            if let Err(e) =
                super::output::prepare(&spec.directory, ctx.options.ripped_directory.as_deref())
            {
                let result = results::failure(&task.id, TaskType::Rip, clock, e);
                return Outcome::Finished(Box::new(result), None);
            }
            match runner.rip(&request, &job.cancel, on_progress).await {
                Ok(out) => {
                    let expected = Expected {
                        size_bytes: expected_size,
                        duration: spec
                            .expected_duration
                            .clone()
                            .or_else(|| scanned.and_then(|t| t.duration.clone())),
                    };
                    let verification = match super::proof::verify_rip(&out.path, expected).await {
                        Ok(v) => v,
                        Err(e) => {
                            let result = results::failure(&task.id, TaskType::Rip, clock, e);
                            return Outcome::Finished(Box::new(result), None);
                        }
                    };
                    let facts = RipFacts {
                        title: spec.track,
                        output_path: &out.path,
                        size_bytes: out.size_bytes,
                        makemkv_name: out.makemkv_name.clone(),
                        fingerprint: task
                            .disc_fingerprint
                            .clone()
                            .or_else(|| job.disc_fingerprint.clone()),
                        scanned,
                        expected_size_bytes: spec.expected_size_bytes,
                        expected_duration: spec.expected_duration.clone(),
                        verification,
                    };
                    let result = results::rip_success(&task.id, clock, &facts);
                    Outcome::Finished(Box::new(result), None)
                }
                Err(e) => failed(job, TaskType::Rip, clock, e),
            }
        }
    }
}

/// The disc's scan: the cached one when the drive has it (SPEC §9.2: never scan one
/// disc twice), else a fresh one, carrying the disc's fingerprint either way.
async fn scan(
    job: &Job,
    runner: &Runner,
    source: &Source,
    mut on_progress: impl FnMut(ProgressUpdate) + Send,
) -> Result<ScanResult, RunError> {
    let mut scan = match &job.cached_scan {
        Some(cached) => {
            tracing::info!(task = %job.claim.task().id, "answered from the scan of the disc already made");
            // Done at once, but whoever follows the task sees the usual 0 % … 100 %.
            for percent in [0, 100] {
                on_progress(ProgressUpdate {
                    percent,
                    eta_seconds: (percent == 100).then_some(0),
                    current_size_bytes: None,
                    speed: None,
                });
            }
            ScanResult::clone(cached)
        }
        None => runner.scan(source, &job.cancel, on_progress).await?,
    };
    super::state::complete_scan(
        &mut scan,
        job.disc_fingerprint.as_deref(),
        job.disc_volume.as_deref(),
    );
    Ok(scan)
}

/// The shared runner's command and limits, plus a hook recording the child's pid with
/// the claim so a restarted daemon can stop an orphaned makemkvcon before using the drive.
fn task_runner(ctx: &EngineContext, claim: &Arc<Claim>) -> Runner {
    let (queue, claim) = (ctx.queue.clone(), claim.clone());
    ctx.runner.for_task(move |event| {
        let pid = match event {
            ChildEvent::Spawned { pid } => Some(pid),
            ChildEvent::Reaped { .. } => None,
        };
        if let Err(e) = queue.record_child_pid(&claim, pid) {
            tracing::warn!(task = %claim.task().id, "cannot record the makemkvcon pid: {e}");
        }
    })
}

/// What a rip of unknown size must find free (SPEC §11.2): 50 GB for a Blu-ray (or a
/// disc of unknown type), 9 GB for a DVD.
fn default_rip_size(job: &Job) -> u64 {
    if super::recorded::disc_type(job) == Some("dvd") {
        crate::queue::space::DEFAULT_DVD_BYTES
    } else {
        crate::queue::space::DEFAULT_BLURAY_BYTES
    }
}

/// Maps a runner error to a result, or to a requeue when the stop was a pause or a
/// shutdown rather than a failure.
fn failed(job: &Job, task_type: TaskType, clock: &RunClock, error: RunError) -> Outcome {
    let task_id = &job.claim.task().id;
    let task_error = match (&error, job.reason.get()) {
        (RunError::Cancelled, Some(StopReason::PauseNow)) => return Outcome::Requeue("paused now"),
        (RunError::Cancelled, Some(StopReason::ClaimLost)) => {
            return Outcome::ClaimLost("the claim is not ours any more".to_owned());
        }
        (RunError::Cancelled, Some(StopReason::Shutdown)) => {
            return Outcome::Requeue("daemon shutting down");
        }
        (RunError::Cancelled, Some(StopReason::DiscEjected)) => TaskError::new(
            ErrorCode::DiscEjected,
            format!("Disc was ejected during {}", task_type.as_str()),
            Some(format!(
                "drive {} reported the disc gone",
                job.drive.drive_id
            )),
        ),
        (RunError::Cancelled, _) => {
            TaskError::new(ErrorCode::TaskCancelled, "Cancelled by the user", None)
        }
        (other, _) => other.to_task_error(),
    };
    let result = results::failure(task_id, task_type, clock, task_error);
    Outcome::Finished(Box::new(result), None)
}

/// A claim found lost (SPEC §4 "Claim lost"), after its run stopped: let go of it
/// without writing anything, and say so.
pub(crate) fn claim_lost(ctx: &EngineContext, claim: &Claim, reason: &str) {
    ctx.bus.publish(let_go(ctx, claim, reason));
}

/// Lets go of a lost claim (nothing written) and returns the event announcing it, for
/// the engine to publish once its state shows the run ended.
pub(crate) fn let_go(ctx: &EngineContext, claim: &Claim, reason: &str) -> DaemonEvent {
    if let Err(e) = ctx.queue.abandon(claim) {
        tracing::warn!(task = %claim.id(), "cannot clean up after the lost claim: {e}");
    }
    tracing::error!(task = %claim.id(), "claim lost: {reason}; stopped, nothing written");
    DaemonEvent::ClaimLost {
        task_id: claim.id().to_owned(),
        reason: reason.to_owned(),
    }
}
