//! Claims: the atomic rename `queued/` → `in_progress/`, the claim record in the state
//! directory, the ownership sidecar, and leases.
//!
//! Order of a claim, chosen so a daemon killed at any step leaves something recovery
//! understands:
//! 1. claim record written in the state directory (so our own recovery finds it);
//! 2. the queued file's mtime set to now (a rename keeps the mtime, and a task queued an
//!    hour ago must not look like an expired lease the moment it is claimed);
//! 3. `rename(queued/<id>.json, in_progress/<id>.json)`: whoever renames first owns the
//!    task; `NotFound` means another daemon took it or the webapp cancelled it;
//! 4. sidecar `in_progress/<id>.owner` (not `*.json`): daemon id, pid and a random nonce,
//!    checked before every touch and before the result is written.

use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::Local;
use serde::{Deserialize, Serialize};

use super::layout::TaskState;
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
}

/// A claimed file, before (or without) it being a valid task.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    pub id: String,
    pub nonce: String,
    pub claimed_at: String,
}

/// What the sidecar says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Owner {
    pub daemon_id: String,
    pub nonce: String,
    pub pid: u32,
    pub claimed_at: String,
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
        })?;
        if fs::symlink_metadata(&src).is_ok_and(|m| m.is_file()) {
            // Best effort: a failure here (not our file, read-only mount) leaves the lease
            // to the sidecar, which recovery also counts.
            if let Err(e) = fsio::touch(&src) {
                tracing::debug!(task_id = id, error = %e, "cannot refresh the mtime before claiming");
            }
        }
        match fs::rename(&src, &dst) {
            Ok(()) => {}
            Err(e) => {
                self.state.remove_claim(id)?;
                if e.kind() == io::ErrorKind::NotFound {
                    return Ok(None);
                }
                return Err(QueueError::io("claim", src, e));
            }
        }
        if let Err(e) = self.write_sidecar(&ticket) {
            // Without a sidecar the claim cannot be proven ours: undo it.
            self.release(&ticket)?;
            return Err(e);
        }
        Ok(Some(ticket))
    }

    fn write_sidecar(&self, ticket: &Ticket) -> Result<(), QueueError> {
        let owner = Owner {
            daemon_id: self.daemon_id.clone(),
            nonce: ticket.nonce.clone(),
            pid: std::process::id(),
            claimed_at: ticket.claimed_at.clone(),
        };
        let path = self.layout.sidecar(&ticket.id);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let dir = self.layout.dir(TaskState::InProgress);
        fsio::replace_file(&dir, &name, &json_bytes(&owner)?)
            .map_err(|e| QueueError::io("write ownership sidecar", path, e))
    }

    /// The sidecar of `id`, if present and readable.
    pub(crate) fn read_sidecar(&self, id: &str) -> Option<Owner> {
        let bytes = fs::read(self.layout.sidecar(id)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Fails with [`QueueError::ClaimLost`] unless `in_progress/<id>.json` is there and
    /// its sidecar carries our nonce.
    pub(crate) fn check_owner(&self, ticket: &Ticket) -> Result<(), QueueError> {
        let lost = |reason: &str| QueueError::ClaimLost {
            id: ticket.id.clone(),
            reason: reason.to_owned(),
        };
        if !fsio::exists(&self.layout.file(TaskState::InProgress, &ticket.id)) {
            return Err(lost("the in_progress file is gone"));
        }
        match self.read_sidecar(&ticket.id) {
            Some(owner) if owner.nonce == ticket.nonce => Ok(()),
            Some(owner) => Err(lost(&format!(
                "claimed since by {} (pid {})",
                owner.daemon_id, owner.pid
            ))),
            None => Err(lost("the ownership sidecar is gone")),
        }
    }

    /// Renews the lease of a running task: sets the `in_progress` file's (and the
    /// sidecar's) mtime to now. Call it at least every
    /// [`TOUCH_INTERVAL`](super::TOUCH_INTERVAL). [`QueueError::ClaimLost`] means another
    /// daemon recovered the task: stop running it.
    pub fn touch(&self, claim: &Claim) -> Result<(), QueueError> {
        self.check_owner(&claim.ticket)?;
        let file = self.layout.file(TaskState::InProgress, claim.id());
        fsio::touch(&file).map_err(|e| QueueError::io("touch", file, e))?;
        let sidecar = self.layout.sidecar(claim.id());
        fsio::touch(&sidecar).map_err(|e| QueueError::io("touch", sidecar, e))
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
