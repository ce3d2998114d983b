//! Selection (SPEC §4): the first daemon task, in queue order, that is queued, whose
//! input exists and that the engine can run now; claimed on the spot. Poison tasks met on
//! the way are failed with `INVALID_TASK` at once and kept for [`Queue::take_rejected`],
//! and the walk goes on.

use amphigory_wire::ErrorCode;
use std::path::Path;
use std::sync::PoisonError;

use amphigory_wire::TaskError;
use amphigory_wire::result::TaskResult;
use amphigory_wire::task::TaskType;

use super::claim::{Claim, Ticket};
use super::layout::TaskState;
use super::task::{IdOwner, Task, TaskInput, owner_by_id};
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

impl Queue {
    /// Claims the next task to run. Walks the "run first" list (requeued tasks), then
    /// `tasks.json`, then unlisted queued files oldest first, and takes the first daemon
    /// task whose file is in `queued/`, whose input is satisfied and that `can_run`
    /// accepts (e.g. its drive is free; `can_run` is only asked about valid tasks).
    /// Nothing is claimed while the queue is paused. Invalid tasks met on the way are
    /// failed at once (and files whose names are no task ids moved aside); collect them
    /// with [`Queue::take_rejected`] to log and publish. A queue folder that is missing is
    /// created again first; one that cannot be is an error (and a status problem).
    pub fn next(&self, can_run: impl Fn(&Task) -> bool) -> Result<Option<Claim>, QueueError> {
        self.ensure_folders()?;
        if self.is_paused() {
            return Ok(None);
        }
        let candidates = self.candidates()?;
        for name in &candidates.odd_names {
            match self.quarantine(name) {
                Ok(Some(rejected)) => self.push_rejected(rejected),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(file = ?name, error = %e, "cannot move a badly named task aside")
                }
            }
        }
        for id in candidates.ids {
            match self.consider(&id, &can_run) {
                Ok(Step::Skip) => {}
                Ok(Step::Rejected(r)) => self.push_rejected(r),
                Ok(Step::Claimed(claim)) => {
                    let _ = self.state.remove_front(&id);
                    return Ok(Some(claim));
                }
                // One unusable file must not block the queue: say so and go on.
                Err(e) => tracing::warn!(task_id = %id, error = %e, "skipping task"),
            }
        }
        Ok(None)
    }

    /// The valid daemon tasks waiting in `queued/`, in selection order, for decisions
    /// that look ahead (auto-eject: is another task for this disc still to come?).
    pub fn waiting_tasks(&self) -> Result<Vec<Task>, QueueError> {
        Ok(self
            .candidates()?
            .ids
            .into_iter()
            .filter_map(
                |id| match examine_path(&id, &self.layout.file(TaskState::Queued, &id)) {
                    Some(Verdict::Valid(task)) => Some(task),
                    _ => None,
                },
            )
            .collect())
    }

    /// The tasks failed as invalid since the last call, oldest first.
    pub fn take_rejected(&self) -> Vec<Rejected> {
        let mut list = self.rejected.lock().unwrap_or_else(PoisonError::into_inner);
        list.drain(..).collect()
    }

    fn push_rejected(&self, rejected: Rejected) {
        let mut list = self.rejected.lock().unwrap_or_else(PoisonError::into_inner);
        if list.len() >= MAX_REJECTED {
            list.pop_front();
        }
        list.push_back(rejected);
    }

    fn consider(&self, id: &str, can_run: &impl Fn(&Task) -> bool) -> Result<Step, QueueError> {
        if owner_by_id(id) == IdOwner::Webapp {
            return Ok(Step::Skip);
        }
        let path = self.layout.file(TaskState::Queued, id);
        let task = match examine_path(id, &path) {
            None | Some(Verdict::NotOurs(_)) => return Ok(Step::Skip),
            // Maybe still being written (the webapp need not write atomically, and the
            // creation event arrives before the content): wait for it to settle.
            Some(Verdict::Invalid(poison)) if poison.incomplete && is_fresh(&path) => {
                return Ok(Step::Skip);
            }
            Some(Verdict::Invalid(poison)) => return self.reject(id, &poison),
            Some(Verdict::Valid(task)) => task,
        };
        if !self.input_ready(&task) || !can_run(&task) {
            return Ok(Step::Skip);
        }
        let output_dir = task.rip().map(|r| r.directory.clone());
        let Some(ticket) = self.claim_file(id, output_dir)? else {
            return Ok(Step::Skip);
        };
        // Judge what was actually claimed: the file may have been replaced since.
        let claimed = self.layout.file(TaskState::InProgress, id);
        match examine_path(id, &claimed) {
            Some(Verdict::Valid(now)) if now == task => {
                Ok(Step::Claimed(Claim { task: now, ticket }))
            }
            Some(Verdict::Valid(now)) if self.input_ready(&now) && can_run(&now) => {
                Ok(Step::Claimed(Claim { task: now, ticket }))
            }
            Some(Verdict::Invalid(poison)) => self.fail_poison(&ticket, &poison),
            _ => {
                self.release(&ticket)?;
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

    /// True when the task has no input, or its input exists: another task's result in
    /// `complete/`, or an absolute path.
    pub(crate) fn input_ready(&self, task: &Task) -> bool {
        match &task.input {
            None => true,
            Some(TaskInput::Task(id)) => fsio::exists(&self.layout.file(TaskState::Complete, id)),
            Some(TaskInput::Path(path)) => path.exists(),
        }
    }
}

/// Modified less than [`INCOMPLETE_GRACE`] ago. Not a file whose mtime lies further in
/// the future than that (a writer's clock running ahead on a shared mount): it would
/// look freshly written forever, and wait forever.
fn is_fresh(path: &Path) -> bool {
    let Ok(modified) = std::fs::symlink_metadata(path).and_then(|m| m.modified()) else {
        return false;
    };
    let now = std::time::SystemTime::now();
    match now.duration_since(modified) {
        Ok(age) => age < INCOMPLETE_GRACE,
        Err(ahead) => ahead.duration() < INCOMPLETE_GRACE,
    }
}

/// The `INVALID_TASK` error for a poison task.
fn invalid(poison: &Poison) -> TaskError {
    TaskError::new(
        ErrorCode::InvalidTask,
        format!("Invalid task: {}", poison.message),
        None,
    )
}
