//! Status problems the engine keeps up to date itself (the queue directory, results that
//! cannot be written): each slot remembers what it put into the snapshot, so it replaces
//! exactly its own lines and nobody else's.

use crate::core::StatusHandle;

/// One source of problems in the status snapshot.
#[derive(Debug, Default)]
pub(crate) struct ProblemSlot {
    shown: Vec<String>,
}

impl ProblemSlot {
    /// Makes the snapshot show `now` for this slot (nothing when empty); a no-op when
    /// nothing changed.
    pub(crate) fn show(&mut self, status: &StatusHandle, now: Vec<String>) {
        if now == self.shown {
            return;
        }
        let before = std::mem::replace(&mut self.shown, now);
        status.update(|s| {
            s.problems.retain(|p| !before.contains(p));
            s.problems.extend(self.shown.iter().cloned());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::StatusSnapshot;

    #[test]
    fn a_slot_replaces_only_its_own_lines() {
        let status = StatusHandle::new(StatusSnapshot {
            problems: vec!["needs config".into()],
            ..StatusSnapshot::default()
        });
        let mut slot = ProblemSlot::default();
        slot.show(&status, vec!["cannot write results".into()]);
        assert_eq!(
            status.get().problems,
            ["needs config", "cannot write results"]
        );
        slot.show(&status, Vec::new());
        assert_eq!(status.get().problems, ["needs config"]);
    }
}
