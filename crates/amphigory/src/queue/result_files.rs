//! Results (SPEC §4.2): `complete/<id>.json` written atomically, and for failures
//! `failed/<id>.json`, the task with the result merged over it; a result that cannot be
//! written yet is kept with its claim. Also handing a claim back (`requeue`), letting go
//! of one that is lost (`abandon`) and cancelling a queued task.

use amphigory_wire::result::{ResultStatus, TaskResult};
use amphigory_wire::task::TaskType;
use amphigory_wire::{ErrorCode, TaskError};
use chrono::{DateTime, Local};
use serde_json::Value;

use super::claim::{Claim, Ticket};
use super::layout::{TaskState, is_safe_id};
use super::partial::{remove_placed_output, remove_temp_dir};
use super::state::json_bytes;
use super::validate::{Verdict, examine_path};
use super::{Queue, QueueError};
use crate::fsio;

/// A failed result for `task_id`, completed now. `duration_seconds` counts from
/// `started_at` when it parses as RFC 3339 (else 0; `started_at` defaults to now).
pub fn failure_result(
    task_id: &str,
    task_type: TaskType,
    started_at: Option<&str>,
    error: TaskError,
) -> TaskResult {
    let now = Local::now();
    let duration = started_at
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|start| (now.fixed_offset() - start).num_seconds())
        .and_then(|secs| u64::try_from(secs).ok())
        .unwrap_or(0);
    TaskResult {
        task_id: task_id.to_owned(),
        task_type,
        status: ResultStatus::Failed,
        started_at: Some(started_at.map_or_else(|| now.to_rfc3339(), str::to_owned)),
        completed_at: Some(now.to_rfc3339()),
        duration_seconds: Some(duration),
        source: None,
        result: None,
        error: Some(error),
    }
}

impl Queue {
    /// Writes the result of a claimed task and ends the claim: checks the claim is still
    /// ours ([`QueueError::ClaimLost`] otherwise, and nothing is written), writes
    /// `failed/<id>.json` (failures) then `complete/<id>.json` atomically, removes the
    /// rip's temporary directory, then the `in_progress` file, the sidecar, the claim
    /// record and the attempt count.
    ///
    /// When the result cannot be written (disk full, `complete/` missing or read-only,
    /// out of descriptors) the claim stays, and the result is recorded with it (claim
    /// record and sidecar) so that no restart and no other daemon runs the task again:
    /// call `finish` again later (SPEC §4 "A result that cannot be written"), renewing
    /// the lease meanwhile.
    pub fn finish(&self, claim: &Claim, result: &TaskResult) -> Result<(), QueueError> {
        if result.task_id != claim.id() {
            return Err(QueueError::Invalid(format!(
                "result for {:?} handed in for task {:?}",
                result.task_id,
                claim.id()
            )));
        }
        self.check_owner(&claim.ticket)?;
        if let Err(e) = self
            .ensure_folders()
            .and_then(|()| self.write_result(Some(&claim.task.raw), result))
        {
            self.park_result(claim, result);
            return Err(e);
        }
        if let Some(temp) = claim.rip_temp_dir() {
            // Holds the second link of the placed file, no longer needed as proof.
            if let Err(e) = fsio::remove_any(&temp) {
                tracing::warn!(path = %temp.display(), error = %e, "cannot remove the rip's temp directory");
            }
        }
        self.clear_claim(claim.id())?;
        self.state.forget(claim.id())
    }

    /// Records, with the claim, the result that could not be written yet (best effort:
    /// what cannot be recorded is logged, and the caller keeps the result in memory).
    fn park_result(&self, claim: &Claim, result: &TaskResult) {
        let id = claim.id();
        match self.state.read_claim(id) {
            Some(record) if record.finished.as_ref() == Some(result) => return,
            Some(mut record) => {
                record.finished = Some(result.clone());
                if let Err(e) = self.state.write_claim(&record) {
                    tracing::warn!(task_id = %id, error = %e, "cannot record the finished task in the state directory");
                }
            }
            None => {
                tracing::warn!(task_id = %id, "no claim record to note the finished task in")
            }
        }
        if let Err(e) = self.write_sidecar_with(&claim.ticket, Some(result)) {
            tracing::warn!(task_id = %id, error = %e, "cannot note the finished task in its sidecar");
        }
    }

    /// Fails a claimed task with `error` ([`failure_result`] from the claim time, then
    /// [`Queue::finish`]); returns the result written, for logging and publishing.
    pub fn fail(&self, claim: &Claim, error: TaskError) -> Result<TaskResult, QueueError> {
        let task_type = claim.task().task_type();
        let result = failure_result(claim.id(), task_type, Some(claim.claimed_at()), error);
        self.finish(claim, &result)?;
        Ok(result)
    }

    /// Puts a claimed task back at the head of the queue (pause-now, shutdown): removes
    /// the rip's partial output, renames the file back into `queued/` and records it in
    /// the "run first" list. The attempt count does not change. Call it once the
    /// `makemkvcon` working on it has exited.
    ///
    /// If the file cannot be put back, the claim record goes anyway: the claim is then no
    /// live claim of this daemon, and the lease rules take it back once it expires
    /// (counted as an interrupted attempt), rather than leaving it stranded.
    pub fn requeue(&self, claim: &Claim) -> Result<(), QueueError> {
        self.check_owner(&claim.ticket)?;
        self.discard_output(claim);
        if let Err(e) = self.state.push_front(claim.id()) {
            tracing::warn!(task_id = %claim.id(), error = %e, "cannot put the task first in line");
        }
        self.release(&claim.ticket).inspect_err(|_| {
            if let Err(e) = self.state.remove_claim(claim.id()) {
                tracing::warn!(task_id = %claim.id(), error = %e, "cannot remove the claim record");
            }
        })
    }

    /// Lets go of a claim that is not ours any more ([`QueueError::ClaimLost`]): its
    /// partial output goes (and what it placed, unless the task has a result now: then
    /// that file may be the result's), the claim record too; the task file and sidecar,
    /// someone else's now, stay untouched. Call it once `makemkvcon` has exited.
    pub fn abandon(&self, claim: &Claim) -> Result<(), QueueError> {
        self.discard_output(claim);
        self.state.remove_claim(claim.id())
    }

    /// Removes this claim's rip directory and, while the task has no result, the file it
    /// placed at the destination.
    fn discard_output(&self, claim: &Claim) {
        let (Some(rip), Some(temp)) = (claim.task().rip(), claim.rip_temp_dir()) else {
            return;
        };
        let mut removed = Vec::new();
        if !fsio::exists(&self.layout.file(TaskState::Complete, claim.id())) {
            remove_placed_output(&rip.directory, &temp, &mut removed);
        }
        remove_temp_dir(&temp, &mut removed);
    }

    /// Removes a queued daemon task and writes a `TASK_CANCELLED` result for it, so the
    /// webapp sees what happened. `Ok(false)` when there is no such queued task (already
    /// claimed, finished or never there); [`QueueError::NotOwned`] for a webapp task.
    pub fn cancel_queued(&self, id: &str) -> Result<bool, QueueError> {
        if !is_safe_id(id) {
            return Ok(false);
        }
        let path = self.layout.file(TaskState::Queued, id);
        let (raw, task_type) = match examine_path(id, &path) {
            None => return Ok(false),
            Some(Verdict::NotOurs(t)) => {
                return Err(QueueError::NotOwned {
                    id: id.to_owned(),
                    task_type: t.as_str().to_owned(),
                });
            }
            Some(Verdict::Valid(task)) => (Some(task.raw.clone()), task.task_type()),
            Some(Verdict::Invalid(poison)) => (poison.raw, poison.task_type),
        };
        let Some(ticket) = self.claim_file(id, None)? else {
            return Ok(false);
        };
        let error = TaskError::new(
            ErrorCode::TaskCancelled,
            "Task was cancelled before it started",
            None,
        );
        self.fail_ticket(&ticket, raw.as_ref(), task_type, error)?;
        Ok(true)
    }

    /// Fails a claimed file with `error`: writes both result files, ends the claim. If the
    /// results cannot be written the file goes back to `queued/`.
    pub(crate) fn fail_ticket(
        &self,
        ticket: &Ticket,
        raw: Option<&Value>,
        task_type: TaskType,
        error: TaskError,
    ) -> Result<TaskResult, QueueError> {
        let result = failure_result(&ticket.id, task_type, Some(&ticket.claimed_at), error);
        if let Err(e) = self.write_result(raw, &result) {
            // Never strand it in in_progress/: back to queued/, tried again next pass.
            if let Err(undo) = self.release(ticket) {
                tracing::warn!(task_id = %ticket.id, error = %undo, "cannot put a task back");
            }
            return Err(e);
        }
        self.clear_claim(&ticket.id)?;
        self.state.forget(&ticket.id)?;
        Ok(result)
    }

    /// Writes `failed/<id>.json` (failures only) and then `complete/<id>.json`. The
    /// failed copy goes first: if the daemon dies in between, the task has no result yet
    /// and is simply run again, rather than leaving a result with no failed copy.
    pub(crate) fn write_result(
        &self,
        raw: Option<&Value>,
        result: &TaskResult,
    ) -> Result<(), QueueError> {
        let name = format!("{}.json", result.task_id);
        let encoded = serde_json::to_value(result)
            .map_err(|e| QueueError::Invalid(format!("cannot encode result: {e}")))?;
        if result.status == ResultStatus::Failed {
            let merged = merge_over(raw, &encoded);
            let dir = self.layout.dir(TaskState::Failed);
            fsio::write_atomic(&dir, &name, &json_bytes(&merged)?, true)
                .map_err(|e| QueueError::io("write failed copy in", dir, e))?;
        }
        let dir = self.layout.dir(TaskState::Complete);
        fsio::write_atomic(&dir, &name, &json_bytes(&encoded)?, true)
            .map_err(|e| QueueError::io("write result in", dir, e))
    }
}

/// The task object with every field of the result written over it; just the result when
/// the task was not an object.
fn merge_over(task: Option<&Value>, result: &Value) -> Value {
    let mut merged = match task {
        Some(Value::Object(map)) => map.clone(),
        _ => serde_json::Map::new(),
    };
    if let Value::Object(fields) = result {
        for (key, value) in fields {
            merged.insert(key.clone(), value.clone());
        }
    }
    Value::Object(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_result_wins_over_the_task() {
        let task =
            json!({"id": "a-rip", "type": "rip", "status": "queued", "track": {"number": 1}});
        let result = json!({"task_id": "a-rip", "type": "rip", "status": "failed"});
        let merged = merge_over(Some(&task), &result);
        assert_eq!(merged["status"], "failed");
        assert_eq!(merged["track"]["number"], 1);
        assert_eq!(merge_over(Some(&json!([1])), &result), result);
    }

    #[test]
    fn failure_results_count_their_duration() {
        let started = (Local::now() - chrono::Duration::seconds(90)).to_rfc3339();
        let error = TaskError::new(ErrorCode::NoDisc, "no disc", None);
        let r = failure_result("a-scan", TaskType::Scan, Some(&started), error);
        let d = r.duration_seconds.unwrap();
        assert!((89..=91).contains(&d), "{d}");
        assert_eq!(r.status, ResultStatus::Failed);
        let r = failure_result(
            "a-scan",
            TaskType::Scan,
            None,
            TaskError::new(ErrorCode::NoDisc, "x", None),
        );
        assert_eq!(r.duration_seconds, Some(0));
        assert!(r.started_at.is_some());
    }
}
