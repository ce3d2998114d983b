//! The engine's answers to commands (pause, resume, cancel, eject, labels, status, news
//! from other components) and its upkeep of the queue: the PAUSED marker and queue depth
//! as everyone sees them, expired claims, poison tasks.

use amphigory_wire::drive::DriveStatus;

use super::handle::{CancelError, EngineCommand, EngineError, Labelled, Paused, Report};
use super::problems::ProblemSource;
use super::{Engine, StopReason, rejected_event};
use crate::core::status::{DriveLookupError, find_drive};
use crate::core::{DaemonEvent, Problem, ProblemKind};

impl Engine {
    /// Carries out a command. Every answer goes out after the status shows what the
    /// command changed, so whoever reads the status next agrees with the answer.
    pub(super) fn on_command(&mut self, cmd: EngineCommand) {
        match cmd {
            EngineCommand::Pause { now, reply } => {
                let answer = self.pause(now);
                self.publish_status();
                if let Some(reply) = reply {
                    let _ = reply.send(answer);
                }
            }
            EngineCommand::Resume { reply } => {
                let answer = self.resume();
                self.publish_status();
                if let Some(reply) = reply {
                    let _ = reply.send(answer);
                }
            }
            EngineCommand::Cancel { task_id, reply } => {
                let answer = self.cancel(task_id.as_deref()).map_err(EngineError::from);
                self.publish_status();
                let _ = reply.send(answer);
            }
            EngineCommand::Eject { drive, reply } => self.eject(drive.as_deref(), reply),
            EngineCommand::SetLabel {
                drive,
                label,
                reply,
            } => {
                let answer = self.set_label(&drive, &label);
                self.publish_status();
                let _ = reply.send(answer);
            }
            EngineCommand::Status { reply } => {
                self.refresh_pause_and_depth();
                self.publish_status();
                let _ = reply.send(Ok(self.status.get()));
            }
            EngineCommand::Report(report) => self.on_report(report),
        }
    }

    /// Writes the `PAUSED` marker (stopping running tasks when `now`) and shows it before
    /// answering, so a `status` right after agrees.
    fn pause(&mut self, now: bool) -> Result<Paused, EngineError> {
        let changed = self.ctx.queue.set_paused(true).inspect_err(|e| {
            tracing::error!("cannot write the PAUSED marker: {e}");
        })?;
        let mut requeued = Vec::new();
        if now {
            for (id, running) in self.running_tasks() {
                running.stop(StopReason::PauseNow);
                requeued.push(id.to_owned());
            }
        }
        self.refresh_pause_and_depth();
        Ok(Paused { changed, requeued })
    }

    fn resume(&mut self) -> Result<bool, EngineError> {
        let changed = self.ctx.queue.set_paused(false).inspect_err(|e| {
            tracing::error!("cannot remove the PAUSED marker: {e}");
        })?;
        self.refresh_pause_and_depth();
        Ok(changed)
    }

    fn on_report(&mut self, report: Report) {
        match report {
            Report::WebappLink(up) => self.view.webapp_link = Some(up),
            Report::KeepAwake(state) => self.view.keep_awake = Some(state),
            Report::ConfigProblems(lines) => self.problems.set(ProblemSource::Config, lines),
        }
    }

    fn cancel(&self, task_id: Option<&str>) -> Result<String, CancelError> {
        let mut running: Vec<_> = self.running_tasks().collect();
        let target = match task_id {
            Some(id) => running.iter().find(|(t, _)| *t == id).copied(),
            None if running.len() == 1 => running.pop(),
            None if running.is_empty() => return Err(CancelError::NothingRunning),
            None => return Err(CancelError::SeveralRunning),
        };
        if let Some((id, r)) = target {
            r.stop(StopReason::Cancelled);
            return Ok(id.to_owned());
        }
        let id = task_id.unwrap_or_default();
        match self.ctx.queue.cancel_queued(id) {
            Ok(true) => Ok(id.to_owned()),
            Ok(false) => Err(CancelError::Unknown(id.to_owned())),
            Err(source) => Err(CancelError::Queue {
                id: id.to_owned(),
                source,
            }),
        }
    }

    /// The drive `needle` names (id, device, or device without `/dev/`); `None` = the
    /// only drive.
    fn find_drive(&self, needle: Option<&str>) -> Result<DriveStatus, DriveLookupError> {
        let drives: Vec<DriveStatus> = self
            .registry
            .drives
            .iter()
            .map(|d| d.shown.clone())
            .collect();
        find_drive(&drives, needle).cloned()
    }

    /// Ejects the disc of the drive `needle` names, answering once it is out.
    fn eject(
        &self,
        needle: Option<&str>,
        reply: tokio::sync::oneshot::Sender<Result<DriveStatus, EngineError>>,
    ) {
        if self.draining {
            // An eject now would hold up the shutdown for as long as it takes.
            let _ = reply.send(Err(EngineError::Stopped));
            return;
        }
        let drive = match self.find_drive(needle) {
            Ok(drive) => drive,
            Err(e) => {
                let _ = reply.send(Err(e.into()));
                return;
            }
        };
        let ejector = self.ejector.clone();
        self.tracker.spawn(async move {
            let answer = ejector
                .eject(&drive.drive_id, &drive.device)
                .await
                .map(|()| drive)
                .map_err(EngineError::from);
            let _ = reply.send(answer);
        });
    }

    /// Labels a known drive, or a full drive id (`daemon:device`) of one not present now.
    fn set_label(&mut self, needle: &str, label: &str) -> Result<Labelled, EngineError> {
        let drive_id = match self.find_drive(Some(needle)) {
            Ok(drive) => drive.drive_id,
            Err(_) if needle.contains(':') => needle.to_owned(),
            Err(e) => return Err(e.into()),
        };
        let label = self.labels.set(&drive_id, label)?;
        for entry in &mut self.registry.drives {
            entry.shown.label = self.labels.get(&entry.slot.drive_id, &entry.slot.device);
        }
        Ok(Labelled { drive_id, label })
    }

    /// Reads the PAUSED marker (anyone may create it) and the queue depth, publishing
    /// changes.
    pub(super) fn refresh_pause_and_depth(&mut self) {
        let paused = self.ctx.queue.is_paused();
        if paused != self.paused {
            self.paused = paused;
            let event = if paused {
                DaemonEvent::Paused
            } else {
                DaemonEvent::Resumed
            };
            tracing::info!("queue {}", if paused { "paused" } else { "resumed" });
            self.emit(event);
        }
        let depth = self.ctx.queue.queue_depth();
        if depth != self.depth {
            self.depth = depth;
            self.emit(DaemonEvent::QueueChanged { depth });
        }
    }

    /// Takes back claims of daemons that stopped renewing their lease (SPEC §4).
    pub(super) fn recover_expired(&self) {
        match self.ctx.queue.recover_expired() {
            Ok(report) => {
                report.log();
                report
                    .failed
                    .iter()
                    .for_each(|f| self.emit(rejected_event(f)));
            }
            Err(e) => tracing::warn!("checking for expired claims failed: {e}"),
        }
    }

    /// Shows what is wrong with the queue directory itself (missing folders that cannot
    /// be made, an oversized `tasks.json`, a pass that failed with `error`) as status
    /// problems, as of the last pass; a new error is logged once.
    pub(super) fn show_queue_problems(&mut self, error: Option<String>) {
        if error != self.scan_error {
            match &error {
                Some(e) => tracing::warn!("cannot work the queue: {e}"),
                None => tracing::info!("the queue works again"),
            }
            self.scan_error = error;
        }
        let mut now = self.ctx.queue.problems().list();
        if let Some(e) = &self.scan_error {
            if !now.iter().any(|p| p.contains(e.as_str())) {
                now.push(format!("cannot work the queue: {e}"));
            }
        }
        let now = now
            .into_iter()
            .map(|line| Problem::new(ProblemKind::Queue, line))
            .collect();
        self.problems.set(ProblemSource::Queue, now);
    }

    pub(super) fn report_poison(&self) {
        for rejected in self.ctx.queue.take_rejected() {
            tracing::warn!(task = %rejected.task_id, "invalid task: {}", rejected.message);
            self.emit(rejected_event(&rejected));
        }
    }
}
