//! The status snapshot as a projection of the engine's state, published after every
//! change: the only place the daemon's status is written. Events that follow a change go
//! out after the snapshot showing it ([`Engine::emit`]).

use amphigory_wire::control::KeepAwakeStatus;

use super::Engine;
use super::problems::ProblemSource;
use crate::core::status::RunningTask;
use crate::core::{DaemonEvent, StatusSnapshot};

/// What the status shows that other components report (see [`super::Report`]).
#[derive(Debug, Default)]
pub(super) struct Extras {
    /// The webapp link: `None` when none is configured.
    pub(super) webapp_link: Option<bool>,
    /// Whether the machine is kept awake.
    pub(super) keep_awake: Option<KeepAwakeStatus>,
}

impl Engine {
    /// The snapshot of the engine's state now.
    pub(super) fn project(&self) -> StatusSnapshot {
        let mut running: Vec<(u64, RunningTask)> = self
            .registry
            .running()
            .filter_map(|r| r.progress.clone().map(|p| (r.run, p)))
            .collect();
        // In the order they started, as tasks are listed everywhere.
        running.sort_by_key(|(run, _)| *run);
        let current_drive = self
            .registry
            .current()
            .and_then(|i| self.registry.drives.get(i))
            .map(|d| d.slot.drive_id.clone());
        let mut problems = self.problems.clone();
        problems.set(ProblemSource::Results, self.pending.problem(&self.ctx));
        StatusSnapshot {
            daemon_id: self.daemon_id.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            paused: self.paused,
            queue_depth: if self.depth == usize::MAX {
                0
            } else {
                self.depth
            },
            drives: self
                .registry
                .drives
                .iter()
                .map(|d| d.shown.clone())
                .collect(),
            running: running.into_iter().map(|(_, task)| task).collect(),
            problems: problems.list(),
            webapp_link: self.view.webapp_link,
            current_drive,
            keep_awake: self.view.keep_awake.clone(),
            discs_needed: self.needed.shown().to_vec(),
        }
    }

    /// Publishes the snapshot when it changed (watchers wake only then).
    pub(super) fn publish_status(&self) {
        self.status.publish(self.project());
    }

    /// Publishes the snapshot, then `event`: whoever hears the event and then reads the
    /// status (a client connecting in between) sees the change the event speaks of.
    pub(super) fn emit(&self, event: DaemonEvent) {
        self.publish_status();
        self.ctx.bus.publish(event);
    }
}
