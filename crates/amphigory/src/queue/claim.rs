//! Claims: the atomic rename `queued/` → `in_progress/`, the claim record in the state
//! directory and the ownership sidecar (its lease is renewed in `lease`).
//!
//! Order of a claim, chosen so a daemon killed at any step leaves something recovery
//! understands:
//! 1. claim record written in the state directory (so our own recovery finds it);
//! 2. the queued file's mtime set to now, where this daemon may (a rename keeps the
//!    mtime, and a task queued an hour ago must not look like an expired lease in the
//!    moment before its sidecar exists); the webapp's root-owned files cannot be
//!    touched, and need not be: another daemon that recovers such a claim in that moment
//!    only puts it back, and this daemon then finds the claim gone and moves on;
//! 3. `rename(queued/<id>.json, in_progress/<id>.json)`: whoever renames first owns the
//!    task; `NotFound` means another daemon took it or the webapp cancelled it (unless the
//!    queued file is still there: then `in_progress/` is missing, and is made again);
//! 4. sidecar `in_progress/<id>.owner` (not `*.json`): daemon id, pid and a random nonce,
//!    checked before every renewal and before the result is written. The lease lives on
//!    the sidecar, the one file of the claim this daemon surely owns.

use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::Local;
use serde::{Deserialize, Serialize};

use amphigory_wire::result::TaskResult;

use super::layout::TaskState;
use super::partial::rip_temp_dir;
use super::state::{ClaimRecord, json_bytes};
use super::task::Task;
use super::{Queue, QueueError};
use crate::fsio;

/// A task this daemon has claimed. Hand it back through [`Queue::finish`] or
/// [`Queue::requeue`]; [`Queue::touch`] it at least every
/// [`TOUCH_INTERVAL`](super::TOUCH_INTERVAL) meanwhile.
#[derive(Debug)]
pub struct Claim {
    pub(crate) task: Task,
    pub(crate) ticket: Ticket,
}

impl Claim {
    /// The claimed task.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.task.id
    }

    /// When it was claimed (RFC 3339 with offset): the result's `started_at`.
    pub fn claimed_at(&self) -> &str {
        &self.ticket.claimed_at
    }

    /// For a rip, the hidden directory this claim rips into (see [`rip_temp_dir`]).
    pub fn rip_temp_dir(&self) -> Option<PathBuf> {
        let rip = self.task.rip()?;
        Some(rip_temp_dir(&rip.directory, self.id(), &self.ticket.nonce))
    }
}

/// What a sidecar holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Sidecar {
    /// A claim.
    Owner(Box<Owner>),
    /// Not a sidecar this program wrote.
    Garbled,
}

/// A claimed file, before (or without) it being a valid task.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    pub id: String,
    pub nonce: String,
    pub claimed_at: String,
}

/// What the sidecar says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Owner {
    pub daemon_id: String,
    pub nonce: String,
    pub pid: u32,
    pub claimed_at: String,
    /// The task finished, but its result could not be written yet: whichever daemon
    /// recovers the claim writes this result instead of running the task again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<TaskResult>,
}

impl Queue {
    /// Claims `queued/<id>.json` whatever it holds (steps 1–4 above). `Ok(None)` when the
    /// file is gone (someone else took or cancelled it) or `in_progress/` already has a
    /// file of that id.
    pub(crate) fn claim_file(
        &self,
        id: &str,
        output_dir: Option<PathBuf>,
    ) -> Result<Option<Ticket>, QueueError> {
        let src = self.layout.file(TaskState::Queued, id);
        let dst = self.layout.file(TaskState::InProgress, id);
        if fsio::exists(&dst) {
            tracing::debug!(
                task_id = id,
                "a task of this id is already in progress; leaving the queued copy"
            );
            return Ok(None);
        }
        let ticket = Ticket {
            id: id.to_owned(),
            nonce: new_nonce(),
            claimed_at: Local::now().to_rfc3339(),
        };
        self.state.write_claim(&ClaimRecord {
            task_id: id.to_owned(),
            daemon_id: self.daemon_id.clone(),
            nonce: ticket.nonce.clone(),
            pid: std::process::id(),
            claimed_at: ticket.claimed_at.clone(),
            child_pid: None,
            output_dir,
            finished: None,
        })?;
        if fs::symlink_metadata(&src).is_ok_and(|m| m.is_file()) {
            // Best effort (see step 2): the lease proper lives on the sidecar.
            if let Err(e) = fsio::touch(&src) {
                tracing::trace!(task_id = id, error = %e, "cannot refresh the mtime before claiming");
            }
        }
        if let Err(e) = self.rename_into_progress(&src, &dst) {
            self.state.remove_claim(id)?;
            if e.kind() == io::ErrorKind::NotFound && !fsio::exists(&src) {
                return Ok(None);
            }
            return Err(QueueError::io("claim", src, e));
        }
        if let Err(e) = self.write_sidecar_with(&ticket, None) {
            // Without a sidecar the claim cannot be proven ours: undo it.
            self.release(&ticket)?;
            return Err(e);
        }
        Ok(Some(ticket))
    }

    /// The claim's `rename`. `NotFound` with the source still there means `in_progress/`
    /// itself is missing (deleted under the daemon): it is made again and the rename
    /// tried once more, rather than mistaking the error for "someone else took it".
    fn rename_into_progress(&self, src: &Path, dst: &Path) -> io::Result<()> {
        match fs::rename(src, dst) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && fsio::exists(src) => {
                if self.ensure_folders().is_err() {
                    return Err(e);
                }
                fs::rename(src, dst)
            }
            other => other,
        }
    }

    /// Writes the sidecar of `ticket` (this process as the owner), which also renews
    /// the lease; with `finished`, the result that could not be written yet.
    pub(crate) fn write_sidecar_with(
        &self,
        ticket: &Ticket,
        finished: Option<&TaskResult>,
    ) -> Result<(), QueueError> {
        let owner = Owner {
            daemon_id: self.daemon_id.clone(),
            nonce: ticket.nonce.clone(),
            pid: std::process::id(),
            claimed_at: ticket.claimed_at.clone(),
            finished: finished.cloned(),
        };
        let path = self.layout.sidecar(&ticket.id);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let dir = self.layout.dir(TaskState::InProgress);
        fsio::replace_file_with(&self.state.spares, &dir, &name, &json_bytes(&owner)?)
            .map_err(|e| QueueError::io("write ownership sidecar", path, e))
    }

    /// The sidecar of `id`: `Ok(None)` when there is none, [`Sidecar::Garbled`] when it
    /// does not parse (nobody's claim can be proven with it). Any other read error (out
    /// of descriptors, an unreadable folder) is an error, never "gone": the claim may be
    /// perfectly alive.
    pub(crate) fn read_sidecar(&self, id: &str) -> io::Result<Option<Sidecar>> {
        match fs::read(self.layout.sidecar(id)) {
            Ok(bytes) => Ok(Some(
                serde_json::from_slice(&bytes)
                    .map_or(Sidecar::Garbled, |o| Sidecar::Owner(Box::new(o))),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Makes the temp files the next claim writes (its record, its sidecar) ahead of
    /// time, off the pickup path: call it when idle. Failures only cost the next claim
    /// the time to make them then.
    pub fn prepare_claim(&self) {
        let dirs = [
            self.state.claims_dir(),
            self.layout.dir(TaskState::InProgress),
        ];
        for dir in dirs {
            if let Err(e) = self.state.spares.stock(&dir) {
                tracing::debug!(dir = %dir.display(), error = %e, "cannot make a spare temp file");
            }
        }
    }

    /// Records the pid of the `makemkvcon` working on a claim (or clears it with `None`),
    /// so that a daemon restarted after a crash can kill the orphan before reusing the
    /// drive (see [`RecoveryReport::orphan_children`](super::RecoveryReport)).
    pub fn record_child_pid(&self, claim: &Claim, pid: Option<u32>) -> Result<(), QueueError> {
        let Some(mut record) = self.state.read_claim(claim.id()) else {
            return Err(QueueError::ClaimLost {
                id: claim.id().to_owned(),
                reason: "no claim record in the state directory".to_owned(),
            });
        };
        record.child_pid = pid;
        self.state.write_claim(&record)
    }

    /// Puts a claimed file back into `queued/` (it was not ours to run after all) and
    /// forgets the claim.
    pub(crate) fn release(&self, ticket: &Ticket) -> Result<(), QueueError> {
        let src = self.layout.file(TaskState::InProgress, &ticket.id);
        let dst = self.layout.file(TaskState::Queued, &ticket.id);
        match fs::rename(&src, &dst) {
            Ok(()) => {}
            // `queued/` itself is missing: made again, then the file goes back.
            Err(e) if e.kind() == io::ErrorKind::NotFound && fsio::exists(&src) => {
                self.ensure_folders()?;
                fs::rename(&src, &dst).map_err(|e| QueueError::io("put back", &src, e))?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(QueueError::io("put back", src, e)),
        }
        self.remove_sidecar(&ticket.id)?;
        self.state.remove_claim(&ticket.id)
    }

    /// Removes a finished claim: the `in_progress` file, the sidecar, the claim record.
    pub(crate) fn clear_claim(&self, id: &str) -> Result<(), QueueError> {
        let file = self.layout.file(TaskState::InProgress, id);
        fsio::remove_any(&file).map_err(|e| QueueError::io("remove", file, e))?;
        self.remove_sidecar(id)?;
        self.state.remove_claim(id)
    }

    pub(crate) fn remove_sidecar(&self, id: &str) -> Result<(), QueueError> {
        let sidecar = self.layout.sidecar(id);
        fsio::remove_any(&sidecar)
            .map(|_| ())
            .map_err(|e| QueueError::io("remove", sidecar, e))
    }
}

/// A value no other claim will have: a per-process random hash of pid, time and a
/// counter.
fn new_nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(nanos);
    hasher.write_u64(count);
    format!("{:016x}-{count}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_differ() {
        let a = new_nonce();
        let b = new_nonce();
        assert_ne!(a, b);
    }
}
