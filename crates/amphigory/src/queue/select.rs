//! Selection (SPEC §4): the first daemon task, in queue order, that is queued, whose
//! input exists and that the engine can run now; claimed on the spot. Poison tasks are
//! failed with `INVALID_TASK` at once and kept for [`Queue::take_rejected`]. Everything
//! is chosen from the queue's index (see `index`), brought up to date first.

use amphigory_wire::ErrorCode;
use std::path::Path;
use std::sync::{Arc, PoisonError};

use amphigory_wire::TaskError;
use amphigory_wire::result::TaskResult;
use amphigory_wire::task::TaskType;

use super::claim::{Claim, Ticket};
use super::index::{Cached, Index, Rank};
use super::layout::TaskState;
use super::task::{Task, TaskInput};
use super::validate::{Poison, Verdict, examine_path};
use super::{INCOMPLETE_GRACE, Queue, QueueError};
use crate::fsio;

/// A task the queue failed by itself (`INVALID_TASK`), with the result it wrote; see
/// [`Queue::take_rejected`].
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// Task id.
    pub task_id: String,
    /// Its type, as the result says.
    pub task_type: TaskType,
    /// What was wrong, for a person (the result's `error.message`).
    pub message: String,
    /// The failed result, as written to `complete/` (and merged into `failed/`).
    pub result: TaskResult,
}

impl Rejected {
    pub(crate) fn new(result: TaskResult) -> Self {
        let message = result
            .error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        Self {
            task_id: result.task_id.clone(),
            task_type: result.task_type.clone(),
            message,
            result,
        }
    }

    /// The result's error object.
    pub fn error(&self) -> TaskError {
        self.result
            .error
            .clone()
            .unwrap_or_else(|| TaskError::new(ErrorCode::InvalidTask, self.message.clone(), None))
    }
}

/// Rejections kept for [`Queue::take_rejected`]; the oldest go beyond this.
const MAX_REJECTED: usize = 1000;

/// One candidate's outcome.
enum Step {
    Skip,
    Rejected(Rejected),
    Claimed(Claim),
}

/// How `can_run` is asked.
#[derive(Clone, Copy)]
enum Asking {
    /// About every task, in order, until one is accepted.
    EachTask,
    /// Once per target group (drive, disc fingerprint, type), with its first task.
    ByTarget,
}

/// Claim attempts per pass before giving up until the next one (files vanishing under
/// the walk, another daemon claiming first).
const CLAIM_TRIES: usize = 64;

impl Queue {
    /// Claims the next task to run. Walks the "run first" list (requeued tasks), then
    /// `tasks.json`, then unlisted queued files oldest first, and takes the first daemon
    /// task whose file is in `queued/`, whose input is satisfied and that `can_run`
    /// accepts (e.g. its drive is free; `can_run` is only asked about valid tasks).
    /// Nothing is claimed while the queue is paused. Invalid tasks are failed at once
    /// (and files whose names are no task ids moved aside); collect them with
    /// [`Queue::take_rejected`] to log and publish. A queue folder that is missing is
    /// created again first; one that cannot be is an error (and a status problem).
    ///
    /// Works from the queue's index (see `index`): only files that changed are read.
    pub fn next(&self, can_run: impl Fn(&Task) -> bool) -> Result<Option<Claim>, QueueError> {
        self.select(&can_run, Asking::EachTask)
    }

    /// [`Queue::next`] for a `can_run` that depends only on a task's target: its `drive`,
    /// its `disc_fingerprint` and its type (the engine's routing). It is asked once per
    /// group of tasks with the same target, about the group's first task, so the cost of
    /// a pass grows with the number of targets, not of tasks.
    pub fn next_by_target(
        &self,
        can_run: impl Fn(&Task) -> bool,
    ) -> Result<Option<Claim>, QueueError> {
        self.select(&can_run, Asking::ByTarget)
    }

    fn select(
        &self,
        can_run: &dyn Fn(&Task) -> bool,
        asking: Asking,
    ) -> Result<Option<Claim>, QueueError> {
        self.ensure_folders()?;
        if self.is_paused() {
            return Ok(None);
        }
        let mut index = self.synced_index()?;
        self.quarantine_odd_names(&mut index);
        for _ in 0..CLAIM_TRIES {
            let dir = self.layout.dir(TaskState::Queued);
            let chosen = pick(&index, &dir, can_run, asking, |i| self.input_ready(i));
            // Invalid tasks ranked before the choice are failed on the way, as a walk in
            // queue order would meet them; one that turned out valid may rank first now.
            if self.settle_before(&mut index, chosen.as_ref()) {
                continue;
            }
            let Some(Rank { id, .. }) = chosen else {
                return Ok(None);
            };
            match self.consider(&mut index, &id, can_run) {
                Ok(Step::Skip) => {}
                Ok(Step::Rejected(r)) => self.push_rejected(r),
                Ok(Step::Claimed(claim)) => {
                    if let Err(e) = self.state.remove_front(&id) {
                        tracing::debug!(task_id = %id, error = %e, "cannot update the run-first list");
                    }
                    return Ok(Some(claim));
                }
                // One unusable file must not block the queue: say so and go on.
                Err(e) => {
                    tracing::warn!(task_id = %id, error = %e, "skipping task");
                    index.remove(&id);
                }
            }
        }
        Ok(None)
    }

    /// Moves badly named files aside.
    fn quarantine_odd_names(&self, index: &mut Index) {
        for name in std::mem::take(&mut index.odd_names) {
            match self.quarantine(&name) {
                Ok(Some(rejected)) => self.push_rejected(rejected),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(file = ?name, error = %e, "cannot move a badly named task aside")
                }
            }
        }
    }

    /// Judges the unsettled entries ranked before `limit` (all without one): invalid
    /// ones are failed, those still being written wait for [`INCOMPLETE_GRACE`], valid
    /// ones join their group. True when one turned out valid.
    fn settle_before(&self, index: &mut Index, limit: Option<&Rank>) -> bool {
        let before: Vec<Arc<str>> = index
            .unsettled
            .iter()
            .take_while(|rank| limit.is_none_or(|limit| *rank < limit))
            .map(|rank| rank.id.clone())
            .collect();
        let dir = self.layout.dir(TaskState::Queued);
        let mut became_valid = false;
        for id in before {
            let path = self.layout.file(TaskState::Queued, &id);
            match examine_path(&id, &path) {
                None => index.remove(&id),
                Some(Verdict::Valid(_) | Verdict::NotOurs(_)) => {
                    index.refresh(&dir, &id);
                    became_valid = true;
                }
                // Maybe still being written (the webapp need not write atomically, and
                // the creation event arrives before the content): wait for it to settle.
                Some(Verdict::Invalid(poison)) if poison.incomplete && is_fresh(&path) => {}
                Some(Verdict::Invalid(poison)) => {
                    index.remove(&id);
                    match self.reject(&id, &poison) {
                        Ok(Step::Rejected(r)) => self.push_rejected(r),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(task_id = %id, error = %e, "cannot fail an invalid task")
                        }
                    }
                }
            }
        }
        became_valid
    }

    /// The valid daemon tasks waiting in `queued/`, one for each distinct target (drive,
    /// disc fingerprint, type), for decisions that look ahead and depend only on where a
    /// task goes (auto-eject: is another task for this disc still to come?). Their `raw`
    /// JSON is not kept (`null`).
    pub fn waiting_tasks(&self) -> Result<Vec<Task>, QueueError> {
        let index = self.synced_index()?;
        Ok(index.groups.values().map(|g| g.sample.clone()).collect())
    }

    /// Like [`Queue::waiting_tasks`], each with the number of tasks of its group (the
    /// same drive, disc fingerprint and type): "3 rips wait for this disc".
    pub fn waiting_counts(&self) -> Result<Vec<(Task, usize)>, QueueError> {
        let index = self.synced_index()?;
        Ok(index
            .groups
            .values()
            .map(|g| (g.sample.clone(), g.members.len()))
            .collect())
    }

    /// The tasks failed as invalid since the last call, oldest first.
    pub fn take_rejected(&self) -> Vec<Rejected> {
        let mut list = self.rejected.lock().unwrap_or_else(PoisonError::into_inner);
        list.drain(..).collect()
    }

    pub(crate) fn push_rejected(&self, rejected: Rejected) {
        let mut list = self.rejected.lock().unwrap_or_else(PoisonError::into_inner);
        if list.len() >= MAX_REJECTED {
            list.pop_front();
        }
        list.push_back(rejected);
    }

    /// Claims `id` (a valid task the pick chose) and judges what was actually claimed.
    fn consider(
        &self,
        index: &mut Index,
        id: &str,
        can_run: &dyn Fn(&Task) -> bool,
    ) -> Result<Step, QueueError> {
        let output_dir = match index.entries.get(id).map(|e| &e.cached) {
            Some(Cached::Task(facts)) => facts.output_dir.clone(),
            _ => return Ok(Step::Skip),
        };
        // Whatever happens next, the file leaves `queued/` (or is put back, and then
        // read again).
        index.remove(id);
        let Some(ticket) = self.claim_file(id, output_dir)? else {
            return Ok(Step::Skip);
        };
        // Judge what was actually claimed, whole: the file may have been replaced since
        // it was indexed.
        let claimed = self.layout.file(TaskState::InProgress, id);
        match examine_path(id, &claimed) {
            Some(Verdict::Valid(now)) if self.input_ready(now.input.as_ref()) && can_run(&now) => {
                Ok(Step::Claimed(Claim { task: now, ticket }))
            }
            Some(Verdict::Invalid(poison)) => self.fail_poison(&ticket, &poison),
            _ => {
                self.release(&ticket)?;
                self.note_change(id);
                Ok(Step::Skip)
            }
        }
    }

    /// Claims a poison file and fails it with `INVALID_TASK`.
    fn reject(&self, id: &str, poison: &Poison) -> Result<Step, QueueError> {
        let Some(ticket) = self.claim_file(id, None)? else {
            return Ok(Step::Skip);
        };
        self.fail_poison(&ticket, poison)
    }

    fn fail_poison(&self, ticket: &Ticket, poison: &Poison) -> Result<Step, QueueError> {
        tracing::warn!(task_id = %ticket.id, reason = %poison.message, "invalid task");
        let error = invalid(poison);
        let result =
            self.fail_ticket(ticket, poison.raw.as_ref(), poison.task_type.clone(), error)?;
        Ok(Step::Rejected(Rejected::new(result)))
    }

    /// True when a task's `input` is none, or exists: another task's result in
    /// `complete/`, or an absolute path.
    pub(crate) fn input_ready(&self, input: Option<&TaskInput>) -> bool {
        match input {
            None => true,
            Some(TaskInput::Task(id)) => fsio::exists(&self.layout.file(TaskState::Complete, id)),
            Some(TaskInput::Path(path)) => path.exists(),
        }
    }
}

/// The task to try next: the best-ranked task `can_run` accepts (and whose input is
/// ready), asked per task (each read from its file: the general, slower way) or once
/// per target group (with the group's sample).
fn pick(
    index: &Index,
    dir: &Path,
    can_run: &dyn Fn(&Task) -> bool,
    asking: Asking,
    input_ready: impl Fn(Option<&TaskInput>) -> bool,
) -> Option<Rank> {
    let ready = |rank: &Rank| match index.entries.get(&rank.id).map(|e| &e.cached) {
        Some(Cached::Task(facts)) => input_ready(facts.input.as_ref()),
        _ => false,
    };
    match asking {
        Asking::EachTask => index
            .ranked()
            .into_iter()
            .filter(|rank| ready(rank))
            .find(|rank| {
                let path = dir.join(format!("{}.json", rank.id));
                matches!(examine_path(&rank.id, &path), Some(Verdict::Valid(t)) if can_run(&t))
            })
            .cloned(),
        Asking::ByTarget => index
            .groups
            .values()
            .filter_map(|group| {
                let first = group.members.iter().find(|rank| ready(rank))?;
                can_run(&group.sample).then_some(first)
            })
            .min()
            .cloned(),
    }
}

/// Modified less than [`INCOMPLETE_GRACE`] ago (see [`fsio::changed_within`]).
fn is_fresh(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| fsio::changed_within(t, INCOMPLETE_GRACE))
}

/// The `INVALID_TASK` error for a poison task.
fn invalid(poison: &Poison) -> TaskError {
    TaskError::new(
        ErrorCode::InvalidTask,
        format!("Invalid task: {}", poison.message),
        None,
    )
}
