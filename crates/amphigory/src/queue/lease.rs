//! The lease on a claimed task: renewing it ([`Queue::touch`], the sidecar's mtime) and
//! proving before each renewal, and before a result is written, that the claim is still
//! ours (the sidecar carries our nonce).

use std::fs;
use std::io;

use super::claim::{Claim, Sidecar, Ticket};
use super::layout::TaskState;
use super::{Queue, QueueError};
use crate::fsio;

impl Queue {
    /// Fails with [`QueueError::ClaimLost`] unless `in_progress/<id>.json` is there and
    /// its sidecar carries our nonce; with [`QueueError::Io`] when that cannot be told
    /// (the claim is then assumed alive: a transient error must not stop a rip).
    pub(crate) fn check_owner(&self, ticket: &Ticket) -> Result<(), QueueError> {
        let lost = |reason: &str| QueueError::ClaimLost {
            id: ticket.id.clone(),
            reason: reason.to_owned(),
        };
        let file = self.layout.file(TaskState::InProgress, &ticket.id);
        match fs::symlink_metadata(&file) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(lost("the in_progress file is gone"));
            }
            Err(e) => return Err(QueueError::io("examine", file, e)),
        }
        let sidecar = self.layout.sidecar(&ticket.id);
        match self.read_sidecar(&ticket.id) {
            Ok(Some(Sidecar::Owner(owner))) if owner.nonce == ticket.nonce => Ok(()),
            Ok(Some(Sidecar::Owner(owner))) => Err(lost(&format!(
                "claimed since by {} (pid {})",
                owner.daemon_id, owner.pid
            ))),
            Ok(Some(Sidecar::Garbled)) => Err(lost("the ownership sidecar is not ours any more")),
            Ok(None) => Err(lost("the ownership sidecar is gone")),
            Err(e) => Err(QueueError::io("read", sidecar, e)),
        }
    }

    /// Renews the lease of a running task: sets its sidecar's mtime to now. Only the
    /// sidecar: this daemon wrote it, while the task file is often the webapp's (root's,
    /// mode 0644) and cannot be touched. Call it at least every
    /// [`TOUCH_INTERVAL`](super::TOUCH_INTERVAL). [`QueueError::ClaimLost`] means the
    /// claim is someone else's now (or gone): stop running it. Other errors are
    /// transient as far as anyone can tell: try again at the next renewal.
    pub fn touch(&self, claim: &Claim) -> Result<(), QueueError> {
        self.check_owner(&claim.ticket)?;
        let sidecar = self.layout.sidecar(claim.id());
        match fsio::touch(&sidecar) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(QueueError::ClaimLost {
                id: claim.id().to_owned(),
                reason: "the ownership sidecar is gone".to_owned(),
            }),
            Err(e) => Err(QueueError::io("renew the lease on", sidecar, e)),
        }
    }
}
