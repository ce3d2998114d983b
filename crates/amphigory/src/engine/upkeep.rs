//! The engine's answers to commands (pause, resume, cancel) and its upkeep of the queue:
//! the PAUSED marker and queue depth as everyone sees them, expired claims, poison tasks.

use super::{Engine, EngineCommand, StopReason, rejected_event};
use crate::core::DaemonEvent;

impl Engine {
    pub(super) fn on_command(&mut self, cmd: EngineCommand) {
        match cmd {
            EngineCommand::Pause { now } => {
                if let Err(e) = self.ctx.queue.set_paused(true) {
                    tracing::error!("cannot write the PAUSED marker: {e}");
                }
                if now {
                    self.running_tasks()
                        .for_each(|(_, r)| r.stop(StopReason::PauseNow));
                }
            }
            EngineCommand::Resume => {
                if let Err(e) = self.ctx.queue.set_paused(false) {
                    tracing::error!("cannot remove the PAUSED marker: {e}");
                }
            }
            EngineCommand::Cancel { task_id, reply } => {
                let _ = reply.send(self.cancel(task_id.as_deref()));
            }
        }
    }

    fn cancel(&self, task_id: Option<&str>) -> Result<String, String> {
        let mut running: Vec<_> = self.running_tasks().collect();
        let target = match task_id {
            Some(id) => running.iter().find(|(t, _)| *t == id).copied(),
            None if running.len() == 1 => running.pop(),
            None if running.is_empty() => return Err("no task is running".into()),
            None => return Err("several tasks are running: name one".into()),
        };
        if let Some((id, r)) = target {
            r.stop(StopReason::Cancelled);
            return Ok(id.to_owned());
        }
        let id = task_id.unwrap_or_default();
        match self.ctx.queue.cancel_queued(id) {
            Ok(true) => Ok(id.to_owned()),
            Ok(false) => Err(format!("no queued or running task '{id}'")),
            Err(e) => Err(format!("cannot cancel '{id}': {e}")),
        }
    }

    /// Reads the PAUSED marker (anyone may create it) and the queue depth, publishing
    /// changes.
    pub(super) fn refresh_pause_and_depth(&mut self) {
        let paused = self.ctx.queue.is_paused();
        if paused != self.paused {
            self.paused = paused;
            self.ctx.status.update(|s| s.paused = paused);
            let event = if paused {
                DaemonEvent::Paused
            } else {
                DaemonEvent::Resumed
            };
            tracing::info!("queue {}", if paused { "paused" } else { "resumed" });
            self.ctx.bus.publish(event);
        }
        let depth = self.ctx.queue.queue_depth();
        if depth != self.depth {
            self.depth = depth;
            self.ctx.status.update(|s| s.queue_depth = depth);
            self.ctx.bus.publish(DaemonEvent::QueueChanged { depth });
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
                    .for_each(|f| self.ctx.bus.publish(rejected_event(f)));
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
        self.queue_problems.show(&self.ctx.status, now);
    }

    pub(super) fn report_poison(&self) {
        for rejected in self.ctx.queue.take_rejected() {
            tracing::warn!(task = %rejected.task_id, "invalid task: {}", rejected.message);
            self.ctx.bus.publish(rejected_event(&rejected));
        }
    }
}
