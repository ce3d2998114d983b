//! What running work reports back to the engine: progress, and its end (with the event
//! that announces it). The engine folds each report into its state, publishes the status,
//! and only then the event.

use amphigory_wire::scan::ScanResult;

use super::{Engine, results, task_run};
use crate::core::DaemonEvent;
use crate::makemkv::progress::ProgressUpdate;
use crate::makemkv::runner::RunError;

/// What a running piece of work reports: its progress, and its end.
pub(super) enum Done {
    /// How far run `run` is.
    Progress { run: u64, update: ProgressUpdate },
    /// A queue task on the disc of `generation` (`None`: the drive was empty).
    Task {
        drive_id: String,
        /// [`super::state::Running::run`] of the work that ended.
        run: u64,
        generation: Option<u64>,
        outcome: Box<task_run::Summary>,
    },
    /// The proactive scan of the disc of this generation.
    DiscScan {
        drive_id: String,
        /// [`super::state::Running::run`] of the scan.
        run: u64,
        generation: u64,
        outcome: Result<ScanResult, RunError>,
    },
}

impl Engine {
    pub(super) fn on_done(&mut self, done: Done) {
        match done {
            Done::Progress { run, update } => self.progress(run, update),
            Done::Task {
                drive_id,
                run,
                generation,
                outcome,
            } => self.task_done(&drive_id, run, generation, *outcome),
            Done::DiscScan {
                drive_id,
                run,
                generation,
                outcome,
            } => self.disc_scan_done(&drive_id, run, generation, outcome),
        }
    }

    /// Shows how far run `run` is, then says so on the bus.
    fn progress(&mut self, run: u64, update: ProgressUpdate) {
        let on_drive = self
            .registry
            .drives
            .iter_mut()
            .any(|entry| entry.task_progress(run, &update));
        let Some(running) = self.registry.run_mut(run) else {
            return; // ended meanwhile
        };
        if !on_drive && !running.advance(&update) {
            return; // a proactive scan
        }
        let Some(task_id) = running.task_id.clone() else {
            return;
        };
        self.emit(DaemonEvent::TaskProgress {
            task_id,
            percent: update.percent,
            eta_seconds: update.eta_seconds,
            current_size_bytes: update.current_size_bytes,
            speed: update.speed,
        });
    }

    fn task_done(
        &mut self,
        drive_id: &str,
        run: u64,
        generation: Option<u64>,
        outcome: task_run::Summary,
    ) {
        let task_run::Summary {
            scan,
            ripped,
            pending,
            event,
        } = outcome;
        if let Some(unwritten) = pending {
            let task_run::Unwritten {
                claim,
                result,
                error,
            } = *unwritten;
            self.pending.push(claim, result, &error);
        }
        let mine = self.registry.finish(drive_id, run);
        // The drive went away meanwhile: what runs there now is not this, so its end
        // touches nothing there.
        let entry = self.registry.get_mut(drive_id).filter(|_| mine);
        if let Some(entry) = entry {
            entry.task_stopped(generation, scan, &results::now_rfc3339());
        }
        // The snapshot first, then the event: a client that connects in between must not
        // get a `sync` still showing the task running after it heard it finished.
        if let Some(event) = event {
            self.emit(event);
        }
        if mine && ripped && self.ctx.options.auto_eject {
            self.auto_eject(drive_id);
        }
    }
}
