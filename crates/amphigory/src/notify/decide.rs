//! What to tell the user, and when (SPEC §11.1). Pure: events in, notifications out,
//! with the time passed in so the "disc needed once per disc, again after an hour" rule
//! can be tested without waiting.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use amphigory_wire::task::TaskType;

use crate::core::events::DaemonEvent;

/// How long before the same disc is asked for again.
pub const DISC_NEEDED_REPEAT: Duration = Duration::from_secs(60 * 60);

/// `notifications:` in daemon.yaml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    /// Every notification.
    #[default]
    All,
    /// Only failures.
    Errors,
    /// None.
    Off,
}

/// What kind of thing a notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A rip finished.
    Finished,
    /// A task failed.
    Failed,
    /// Tasks wait for a disc that is in no drive.
    DiscNeeded,
    /// The queue emptied after work.
    AllDone,
}

/// One notification for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// What it reports.
    pub kind: Kind,
    /// Short title.
    pub summary: String,
    /// One sentence.
    pub body: String,
}

/// Decides what to say; keeps the little state the rules need.
#[derive(Debug, Default)]
pub struct Decider {
    level: Level,
    running: usize,
    worked: bool,
    asked: HashMap<String, Instant>,
}

impl Decider {
    /// A decider at `level`.
    pub fn new(level: Level) -> Self {
        Self {
            level,
            ..Self::default()
        }
    }

    /// The notification `event` calls for, if any.
    pub fn on_event(&mut self, event: &DaemonEvent) -> Option<Notification> {
        let note = match event {
            DaemonEvent::TaskStarted { .. } => {
                self.running = self.running.saturating_add(1);
                None
            }
            DaemonEvent::TaskRequeued { .. } | DaemonEvent::ClaimLost { .. } => {
                self.running = self.running.saturating_sub(1);
                None
            }
            DaemonEvent::TaskFinished {
                task_id,
                task_type,
                error,
            } => {
                self.running = self.running.saturating_sub(1);
                self.worked = true;
                match error {
                    Some(e) => Some(note(Kind::Failed, "Task failed", &e.message)),
                    None if *task_type == TaskType::Rip => Some(note(
                        Kind::Finished,
                        "Rip finished",
                        &format!("Task {task_id} finished."),
                    )),
                    None => None,
                }
            }
            DaemonEvent::QueueChanged { depth: 0 } if self.running == 0 && self.worked => {
                self.worked = false;
                Some(note(Kind::AllDone, "All done", "The queue is empty."))
            }
            _ => None,
        };
        note.filter(|n| self.allows(n.kind))
    }

    /// "Disc needed" for the disc `key` (fingerprint or volume) that `waiting` tasks
    /// wait for: once per disc, then again only after [`DISC_NEEDED_REPEAT`].
    pub fn disc_needed(&mut self, key: &str, waiting: usize, now: Instant) -> Option<Notification> {
        if !self.allows(Kind::DiscNeeded) {
            return None;
        }
        if let Some(last) = self.asked.get(key)
            && now.saturating_duration_since(*last) < DISC_NEEDED_REPEAT
        {
            return None;
        }
        self.asked.insert(key.to_owned(), now);
        let body = format!("Insert disc {key}: {waiting} task(s) wait for it.");
        Some(note(Kind::DiscNeeded, "Disc needed", &body))
    }

    fn allows(&self, kind: Kind) -> bool {
        match self.level {
            Level::All => true,
            Level::Errors => kind == Kind::Failed,
            Level::Off => false,
        }
    }
}

fn note(kind: Kind, summary: &str, body: &str) -> Notification {
    Notification {
        kind,
        summary: summary.to_owned(),
        body: body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use amphigory_wire::{ErrorCode, TaskError};

    use super::*;

    fn finished(error: Option<TaskError>) -> DaemonEvent {
        DaemonEvent::TaskFinished {
            task_id: "t1".into(),
            task_type: TaskType::Rip,
            error,
        }
    }

    #[test]
    fn disc_needed_once_per_disc_then_after_an_hour() {
        let mut d = Decider::new(Level::All);
        let t0 = Instant::now();
        assert!(d.disc_needed("VOL", 3, t0).is_some());
        assert!(
            d.disc_needed("VOL", 3, t0 + Duration::from_secs(59 * 60))
                .is_none()
        );
        assert!(d.disc_needed("OTHER", 1, t0).is_some());
        assert!(d.disc_needed("VOL", 3, t0 + DISC_NEEDED_REPEAT).is_some());
    }

    #[test]
    fn finished_failed_and_all_done() {
        let mut d = Decider::new(Level::All);
        let start = DaemonEvent::TaskStarted {
            task_id: "t1".into(),
            task_type: TaskType::Rip,
            drive_id: "d".into(),
        };
        assert!(d.on_event(&start).is_none());
        assert!(
            d.on_event(&DaemonEvent::QueueChanged { depth: 0 })
                .is_none()
        );
        assert_eq!(
            d.on_event(&finished(None)).map(|n| n.kind),
            Some(Kind::Finished)
        );
        assert_eq!(
            d.on_event(&DaemonEvent::QueueChanged { depth: 0 })
                .map(|n| n.kind),
            Some(Kind::AllDone)
        );
        assert!(
            d.on_event(&DaemonEvent::QueueChanged { depth: 0 })
                .is_none()
        );
        let err = TaskError::new(ErrorCode::DiscEjected, "Disc was ejected during rip", None);
        let failed = d.on_event(&finished(Some(err)));
        assert_eq!(
            failed.map(|n| n.body),
            Some("Disc was ejected during rip".to_owned())
        );
    }

    #[test]
    fn levels_filter() {
        let mut errors = Decider::new(Level::Errors);
        assert!(errors.on_event(&finished(None)).is_none());
        assert!(errors.disc_needed("VOL", 1, Instant::now()).is_none());
        let err = TaskError::new(ErrorCode::DiscEjected, "boom", None);
        assert!(errors.on_event(&finished(Some(err.clone()))).is_some());
        let mut off = Decider::new(Level::Off);
        assert!(off.on_event(&finished(Some(err))).is_none());
    }
}
