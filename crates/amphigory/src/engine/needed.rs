//! "Disc needed" (SPEC §11.1): queued tasks that wait for a disc in no drive of this
//! daemon, counted per disc. The engine recomputes it after every pass; each change is
//! published once per disc (not per task) as [`DaemonEvent::DiscNeeded`], and the status
//! snapshot shows the discs (the tray, `amphigory status`) and one problem line each.
//! Nothing is needed while the queue is paused or detection has not settled.

use std::collections::BTreeMap;

use amphigory_wire::task::TaskType;
use amphigory_wire::ws::NeededDisc;

use super::Engine;
use super::problems::ProblemSource;
use crate::core::DaemonEvent;
use crate::core::status::disc_needed_problem;

/// What the engine last said about needed discs.
#[derive(Debug, Default)]
pub(super) struct NeededDiscs {
    /// In the order they were first needed (the last is the latest).
    shown: Vec<NeededDisc>,
}

impl NeededDiscs {
    /// The discs needed now, in the order they were first needed.
    pub(super) fn shown(&self) -> &[NeededDisc] {
        &self.shown
    }
}

impl Engine {
    /// Recounts the discs waiting tasks need and publishes what changed.
    pub(super) fn update_discs_needed(&mut self) {
        if self.paused || !self.registry.settled {
            self.needed_changed(Vec::new());
            return;
        }
        let groups = match self.ctx.queue.waiting_counts() {
            Ok(groups) => groups,
            Err(e) => {
                // The queue's own problems are shown elsewhere; keep what we said.
                tracing::debug!("cannot count tasks waiting for discs: {e}");
                return;
            }
        };
        let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (task, count) in &groups {
            if let Some(fingerprint) = self.registry.needed_disc(task) {
                let (waiting, rips) = counts.entry(fingerprint).or_default();
                *waiting += count;
                if task.task_type() == TaskType::Rip {
                    *rips += count;
                }
            }
        }
        let now = counts
            .into_iter()
            .map(|(fingerprint, (waiting, rips))| NeededDisc {
                fingerprint: fingerprint.to_owned(),
                volume_name: self.registry.volume_of(fingerprint).map(str::to_owned),
                waiting,
                rips,
            })
            .collect();
        self.needed_changed(now);
    }

    /// Makes `now` what is shown, keeping the order discs were first needed in, and
    /// publishes one event per disc whose count changed (`waiting: 0` for one that is
    /// no longer needed).
    fn needed_changed(&mut self, mut now: Vec<NeededDisc>) {
        let before = &self.needed.shown;
        let rank = |d: &NeededDisc| {
            before
                .iter()
                .position(|b| b.fingerprint == d.fingerprint)
                .unwrap_or(usize::MAX)
        };
        now.sort_by_key(rank); // stable: new discs stay in fingerprint order, at the end
        if now == *before {
            return;
        }
        let gone: Vec<NeededDisc> = before
            .iter()
            .filter(|b| !contains(&now, b))
            .map(|gone| NeededDisc {
                waiting: 0,
                rips: 0,
                ..gone.clone()
            })
            .collect();
        let changed: Vec<NeededDisc> = now
            .iter()
            .filter(|d| !before.contains(d))
            .cloned()
            .collect();
        let lines = now.iter().map(disc_needed_problem).collect();
        self.problems.set(ProblemSource::DiscsNeeded, lines);
        self.needed.shown = now;
        for disc in gone {
            tracing::info!("disc {} no longer needed", disc.name());
            self.emit(DaemonEvent::DiscNeeded { disc });
        }
        for disc in changed {
            tracing::info!("disc needed: {}", disc.sentence());
            self.emit(DaemonEvent::DiscNeeded { disc });
        }
    }
}

fn contains(list: &[NeededDisc], disc: &NeededDisc) -> bool {
    list.iter().any(|d| d.fingerprint == disc.fingerprint)
}
