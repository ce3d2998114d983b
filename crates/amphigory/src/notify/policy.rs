//! What to tell the user, and when (SPEC §11.1). Pure: events in, notifications out,
//! with the time passed in so the "disc needed" rule (after a short settle, once per
//! disc, again after an hour: see `needed`) can be tested without waiting. "Disc
//! needed" is therefore not an answer to an event but comes from [`Decider::due`] at
//! [`Decider::next_due`].

use std::time::Instant;

use amphigory_wire::TaskError;
use amphigory_wire::task::TaskType;
use amphigory_wire::ws::NeededDisc;

use crate::core::events::{DaemonEvent, FinishedFacts};
use crate::units::human_bytes;

pub use crate::config::NotificationLevel as Level;

use super::needed::DiscAsker;
pub use super::needed::{DISC_NEEDED_REPEAT, DISC_NEEDED_SETTLE};

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
#[derive(Debug)]
pub struct Decider {
    level: Level,
    /// Queue tasks running now.
    running: usize,
    /// Waiting daemon-owned tasks, as last published (unknown at first).
    depth: Option<usize>,
    /// Tasks finished since the queue was last empty and idle.
    finished: usize,
    /// The "disc needed" rule.
    discs: DiscAsker,
}

impl Decider {
    /// A decider at `level`.
    pub fn new(level: Level) -> Self {
        Self {
            level,
            running: 0,
            depth: None,
            finished: 0,
            discs: DiscAsker::default(),
        }
    }

    /// The notifications `event` calls for (at most two: a finished task, then "all
    /// done"); `now` times the "disc needed" rule.
    pub fn on_event(&mut self, event: &DaemonEvent, now: Instant) -> Vec<Notification> {
        let mut notes = Vec::new();
        match event {
            DaemonEvent::TaskStarted { .. } => self.running = self.running.saturating_add(1),
            DaemonEvent::TaskRequeued { .. } | DaemonEvent::ClaimLost { .. } => {
                self.running = self.running.saturating_sub(1);
            }
            DaemonEvent::TaskFinished {
                task_type,
                error,
                facts,
                ..
            } => {
                self.running = self.running.saturating_sub(1);
                self.finished = self.finished.saturating_add(1);
                notes.extend(finished(task_type, error.as_ref(), facts));
                notes.extend(self.all_done());
            }
            DaemonEvent::QueueChanged { depth } => self.depth = Some(*depth),
            DaemonEvent::DiscNeeded { disc } if self.allows(Kind::DiscNeeded) => {
                self.discs.changed(disc, now);
            }
            _ => {}
        }
        notes.retain(|n| self.allows(n.kind));
        notes
    }

    /// "All done" when the last task just finished, nothing waits, and more than one
    /// task ran (a single one has just said "finished" itself). Only a finished task
    /// ends a run of work: the depth drops to 0 as the last task is claimed, before it
    /// is even announced as started (the engine publishes the depth right after each
    /// claim, so it is known here before that task can finish).
    fn all_done(&mut self) -> Option<Notification> {
        if self.running > 0 || self.depth != Some(0) {
            return None;
        }
        let worked = std::mem::take(&mut self.finished);
        (worked > 1).then(|| {
            note(
                Kind::AllDone,
                "All done",
                &format!("The queue is empty: {worked} tasks finished."),
            )
        })
    }

    /// The "disc needed" notifications due at `now` (the `needed` rule).
    pub fn due(&mut self, now: Instant) -> Vec<Notification> {
        let asked = self.discs.due(now);
        let say = |disc: NeededDisc| note(Kind::DiscNeeded, "Disc needed", &disc.sentence());
        asked.into_iter().map(say).collect()
    }

    /// When [`Decider::due`] next has something to say.
    pub fn next_due(&self) -> Option<Instant> {
        self.discs.next_due()
    }

    fn allows(&self, kind: Kind) -> bool {
        match self.level {
            Level::All => true,
            Level::Errors => kind == Kind::Failed,
            Level::Off => false,
        }
    }
}

/// "Rip finished" with what was written, or "… failed" with the human message.
fn finished(
    task_type: &TaskType,
    error: Option<&TaskError>,
    facts: &FinishedFacts,
) -> Option<Notification> {
    let what = match task_type {
        TaskType::Scan => "Scan",
        TaskType::Rip => "Rip",
        _ => "Task",
    };
    if let Some(e) = error {
        return Some(note(Kind::Failed, &format!("{what} failed"), &e.message));
    }
    // Only a successful rip names what it wrote.
    let (Some(name), Some(size)) = (facts.name.as_deref(), facts.size_bytes) else {
        return None;
    };
    let mut body = format!("{name} — {}", human_bytes(size));
    if let Some(seconds) = facts.seconds {
        body.push_str(&format!(" in {}", time_text(seconds)));
    }
    Some(note(Kind::Finished, "Rip finished", &body))
}

/// `45 s`, `12 min`, `1 h 05 min`.
fn time_text(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s => format!("{} h {:02} min", s / 3600, (s / 60) % 60),
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
    use amphigory_wire::ErrorCode;

    use super::*;

    fn finished_rip(error: Option<TaskError>, ripped: Option<FinishedFacts>) -> DaemonEvent {
        DaemonEvent::TaskFinished {
            task_id: "t1".into(),
            task_type: TaskType::Rip,
            error,
            facts: ripped.unwrap_or_default(),
        }
    }

    fn needed(fingerprint: &str, waiting: usize) -> DaemonEvent {
        DaemonEvent::DiscNeeded {
            disc: NeededDisc {
                fingerprint: fingerprint.into(),
                volume_name: None,
                waiting,
                rips: waiting,
            },
        }
    }

    #[test]
    fn disc_needed_is_said_once_it_settles() {
        let mut d = Decider::new(Level::All);
        let t0 = Instant::now();
        assert!(d.on_event(&needed("VOL", 1), t0).is_empty());
        assert!(d.on_event(&needed("VOL", 3), t0).is_empty());
        assert_eq!(d.next_due(), Some(t0 + DISC_NEEDED_SETTLE));
        let said = d.due(t0 + DISC_NEEDED_SETTLE);
        assert_eq!(kinds(&said), [Kind::DiscNeeded]);
        assert_eq!(said[0].summary, "Disc needed");
        assert_eq!(said[0].body, "Insert VOL — 3 rips wait for it");
        assert!(d.due(t0 + DISC_NEEDED_SETTLE).is_empty());
    }

    fn started() -> DaemonEvent {
        DaemonEvent::TaskStarted {
            task_id: "t1".into(),
            task_type: TaskType::Rip,
            drive_id: "d".into(),
        }
    }

    fn kinds(notes: &[Notification]) -> Vec<Kind> {
        notes.iter().map(|n| n.kind).collect()
    }

    #[test]
    fn finished_and_failed_say_what_happened() {
        let now = Instant::now();
        let mut d = Decider::new(Level::All);
        let ripped = FinishedFacts {
            name: Some("The Matrix".into()),
            size_bytes: Some(4_200_000_000),
            seconds: Some(725),
            ..FinishedFacts::default()
        };
        let done = d.on_event(&finished_rip(None, Some(ripped)), now);
        assert_eq!(
            (
                done[0].kind,
                done[0].summary.as_str(),
                done[0].body.as_str()
            ),
            (
                Kind::Finished,
                "Rip finished",
                "The Matrix — 4.2 GB in 12 min"
            )
        );
        let err = TaskError::new(ErrorCode::DiscEjected, "Disc was ejected during rip", None);
        let failed = d.on_event(&finished_rip(Some(err), None), now);
        assert_eq!(failed[0].summary, "Rip failed");
        assert_eq!(failed[0].body, "Disc was ejected during rip");
    }

    #[test]
    fn all_done_after_more_than_one_task_once_nothing_waits() {
        let now = Instant::now();
        let mut d = Decider::new(Level::All);
        let ok = || finished_rip(None, None);
        // Two queued; the depth reaches 0 as the second is claimed, before it starts.
        d.on_event(&DaemonEvent::QueueChanged { depth: 2 }, now);
        d.on_event(&started(), now);
        d.on_event(&DaemonEvent::QueueChanged { depth: 1 }, now);
        assert!(d.on_event(&ok(), now).is_empty(), "one still waits");
        d.on_event(&DaemonEvent::QueueChanged { depth: 0 }, now);
        d.on_event(&started(), now);
        let last = d.on_event(&ok(), now);
        assert_eq!(kinds(&last), [Kind::AllDone]);
        assert_eq!(last[0].body, "The queue is empty: 2 tasks finished.");
        // A single task later: its own "finished" says it all.
        d.on_event(&started(), now);
        let err = TaskError::new(ErrorCode::DiscEjected, "gone", None);
        assert_eq!(
            kinds(&d.on_event(&finished_rip(Some(err), None), now)),
            [Kind::Failed]
        );
    }

    #[test]
    fn a_scan_that_worked_is_not_news() {
        let mut d = Decider::new(Level::All);
        let scan = DaemonEvent::TaskFinished {
            task_id: "s".into(),
            task_type: TaskType::Scan,
            error: None,
            facts: Default::default(),
        };
        assert!(d.on_event(&scan, Instant::now()).is_empty());
    }

    #[test]
    fn sizes_and_times_read_well() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
        assert_eq!(human_bytes(25_000_000_000), "25.0 GB");
        assert_eq!(time_text(45), "45 s");
        assert_eq!(time_text(3900), "1 h 05 min");
    }

    #[test]
    fn levels_parse_from_the_flag() {
        assert_eq!("errors".parse::<Level>(), Ok(Level::Errors));
        assert!(
            "loud"
                .parse::<Level>()
                .unwrap_err()
                .to_string()
                .contains("all, errors or off")
        );
    }

    #[test]
    fn levels_filter() {
        let now = Instant::now();
        let mut errors = Decider::new(Level::Errors);
        let ok = FinishedFacts {
            name: Some("x".into()),
            size_bytes: Some(1),
            ..FinishedFacts::default()
        };
        let ripped = finished_rip(None, Some(ok));
        assert!(errors.on_event(&ripped, now).is_empty());
        errors.on_event(&needed("VOL", 1), now);
        assert_eq!(errors.next_due(), None, "errors only: no disc needed");
        let err = TaskError::new(ErrorCode::DiscEjected, "boom", None);
        let failed = finished_rip(Some(err), None);
        assert_eq!(errors.on_event(&failed, now).len(), 1);
        let mut off = Decider::new(Level::Off);
        assert!(off.on_event(&failed, now).is_empty());
    }
}
