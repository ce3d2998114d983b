//! Starting what selection claimed: on the drive routing names (or failed, when routing
//! finds it ambiguous), with the scan of the disc when the drive has one; and handing in
//! results the engine decides itself, or letting go of a claim that is lost.

use std::sync::Arc;

use amphigory_wire::scan::ScanResult;
use amphigory_wire::{ErrorCode, TaskError};

use super::registry::{self, DiscScan, Route, Running};
use super::{Done, Engine, EngineContext, results, task_run};
use crate::core::DaemonEvent;
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
        let scan_task = matches!(task.kind, TaskKind::Scan);
        let running = Running::new(Some(task.id.clone()));
        let job = task_run::Job {
            drive: entry.slot.clone(),
            disc_fingerprint: disc.and_then(|d| d.fingerprint.clone()),
            disc_volume: disc.and_then(|d| d.volume_name.clone()),
            cached_scan,
            cancel: running.cancel.clone(),
            reason: running.reason.clone(),
            claim: Arc::new(claim),
        };
        let (generation, run) = (disc.map(|d| d.generation), running.run);
        if let Some(entry) = self.registry.drives.get_mut(index) {
            if let (true, None, Some(disc)) = (scan_task, &job.cached_scan, entry.disc.as_mut()) {
                disc.scan = DiscScan::Running;
            }
            entry.running = Some(running);
        }
        let (ctx, done) = (self.ctx.clone(), self.done_tx.clone());
        self.tracker.spawn(async move {
            let drive_id = job.drive.drive_id.clone();
            let outcome = task_run::run(ctx, job).await;
            let _ = done
                .send(Done::Task {
                    drive_id,
                    run,
                    generation,
                    scan_task,
                    outcome,
                })
                .await;
        });
    }

    /// A finished scan of `disc` a scan task may be answered with: the drive's own, or
    /// one of another copy of the disc. Never when the task is for another disc.
    fn cached_scan(&self, disc: &registry::Disc, wanted: Option<&str>) -> Option<Arc<ScanResult>> {
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
            Ok(()) => task_run::announce_finished(&self.ctx, claim.task(), &result),
            Err(QueueError::ClaimLost { reason, .. }) => claim_lost(&self.ctx, &claim, &reason),
            Err(e) => self.pending.push(&self.ctx, Arc::new(claim), result, &e),
        }
    }
}

/// A claim found lost (SPEC §4 "Claim lost"), after its run stopped: let go of it
/// without writing anything, and say so.
pub(crate) fn claim_lost(ctx: &EngineContext, claim: &Claim, reason: &str) {
    if let Err(e) = ctx.queue.abandon(claim) {
        tracing::warn!(task = %claim.id(), "cannot clean up after the lost claim: {e}");
    }
    tracing::error!(task = %claim.id(), "claim lost: {reason}; stopped, nothing written");
    ctx.bus.publish(DaemonEvent::ClaimLost {
        task_id: claim.id().to_owned(),
        reason: reason.to_owned(),
    });
}
