//! Crash recovery (SPEC §4): claims this daemon recorded, and any daemon-owned
//! `in_progress/` file whose lease expired, go back to `queued/` (at the head of the
//! queue) with one more attempt counted; the third interruption fails the task with
//! `RETRIES_EXHAUSTED`. A task whose result was already written is only cleaned up, never
//! run twice. The partial output of an interrupted rip is removed: its hidden temporary
//! directory [`rip_temp_dir`] and, for this daemon's own claims, the runner's
//! `.amphigory-rip-<pid>-…` directories made by the previous process. Webapp tasks are
//! never touched.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use amphigory_wire::{ErrorCode, TaskError};

use crate::makemkv::runner::TEMP_DIR_PREFIX;

use super::layout::{SIDECAR_EXT, TaskState, stem_of};
use super::select::Rejected;
use super::state::ClaimRecord;
use super::task::{IdOwner, Task, owner_by_id};
use super::validate::{Verdict, examine_path};
use super::{LEASE, MAX_ATTEMPTS, Queue, QueueError};
use crate::fsio::{self, TEMP_PREFIX, TEMP_SUFFIX};

/// The hidden directory a rip writes into before its file is renamed into place:
/// `<output_dir>/.amphigory-<task id>`. The runner rips there; recovery, `requeue` and
/// `finish` remove it.
pub fn rip_temp_dir(output_dir: &Path, task_id: &str) -> PathBuf {
    output_dir.join(format!(".amphigory-{task_id}"))
}

/// What recovery did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecoveryReport {
    /// Put back into `queued/` (at the head of the queue), one more attempt counted.
    pub requeued: Vec<String>,
    /// Failed with `RETRIES_EXHAUSTED` (results written).
    pub failed: Vec<Rejected>,
    /// A result was already in `complete/`: only the leftover claim was removed.
    pub already_complete: Vec<String>,
    /// Daemon tasks in progress elsewhere with a live lease: left alone.
    pub live_elsewhere: Vec<String>,
    /// `makemkvcon` children recorded by the previous run of this daemon, which may
    /// still be running: kill them (process group) before using the drives.
    pub orphan_children: Vec<OrphanChild>,
    /// Partial rip output removed.
    pub removed_partials: Vec<PathBuf>,
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
        for id in &self.live_elsewhere {
            tracing::info!(task_id = %id, "in progress under another daemon's live lease");
        }
        for orphan in &self.orphan_children {
            tracing::warn!(task_id = %orphan.task_id, pid = orphan.pid, "makemkvcon of the previous run may still be running");
        }
        for path in &self.removed_partials {
            tracing::info!(path = %path.display(), "removed partial rip output");
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
    /// call while running, e.g. every minute: live claims, including this daemon's
    /// (touched every 30 s), are never touched.
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
        let file = self.layout.file(TaskState::InProgress, id);
        let ours = match (self.read_sidecar(id), record) {
            (Some(owner), Some(record)) => owner.nonce == record.nonce,
            (Some(owner), None) => owner.daemon_id == self.daemon_id,
            // Killed between the rename and the sidecar, or the claim never happened
            // (or someone without sidecars took it since): the lease decides.
            (None, _) => false,
        };
        self.state.remove_claim(id)?;
        if !ours {
            // Someone else's claim now (or undecidable): its partial output is live.
            return Ok(false);
        }
        if let Some(record) = record {
            if let Some(dir) = record.output_dir.as_deref() {
                self.remove_partial_in(dir, id, report);
                remove_runner_dirs(dir, record.pid, report);
            }
        }
        if !fsio::exists(&file) {
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
        let entries = fs::read_dir(&dir).map_err(|e| QueueError::io("list", &dir, e))?;
        let mut stems: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(stem_of).map(str::to_owned))
            .filter(|stem| !handled.contains(stem) && owner_by_id(stem) != IdOwner::Webapp)
            .collect();
        stems.sort();
        for stem in stems {
            let file = dir.join(format!("{stem}.json"));
            match examine_path(&stem, &file) {
                None | Some(Verdict::NotOurs(_)) => continue,
                Some(_) => {}
            }
            if self.lease_age(&stem).is_some_and(|age| age < LEASE) {
                report.live_elsewhere.push(stem);
                continue;
            }
            if let Err(e) = self.interrupted(&stem, report) {
                tracing::warn!(task_id = %stem, error = %e, "cannot recover expired claim");
            }
        }
        Ok(())
    }

    /// Time since the claim on `id` was last renewed: the younger of the `in_progress`
    /// file and its sidecar. `None` when the file is gone.
    pub(crate) fn lease_age(&self, id: &str) -> Option<Duration> {
        let file = fsio::age(&self.layout.file(TaskState::InProgress, id)).ok()??;
        match fsio::age(&self.layout.sidecar(id)) {
            Ok(Some(sidecar)) => Some(file.min(sidecar)),
            _ => Some(file),
        }
    }

    /// An interrupted run of `id`, which we may recover: clean up if its result exists,
    /// else put it back (one more attempt) or fail it after [`MAX_ATTEMPTS`].
    fn interrupted(&self, id: &str, report: &mut RecoveryReport) -> Result<(), QueueError> {
        if fsio::exists(&self.layout.file(TaskState::Complete, id)) {
            self.clear_claim(id)?;
            self.state.forget(id)?;
            report.already_complete.push(id.to_owned());
            return Ok(());
        }
        let file = self.layout.file(TaskState::InProgress, id);
        if let Some(Verdict::Valid(task)) = examine_path(id, &file) {
            if let Some(removed) = self.remove_partial(&task) {
                report.removed_partials.push(removed);
            }
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

    /// Removes the hidden temporary directory of a rip, if there is one. Returns it when
    /// something was removed.
    pub(crate) fn remove_partial(&self, task: &Task) -> Option<PathBuf> {
        let rip = task.rip()?;
        let mut report = RecoveryReport::default();
        self.remove_partial_in(&rip.directory, &task.id, &mut report);
        report.removed_partials.pop()
    }

    /// Removes `rip_temp_dir(dir, id)`. While `id` has no result, a file in `dir` that is
    /// a second link of a file in the temp directory goes too: the interrupted run had
    /// placed its output but not yet written the result (see the runner's
    /// `RipRequest::temp_dir`), so the rerun rips it afresh rather than refusing to
    /// overwrite it. With a result, that file is the task's output and stays.
    fn remove_partial_in(&self, dir: &Path, id: &str, report: &mut RecoveryReport) {
        if !fsio::exists(&self.layout.file(TaskState::Complete, id)) {
            remove_placed_output(dir, &rip_temp_dir(dir, id), report);
        }
        remove_partial_at(dir, id, report);
    }

    /// Removes stale sidecars (no task file, older than a lease) and the temporary files
    /// of interrupted atomic writes: at once when their writer is a dead process of this
    /// host, else once they are older than a lease (another host may still be writing).
    fn sweep_leftovers(&self) {
        let in_progress = self.layout.dir(TaskState::InProgress);
        let dirs = [
            self.layout.root().to_path_buf(),
            self.layout.dir(TaskState::Queued),
            in_progress.clone(),
            self.layout.dir(TaskState::Complete),
            self.layout.dir(TaskState::Failed),
        ];
        for dir in dirs.into_iter().chain(self.state.dirs()) {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                let temp = name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX);
                let sidecar = dir == in_progress
                    && name.strip_suffix(SIDECAR_EXT).is_some_and(|stem| {
                        stem.ends_with('.') && !fsio::exists(&dir.join(format!("{stem}json")))
                    });
                if !temp && !sidecar {
                    continue;
                }
                let path = entry.path();
                let orphaned = temp && fsio::temp_writer_is_dead(name);
                if orphaned || fsio::age(&path).ok().flatten().is_some_and(|a| a >= LEASE) {
                    if let Err(e) = fsio::remove_any(&path) {
                        tracing::warn!(path = %path.display(), error = %e, "cannot remove leftover");
                    }
                }
            }
        }
    }
}

/// Removes the runner's own temp directories (`<TEMP_DIR_PREFIX><pid>-…`) made by the
/// daemon process `pid` in `dir`. Only used for this daemon's own claim records, whose
/// `pid` is our previous, dead incarnation on this host.
fn remove_runner_dirs(dir: &Path, pid: u32, report: &mut RecoveryReport) {
    let prefix = format!("{TEMP_DIR_PREFIX}{pid}-");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let ours = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&prefix));
        if ours && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let path = entry.path();
            match fs::remove_dir_all(&path) {
                Ok(()) => report.removed_partials.push(path),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot remove partial rip output")
                }
            }
        }
    }
}

/// Removes the regular files of `dir` that are the same file (device and inode) as a
/// multiply linked regular file in `temp`.
fn remove_placed_output(dir: &Path, temp: &Path, report: &mut RecoveryReport) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = fs::read_dir(temp) else {
        return;
    };
    let linked: HashSet<(u64, u64)> = entries
        .flatten()
        .filter_map(|e| fs::symlink_metadata(e.path()).ok())
        .filter(|m| m.is_file() && m.nlink() > 1)
        .map(|m| (m.dev(), m.ino()))
        .collect();
    let Ok(entries) = fs::read_dir(dir).map(|e| e.flatten()) else {
        return;
    };
    for entry in entries.filter(|_| !linked.is_empty()) {
        let path = entry.path();
        let placed = fs::symlink_metadata(&path)
            .is_ok_and(|m| m.is_file() && linked.contains(&(m.dev(), m.ino())));
        if !placed {
            continue;
        }
        match fs::remove_file(&path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "removed the output of an interrupted rip; it is ripped again");
                report.removed_partials.push(path);
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove the output of an interrupted rip")
            }
        }
    }
}

/// Removes `rip_temp_dir(dir, id)` if it is a real directory (never a link).
fn remove_partial_at(dir: &Path, id: &str, report: &mut RecoveryReport) {
    let temp = rip_temp_dir(dir, id);
    let is_dir = fs::symlink_metadata(&temp).is_ok_and(|m| m.is_dir());
    if !is_dir {
        return;
    }
    match fs::remove_dir_all(&temp) {
        Ok(()) => {
            tracing::info!(path = %temp.display(), "removed partial rip output");
            report.removed_partials.push(temp);
        }
        Err(e) => {
            tracing::warn!(path = %temp.display(), error = %e, "cannot remove partial rip output")
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
        let temp = rip_temp_dir(&out, "a-rip");
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
