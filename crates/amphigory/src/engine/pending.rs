//! Results that could not be written yet (SPEC §4 "A result that cannot be written"): a
//! finished task whose `complete/` file failed (disk full, folder missing or read-only,
//! out of descriptors) keeps its claim, and its lease, while the engine retries the
//! result with backoff, 1 s doubling to 60 s. Meanwhile the status shows the problem, and
//! nobody hears "task completed" until the result is durable. The drive is free at once:
//! the rip is done, only its paperwork waits.
//!
//! The queue has recorded the result with the claim, so a restart writes it too (see
//! `Queue::recover`); the claims recovery still could not finish come back here.

use std::sync::Arc;
use std::time::Duration;

use amphigory_wire::result::TaskResult;
use tokio::time::Instant;

use super::EngineContext;
use super::task_run::{announce_finished, claim_lost};
use crate::core::{Problem, ProblemKind};
use crate::queue::{Claim, QueueError, TaskState};

/// First retry delay.
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// Longest retry delay.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// One finished task whose result waits.
struct Pending {
    claim: Arc<Claim>,
    result: TaskResult,
    delay: Duration,
    next_try: Instant,
    next_renewal: Instant,
    error: String,
}

/// Every result that waits to be written.
pub(crate) struct PendingResults {
    items: Vec<Pending>,
    /// How often the claims' leases are renewed.
    lease_interval: Duration,
}

impl PendingResults {
    /// None yet; leases renewed every `lease_interval`.
    pub(crate) fn new(lease_interval: Duration) -> Self {
        Self {
            items: Vec::new(),
            lease_interval,
        }
    }

    /// Takes on a finished task whose result just failed to be written with `error`.
    pub(crate) fn push(
        &mut self,
        claim: Arc<Claim>,
        result: TaskResult,
        error: &dyn std::fmt::Display,
    ) {
        let now = Instant::now();
        tracing::error!(task = %claim.id(), "task finished, but its result cannot be written ({error}); keeping the claim and retrying");
        self.items.push(Pending {
            claim,
            result,
            delay: FIRST_DELAY,
            next_try: now + FIRST_DELAY,
            next_renewal: now + self.lease_interval,
            error: error.to_string(),
        });
    }

    /// When something is due next (a retry or a lease renewal); `None` when idle.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.items
            .iter()
            .map(|p| p.next_try.min(p.next_renewal))
            .min()
    }

    /// Retries the results that are due and renews the leases that are due.
    pub(crate) fn service(&mut self, ctx: &EngineContext) {
        let now = Instant::now();
        let mut still = Vec::with_capacity(self.items.len());
        for mut item in std::mem::take(&mut self.items) {
            let keep = if item.next_try <= now {
                retry(ctx, &mut item, now)
            } else if item.next_renewal <= now {
                renew(ctx, &mut item, now)
            } else {
                true
            };
            if keep {
                still.push(item);
            }
        }
        self.items = still;
    }

    /// On shutdown: one last try each. What still fails stays claimed, its result
    /// recorded with the claim for the next start.
    pub(crate) fn last_try(&mut self, ctx: &EngineContext) {
        for item in &mut self.items {
            item.next_try = Instant::now();
        }
        self.service(ctx);
        for item in &self.items {
            tracing::warn!(task = %item.claim.id(), "result still not written at shutdown; it is written at the next start");
        }
    }

    /// The status problem while results wait (none when none does).
    /// Built on every status projection: nothing is made while no result waits.
    pub(crate) fn problem(&self, ctx: &EngineContext) -> Vec<Problem> {
        let Some(item) = self.items.first() else {
            return Vec::new();
        };
        let complete = ctx.queue.layout().dir(TaskState::Complete);
        let count = self.items.len();
        let tasks = if count == 1 { "task" } else { "tasks" };
        let line = format!(
            "cannot write results to {}: {} ({count} finished {tasks} waiting; retrying)",
            complete.display(),
            item.error
        );
        vec![Problem::new(ProblemKind::ResultsUnwritten, line)]
    }
}

/// One retry; false when the item is settled (written, or the claim lost).
fn retry(ctx: &EngineContext, item: &mut Pending, now: Instant) -> bool {
    match ctx.queue.finish(&item.claim, &item.result) {
        Ok(()) => {
            tracing::info!(task = %item.claim.id(), "the result is written now");
            announce_finished(ctx, item.claim.task(), &item.result);
            false
        }
        Err(QueueError::ClaimLost { reason, .. }) => {
            claim_lost(ctx, &item.claim, &reason);
            false
        }
        Err(e) => {
            item.error = e.to_string();
            item.delay = (item.delay * 2).min(MAX_DELAY);
            item.next_try = now + item.delay;
            true
        }
    }
}

/// One lease renewal; false when the claim turned out lost.
fn renew(ctx: &EngineContext, item: &mut Pending, now: Instant) -> bool {
    item.next_renewal = now + ctx.options.lease_interval;
    match ctx.queue.touch(&item.claim) {
        Ok(()) => true,
        Err(QueueError::ClaimLost { reason, .. }) => {
            claim_lost(ctx, &item.claim, &reason);
            false
        }
        Err(e) => {
            tracing::warn!(task = %item.claim.id(), "cannot renew the lease: {e}");
            true
        }
    }
}
