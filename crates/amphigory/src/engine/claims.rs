//! Starting what selection claimed: on the drive routing names (or failed, when routing
//! finds it ambiguous), with the scan of the disc when the drive has one; and handing in
//! results the engine decides itself, or letting go of a claim that is lost.

use std::sync::Arc;

use amphigory_wire::scan::ScanResult;
use amphigory_wire::{ErrorCode, TaskError};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::task::TaskTracker;

use super::job::Job;
use super::routing::Route;
use super::state::{self, DiscScan, Running};
use super::task_run::{self, let_go};
use super::{Done, Engine, results};
use crate::core::DaemonEvent;
use crate::makemkv::progress::ProgressUpdate;
use crate::queue::{Claim, QueueError, TaskKind};

impl Engine {
    pub(super) fn start_claimed(&mut self, claim: Claim) {
        match self.registry.route(claim.task()) {
            Route::Drive(index) => self.start(index, claim),
            Route::Ambiguous(candidates) => self.fail_ambiguous(claim, &candidates),
            other => {
                tracing::debug!(task = %claim.task().id, "route changed to {other:?}; requeueing");
                if let Err(e) = self.ctx.queue.requeue(&claim) {
                    tracing::error!(task = %claim.task().id, "cannot requeue: {e}");
                }
            }
        }
    }

    fn start(&mut self, index: usize, claim: Claim) {
        let Some(entry) = self.registry.drives.get(index) else {
            // Unreachable (the index was just routed to), but a claim is never dropped.
            if let Err(e) = self.ctx.queue.requeue(&claim) {
                tracing::error!(task = %claim.task().id, "cannot requeue: {e}");
            }
            return;
        };
        let task = claim.task();
        let disc = entry.disc.as_ref();
        // A scan task is answered with it; a rip takes the title's facts from it.
        let cached_scan = disc.and_then(|d| self.cached_scan(d, task.disc_fingerprint.as_deref()));
        let scans = matches!(task.kind, TaskKind::Scan) && cached_scan.is_none();
        let running = Running::task(task, &entry.slot.drive_id);
        let job = Job {
            drive: entry.slot.clone(),
            disc_fingerprint: disc.and_then(|d| d.fingerprint.clone()),
            disc_volume: disc.and_then(|d| d.volume_name.clone()),
            cached_scan,
            cancel: running.cancel.clone(),
            reason: running.reason.clone(),
            claim: Arc::new(claim),
        };
        let (generation, run) = (disc.map(|d| d.generation), running.run);
        let task = job.claim.task();
        let started = DaemonEvent::TaskStarted {
            task_id: task.id.clone(),
            task_type: task.task_type(),
            drive_id: job.drive.drive_id.clone(),
        };
        tracing::info!(task = %task.id, drive = %job.drive.drive_id, "starting {} task", task.task_type().as_str());
        if let Some(entry) = self.registry.drives.get_mut(index) {
            entry.task_started(task, running, scans, &results::now_rfc3339());
        }
        // What was just claimed no longer waits: the status that comes with the start
        // shows the depth without it.
        self.refresh_pause_and_depth();
        self.emit(started);
        let (ctx, done) = (self.ctx.clone(), self.done_tx.clone());
        let (progress, tracker) = (done.clone(), self.tracker.clone());
        self.tracker.spawn(async move {
            let drive_id = job.drive.drive_id.clone();
            let report = move |update| report_progress(&progress, &tracker, run, update);
            let outcome = Box::new(task_run::run(ctx, job, report).await);
            let _ = done
                .send(Done::Task {
                    drive_id,
                    run,
                    generation,
                    outcome,
                })
                .await;
        });
    }

    /// A finished scan of `disc` a scan task may be answered with: the drive's own, or
    /// one of another copy of the disc. Never when the task is for another disc.
    fn cached_scan(&self, disc: &state::Disc, wanted: Option<&str>) -> Option<Arc<ScanResult>> {
        if wanted.is_some_and(|w| disc.fingerprint.as_deref().is_some_and(|fp| fp != w)) {
            return None;
        }
        match &disc.scan {
            DiscScan::Done(scan) => Some(scan.clone()),
            _ => disc
                .fingerprint
                .as_deref()
                .and_then(|fp| self.registry.scan_of(fp)),
        }
    }

    /// Fails a task that could run on several drives (SPEC §9.1), naming them.
    fn fail_ambiguous(&mut self, claim: Claim, candidates: &[String]) {
        let task = claim.task();
        let error = TaskError::new(
            ErrorCode::InvalidTask,
            format!(
                "Invalid task: {} drives hold discs ({}); say which with `drive` or \
                 `disc_fingerprint`",
                candidates.len(),
                candidates.join(", ")
            ),
            Some("SPEC §9.1: the task names no drive and no disc fingerprint".to_owned()),
        );
        let result = results::failure(
            &task.id,
            task.task_type(),
            &results::RunClock::start(),
            error,
        );
        self.hand_in(claim, result);
    }

    /// Writes the result of a claim the engine itself decided (no run): announced once
    /// durable, retried while it cannot be written, nothing written if the claim is lost.
    fn hand_in(&mut self, claim: Claim, result: amphigory_wire::result::TaskResult) {
        match self.ctx.queue.finish(&claim, &result) {
            Ok(()) => {
                let event = task_run::finished_event(claim.task(), &result, None);
                self.emit(event);
            }
            Err(QueueError::ClaimLost { reason, .. }) => {
                let event = let_go(&self.ctx, &claim, &reason);
                self.emit(event);
            }
            Err(e) => self.pending.push(Arc::new(claim), result, &e),
        }
    }
}

/// Hands a progress update of run `run` to the engine without waiting (the runner calls
/// this from its reading loop). A full channel drops it, as the next one supersedes it;
/// but not the start or the end of a phase, which is sent on from a task of its own.
fn report_progress(
    progress: &mpsc::Sender<Done>,
    tracker: &TaskTracker,
    run: u64,
    update: ProgressUpdate,
) {
    let edge = matches!(update.percent, 0 | 100);
    if let Err(TrySendError::Full(report)) = progress.try_send(Done::Progress { run, update }) {
        if edge {
            let progress = progress.clone();
            tracker.spawn(async move {
                let _ = progress.send(report).await;
            });
        }
    }
}
