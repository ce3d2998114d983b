//! Crash recovery (SPEC §4): claims this daemon recorded, and any daemon-owned
//! `in_progress/` file whose lease expired, go back to `queued/` (at the head of the
//! queue) with one more attempt counted; the third interruption fails the task with
//! `RETRIES_EXHAUSTED`. A task whose result was already written is only cleaned up, and
//! one that finished but whose result could not be written gets that result now (see
//! `resume`): neither is ever run twice, and the output of a finished rip is never
//! removed. The partial output of an interrupted rip is removed: its hidden temporary
//! directories ([`rip_temp_dir`](super::rip_temp_dir)) and, for this daemon's own
//! claims, the runner's `.amphigory-rip-<pid>-…` directories made by the previous
//! process. Webapp tasks are never touched, and neither are this daemon's live claims.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use amphigory_wire::result::TaskResult;
use amphigory_wire::{ErrorCode, TaskError};

use super::claim::{Claim, Sidecar};
use super::layout::{TaskState, stem_of};
use super::partial::{remove_placed_output, remove_runner_dirs, remove_temp_dir, temp_dirs_of};
use super::select::Rejected;
use super::state::ClaimRecord;
use super::task::{IdOwner, owner_by_id};
use super::validate::{Verdict, examine_path};
use super::{MAX_ATTEMPTS, Queue, QueueError};
use crate::fsio;

/// What recovery did.
#[derive(Debug, Default)]
pub struct RecoveryReport {
    /// Put back into `queued/` (at the head of the queue), one more attempt counted.
    pub requeued: Vec<String>,
    /// Failed with `RETRIES_EXHAUSTED` (results written).
    pub failed: Vec<Rejected>,
    /// A result was already in `complete/`: only the leftover claim was removed.
    pub already_complete: Vec<String>,
    /// Finished before the interruption, its result not yet written: written now.
    pub finished_late: Vec<String>,
    /// This daemon's tasks that finished before it stopped and whose results still
    /// cannot be written: the claims are kept (and their leases renewed); the engine
    /// retries them with [`Queue::finish`].
    pub pending: Vec<PendingResult>,
    /// Daemon tasks in progress elsewhere with a live lease: left alone.
    pub live_elsewhere: Vec<String>,
    /// `makemkvcon` children recorded by the previous run of this daemon, which may
    /// still be running: kill them (process group) before using the drives.
    pub orphan_children: Vec<OrphanChild>,
    /// Partial rip output removed.
    pub removed_partials: Vec<PathBuf>,
}

/// A claim whose task finished and whose result is still to be written.
#[derive(Debug)]
pub struct PendingResult {
    /// The claim, still held.
    pub claim: Claim,
    /// Its result.
    pub result: TaskResult,
    /// Why it could not be written at the last try.
    pub error: QueueError,
}

impl RecoveryReport {
    /// Logs what recovery did: one line per task (warnings for failures and orphans).
    pub fn log(&self) {
        for id in &self.requeued {
            tracing::info!(task_id = %id, "interrupted task put back at the head of the queue");
        }
        for rejected in &self.failed {
            tracing::warn!(task_id = %rejected.task_id, "{}", rejected.message);
        }
        for id in &self.already_complete {
            tracing::info!(task_id = %id, "interrupted after its result was written; cleaned up");
        }
        for id in &self.finished_late {
            tracing::info!(task_id = %id, "finished before the interruption; its result is written now");
        }
        for pending in &self.pending {
            tracing::warn!(task_id = %pending.claim.id(), "finished, but its result still cannot be written; retrying");
        }
        for id in &self.live_elsewhere {
            tracing::debug!(task_id = %id, "in progress under another daemon's live lease");
        }
        for orphan in &self.orphan_children {
            tracing::warn!(task_id = %orphan.task_id, pid = orphan.pid, "makemkvcon of the previous run may still be running");
        }
    }
}

/// A child process recorded against a claim by [`Queue::record_child_pid`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanChild {
    /// The task it was working on.
    pub task_id: String,
    /// Its pid (also its process group, if the runner made it a group leader).
    pub pid: u32,
}

impl Queue {
    /// Start-up recovery; call it once before the first [`Queue::next`]. Handles this
    /// daemon's claim records, then expired leases (as [`Queue::recover_expired`]), then
    /// leftover sidecars and temporary files. Problems with single tasks are logged and
    /// skipped.
    pub fn recover(&self) -> Result<RecoveryReport, QueueError> {
        let mut report = RecoveryReport::default();
        let mut handled = HashSet::new();
        for (id, record) in self.state.claims()? {
            match self.recover_own(&id, record.as_ref(), &mut report) {
                Ok(true) => {
                    handled.insert(id);
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(task_id = %id, error = %e, "cannot recover claim"),
            }
        }
        self.recover_expired_into(&handled, &mut report)?;
        self.sweep_leftovers();
        Ok(report)
    }

    /// Recovers daemon tasks whose lease expired (their daemon died or hangs). Safe to
    /// call while running, e.g. every minute: live claims are never touched, and this
    /// daemon's own claims (those in its state directory) never, live or not.
    pub fn recover_expired(&self) -> Result<RecoveryReport, QueueError> {
        let mut report = RecoveryReport::default();
        self.recover_expired_into(&HashSet::new(), &mut report)?;
        Ok(report)
    }

    /// One claim record. `Ok(true)` when the record settled the task's fate; `Ok(false)`
    /// leaves the task (if any) to the lease rules.
    fn recover_own(
        &self,
        id: &str,
        record: Option<&ClaimRecord>,
        report: &mut RecoveryReport,
    ) -> Result<bool, QueueError> {
        if let Some(pid) = record.and_then(|r| r.child_pid) {
            report.orphan_children.push(OrphanChild {
                task_id: id.to_owned(),
                pid,
            });
        }
        let sidecar = self
            .read_sidecar(id)
            .map_err(|e| QueueError::io("read", self.layout.sidecar(id), e))?;
        let owner = match sidecar {
            Some(Sidecar::Owner(owner)) => Some(owner),
            _ => None,
        };
        let ours = match (&owner, record) {
            (Some(owner), Some(record)) => owner.nonce == record.nonce,
            (Some(owner), None) => owner.daemon_id == self.daemon_id,
            // Killed between the rename and the sidecar, or the claim never happened
            // (or someone without sidecars took it since): the lease decides.
            (None, _) => false,
        };
        if !ours {
            // Someone else's claim now (or undecidable): its partial output is live.
            self.state.remove_claim(id)?;
            return Ok(false);
        }
        let finished = record.and_then(|r| r.finished.clone());
        if let Some(owner) = owner {
            if let Some(result) = finished.or(owner.finished.clone()) {
                self.resume(id, &owner, result, report)?;
                return Ok(true);
            }
        }
        self.state.remove_claim(id)?;
        if let Some(record) = record {
            if let Some(dir) = record.output_dir.as_deref() {
                self.remove_partials(dir, id, &mut report.removed_partials);
                remove_runner_dirs(dir, record.pid, &mut report.removed_partials);
            }
        }
        if !fsio::exists(&self.layout.file(TaskState::InProgress, id)) {
            self.remove_sidecar(id)?;
            return Ok(true);
        }
        self.interrupted(id, report)?;
        Ok(true)
    }

    fn recover_expired_into(
        &self,
        handled: &HashSet<String>,
        report: &mut RecoveryReport,
    ) -> Result<(), QueueError> {
        let dir = self.layout.dir(TaskState::InProgress);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            // Nothing in progress; the next pass makes the folder again.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(QueueError::io("list", &dir, e)),
        };
        let mut stems: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(stem_of).map(str::to_owned))
            .filter(|stem| !handled.contains(stem) && owner_by_id(stem) != IdOwner::Webapp)
            .collect();
        stems.sort();
        for stem in stems {
            if self.state.has_claim(&stem) {
                continue; // our own claim: live, or settled by start-up recovery
            }
            let file = dir.join(format!("{stem}.json"));
            match examine_path(&stem, &file) {
                None | Some(Verdict::NotOurs(_)) => continue,
                Some(_) => {}
            }
            if self.lease_age(&stem).is_some_and(|age| age < self.lease) {
                report.live_elsewhere.push(stem);
                continue;
            }
            if let Err(e) = self.interrupted(&stem, report) {
                tracing::warn!(task_id = %stem, error = %e, "cannot recover expired claim");
            }
        }
        Ok(())
    }

    /// Time since the claim on `id` was last renewed: the younger of its sidecar's and
    /// the `in_progress` file's mtimes (the sidecar is what a live daemon renews; the
    /// file's counts for claims without one). `None` when the file is gone.
    pub(crate) fn lease_age(&self, id: &str) -> Option<Duration> {
        let file = fsio::age(&self.layout.file(TaskState::InProgress, id)).ok()??;
        match fsio::age(&self.layout.sidecar(id)) {
            Ok(Some(sidecar)) => Some(file.min(sidecar)),
            _ => Some(file),
        }
    }

    /// An interrupted run of `id`, which we may recover: clean up if its result exists,
    /// write the result its sidecar carries if it finished, else put it back (one more
    /// attempt) or fail it after [`MAX_ATTEMPTS`].
    fn interrupted(&self, id: &str, report: &mut RecoveryReport) -> Result<(), QueueError> {
        if fsio::exists(&self.layout.file(TaskState::Complete, id)) {
            self.clear_claim(id)?;
            self.state.forget(id)?;
            report.already_complete.push(id.to_owned());
            return Ok(());
        }
        let file = self.layout.file(TaskState::InProgress, id);
        let task = match examine_path(id, &file) {
            Some(Verdict::Valid(task)) => Some(task),
            _ => None,
        };
        if let Ok(Some(Sidecar::Owner(owner))) = self.read_sidecar(id) {
            if let Some(result) = owner.finished {
                self.write_result(task.as_ref().map(|t| &t.raw), &result)?;
                self.clear_claim(id)?;
                self.state.forget(id)?;
                report.finished_late.push(id.to_owned());
                return Ok(());
            }
        }
        if let Some(rip) = task.as_ref().and_then(|t| t.rip()) {
            self.remove_partials(&rip.directory, id, &mut report.removed_partials);
        }
        // The old claim's sidecar goes first: once the file is back in `queued/` a new
        // claim (and its sidecar) may follow at any moment.
        self.remove_sidecar(id)?;
        match fs::rename(&file, self.layout.file(TaskState::Queued, id)) {
            Ok(()) => {}
            // Another daemon recovered it first, or its owner just finished it.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(QueueError::io("put back", file, e)),
        }
        let attempts = self.state.bump_attempts(id)?;
        if attempts >= MAX_ATTEMPTS {
            return self.exhaust(id, attempts, report);
        }
        self.state.push_front(id)?;
        report.requeued.push(id.to_owned());
        Ok(())
    }

    /// Claims the just-recovered `id` once more and fails it with `RETRIES_EXHAUSTED`.
    fn exhaust(
        &self,
        id: &str,
        attempts: u32,
        report: &mut RecoveryReport,
    ) -> Result<(), QueueError> {
        let Some(ticket) = self.claim_file(id, None)? else {
            return Ok(());
        };
        let file = self.layout.file(TaskState::InProgress, id);
        let (raw, task_type) = match examine_path(id, &file) {
            Some(Verdict::Valid(task)) => (Some(task.raw.clone()), task.task_type()),
            Some(Verdict::Invalid(poison)) => (poison.raw, poison.task_type),
            None | Some(Verdict::NotOurs(_)) => return self.release(&ticket),
        };
        let error = TaskError::new(
            ErrorCode::RetriesExhausted,
            format!("Task was interrupted {attempts} times; giving up"),
            Some(format!(
                "the daemon stopped or lost its lease during each of {attempts} runs"
            )),
        );
        let result = self.fail_ticket(&ticket, raw.as_ref(), task_type, error)?;
        report.failed.push(Rejected::new(result));
        Ok(())
    }

    /// Removes every claim's rip directory of `id` in `dir`. While `id` has no result, a
    /// file in `dir` that is a second link of a file in such a directory goes too: the
    /// interrupted run had placed its output but not yet written the result, so the
    /// rerun rips it afresh rather than refusing to overwrite it. With a result, that
    /// file is the task's output and stays.
    fn remove_partials(&self, dir: &Path, id: &str, removed: &mut Vec<PathBuf>) {
        let has_result = fsio::exists(&self.layout.file(TaskState::Complete, id));
        for temp in temp_dirs_of(dir, id) {
            if !has_result {
                remove_placed_output(dir, &temp, removed);
            }
            remove_temp_dir(&temp, removed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amphigory_wire::task::TaskType;

    /// A rip claimed by a daemon that died after placing its output (a second link in
    /// the task's temp directory), with or without its result written; then recovered by
    /// the restarted daemon. Returns the report and the destination.
    fn placed_then_killed(tmp: &Path, with_result: bool) -> (RecoveryReport, PathBuf) {
        let out = tmp.join("out");
        fs::create_dir(&out).unwrap();
        let open = || Queue::open(tmp.join("tasks"), &tmp.join("state"), "a@host").unwrap();
        let queue = open();
        let task = serde_json::json!({"id": "a-rip", "type": "rip", "track": {"number": 0},
            "output_info": {"directory": format!("{}/", out.display()), "filename": "M.mkv"}});
        let queued = queue.layout().file(TaskState::Queued, "a-rip");
        fs::write(queued, task.to_string()).unwrap();
        let claim = queue.next(|_| true).unwrap().unwrap();
        let temp = claim.rip_temp_dir().unwrap();
        fs::create_dir(&temp).unwrap();
        fs::write(temp.join("title_t00.mkv"), b"movie").unwrap();
        let destination = out.join("M.mkv");
        fs::hard_link(temp.join("title_t00.mkv"), &destination).unwrap();
        if with_result {
            let error = TaskError::new(ErrorCode::Unknown, "x", None);
            let result = super::super::failure_result("a-rip", TaskType::Rip, None, error);
            queue
                .write_result(Some(&claim.task().raw), &result)
                .unwrap();
        }
        drop((claim, queue));
        let report = open().recover().unwrap();
        assert!(!temp.exists());
        (report, destination)
    }

    #[test]
    fn an_output_placed_before_a_crash_is_ripped_again() {
        let tmp = tempfile::tempdir().unwrap();
        let (report, destination) = placed_then_killed(tmp.path(), false);
        assert!(!destination.exists(), "the rerun must be able to write it");
        assert!(report.removed_partials.contains(&destination));
        assert_eq!(report.requeued, vec!["a-rip".to_owned()]);
    }

    #[test]
    fn an_output_whose_result_was_written_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let (report, destination) = placed_then_killed(tmp.path(), true);
        assert_eq!(fs::read(&destination).unwrap(), b"movie");
        assert_eq!(report.already_complete, vec!["a-rip".to_owned()]);
    }
}
