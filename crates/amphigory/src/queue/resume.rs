//! Taking up again, after a restart, a claim whose task finished but whose result could
//! not be written (SPEC §4 "A result that cannot be written"): the result is written now,
//! or, if that still fails, the claim is kept (this process's pid in the claim record and
//! the sidecar, which renews the lease) and handed to the engine to retry. Never run
//! again, and its output never removed.

use amphigory_wire::result::TaskResult;

use super::claim::{Claim, Owner, Ticket};
use super::layout::TaskState;
use super::recovery::{PendingResult, RecoveryReport};
use super::validate::{Verdict, examine_path};
use super::{Queue, QueueError};

impl Queue {
    /// Resumes this daemon's finished claim on `id` (its sidecar says `owner`).
    pub(crate) fn resume(
        &self,
        id: &str,
        owner: &Owner,
        result: TaskResult,
        report: &mut RecoveryReport,
    ) -> Result<(), QueueError> {
        let file = self.layout.file(TaskState::InProgress, id);
        let Some(Verdict::Valid(task)) = examine_path(id, &file) else {
            // The task file is gone or was replaced: write what is known, end the claim.
            self.write_result(None, &result)?;
            self.clear_claim(id)?;
            self.state.forget(id)?;
            report.finished_late.push(id.to_owned());
            return Ok(());
        };
        let claim = Claim {
            task,
            ticket: Ticket {
                id: id.to_owned(),
                nonce: owner.nonce.clone(),
                claimed_at: owner.claimed_at.clone(),
            },
        };
        self.adopt(&claim, &result)?;
        match self.finish(&claim, &result) {
            Ok(()) => report.finished_late.push(id.to_owned()),
            Err(QueueError::ClaimLost { .. }) => {}
            Err(error) => report.pending.push(PendingResult {
                claim,
                result,
                error,
            }),
        }
        Ok(())
    }

    /// Makes a claim of this daemon's previous process this process's: claim record and
    /// sidecar rewritten with this pid (the sidecar's rewrite also renews the lease).
    fn adopt(&self, claim: &Claim, result: &TaskResult) -> Result<(), QueueError> {
        if let Some(mut record) = self.state.read_claim(claim.id()) {
            record.pid = std::process::id();
            record.child_pid = None;
            record.finished = Some(result.clone());
            self.state.write_claim(&record)?;
        }
        self.write_sidecar_with(&claim.ticket, Some(result))
    }
}
