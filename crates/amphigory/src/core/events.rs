//! One event enum on one bounded broadcast channel (atuin's model). Receivers that lag
//! get `RecvError::Lagged` and must resynchronise from the status snapshot; the bus also
//! keeps the last [`REPLAY_LEN`] events for late subscribers (control socket `replay`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use amphigory_wire::TaskError;
use amphigory_wire::task::TaskType;
use amphigory_wire::ws::{DiscEventKind, NeededDisc, Progress};
use tokio::sync::broadcast;

/// Capacity of the broadcast channel; a receiver further behind than this lags.
pub const BUS_CAPACITY: usize = 1024;
/// How many recent events the bus keeps for replay.
pub const REPLAY_LEN: usize = 100;

/// What the engine knew about a finished task besides its outcome: the facts a hook's
/// environment and a notification need. Every field is optional (a task the queue failed
/// without running it has none of them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FinishedFacts {
    /// The drive that ran it.
    pub drive_id: Option<String>,
    /// The file a successful rip wrote.
    pub output_path: Option<String>,
    /// Its size, bytes.
    pub size_bytes: Option<u64>,
    /// Its name without `.mkv` (what the user called the rip).
    pub name: Option<String>,
    /// How long the task took, when known.
    pub seconds: Option<u64>,
    /// The title (track number) a rip read.
    pub title: Option<u32>,
    /// The disc's fingerprint, when known.
    pub disc_fingerprint: Option<String>,
    /// The disc's volume name, when known.
    pub volume: Option<String>,
}

/// Everything that happens in the daemon that someone outside may want to know.
#[derive(Debug, Clone, PartialEq)]
pub enum DaemonEvent {
    /// A task was claimed and started on a drive.
    TaskStarted {
        /// Task id.
        task_id: String,
        /// Its type.
        task_type: TaskType,
        /// The drive running it.
        drive_id: String,
    },
    /// Progress of a running task.
    TaskProgress {
        /// Task id.
        task_id: String,
        /// Percent 0–100.
        percent: u8,
        /// Seconds left, once known.
        eta_seconds: Option<u64>,
        /// Bytes written so far, once known.
        current_size_bytes: Option<u64>,
        /// E.g. `"42.3 MB/s"`.
        speed: Option<String>,
    },
    /// A task finished and its result file was written.
    TaskFinished {
        /// Task id.
        task_id: String,
        /// Its type.
        task_type: TaskType,
        /// The error, when it failed.
        error: Option<TaskError>,
        /// What else is known about the run (hooks pass it on, notifications say what a
        /// rip wrote); additive, all optional.
        facts: FinishedFacts,
    },
    /// A running task went back to `queued/` (pause now, shutdown).
    TaskRequeued {
        /// Task id.
        task_id: String,
        /// Why.
        reason: String,
    },
    /// A running task's claim turned out not to be this daemon's any more (SPEC §4
    /// "Claim lost"): the run was stopped and nothing written; its new owner (or
    /// nobody, if its file is gone) decides what happens to it.
    ClaimLost {
        /// Task id.
        task_id: String,
        /// What was found instead of our claim.
        reason: String,
    },
    /// The number of waiting daemon-owned tasks changed.
    QueueChanged {
        /// Waiting daemon-owned tasks.
        depth: usize,
    },
    /// The queue was paused (by anyone: CLI, menu, webapp, a file).
    Paused,
    /// The queue was resumed.
    Resumed,
    /// A disc event on a drive.
    Disc {
        /// What happened.
        event: DiscEventKind,
        /// Drive id.
        drive_id: String,
        /// Device path.
        device: String,
        /// Volume name, when known.
        volume_name: Option<String>,
        /// Fingerprint, when known.
        fingerprint: Option<String>,
    },
    /// The tasks waiting for a disc that is in no drive changed in number (SPEC §11.1);
    /// `waiting: 0` once none waits any more (published once per change, not per task).
    DiscNeeded {
        /// The disc and how many wait for it.
        disc: NeededDisc,
    },
    /// Something a person should see.
    Error {
        /// What went wrong.
        reason: String,
    },
}

impl DaemonEvent {
    /// The task this event is about, if any (subscription filters use it).
    pub fn task_id(&self) -> Option<&str> {
        match self {
            Self::TaskStarted { task_id, .. }
            | Self::TaskProgress { task_id, .. }
            | Self::TaskFinished { task_id, .. }
            | Self::TaskRequeued { task_id, .. }
            | Self::ClaimLost { task_id, .. } => Some(task_id),
            _ => None,
        }
    }

    /// The progress message of a [`DaemonEvent::TaskProgress`] (the same on the server
    /// and on the webapp link).
    pub fn progress(&self) -> Option<Progress> {
        match self {
            Self::TaskProgress {
                task_id,
                percent,
                eta_seconds,
                current_size_bytes,
                speed,
            } => Some(Progress {
                task_id: task_id.clone(),
                percent: *percent,
                eta_seconds: *eta_seconds,
                current_size_bytes: *current_size_bytes,
                speed: speed.clone(),
            }),
            _ => None,
        }
    }
}

/// A cheap, cloneable handle to the bus.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<DaemonEvent>,
    // A std mutex: held only to push/copy a bounded deque, never across an await.
    recent: Arc<Mutex<VecDeque<DaemonEvent>>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A new bus with no subscribers.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(BUS_CAPACITY);
        Self {
            tx,
            recent: Arc::new(Mutex::new(VecDeque::with_capacity(REPLAY_LEN))),
        }
    }

    /// Publishes an event; never blocks, never fails (no subscribers is fine).
    pub fn publish(&self, event: DaemonEvent) {
        // Sent under the lock the replay is taken under: a subscriber gets each event
        // either in its replay or live, never both, and in the order of the replay.
        // (`send` never blocks: a slow receiver lags instead.)
        match self.recent.lock() {
            Ok(mut recent) => {
                if recent.len() == REPLAY_LEN {
                    recent.pop_front();
                }
                recent.push_back(event.clone());
                let _ = self.tx.send(event);
            }
            Err(_) => {
                let _ = self.tx.send(event);
            }
        }
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DaemonEvent> {
        self.tx.subscribe()
    }

    /// Subscribes and returns the recent events atomically, so none is missed or doubled.
    pub fn subscribe_with_replay(&self) -> (Vec<DaemonEvent>, broadcast::Receiver<DaemonEvent>) {
        match self.recent.lock() {
            Ok(recent) => (recent.iter().cloned().collect(), self.tx.subscribe()),
            Err(_) => (Vec::new(), self.tx.subscribe()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replay_keeps_the_last_hundred_and_live_events_follow() {
        let bus = EventBus::new();
        for depth in 0..150 {
            bus.publish(DaemonEvent::QueueChanged { depth });
        }
        let (recent, mut rx) = bus.subscribe_with_replay();
        assert_eq!(recent.len(), REPLAY_LEN);
        assert_eq!(
            recent.first(),
            Some(&DaemonEvent::QueueChanged { depth: 50 })
        );
        bus.publish(DaemonEvent::Paused);
        assert_eq!(rx.recv().await.unwrap(), DaemonEvent::Paused);
    }

    /// Subscribers taken while four threads publish: each one's replay followed by what
    /// it receives live is exactly the tail of what was sent, nothing doubled or missing.
    #[test]
    fn replay_and_live_never_double_or_drop_under_concurrent_publishing() {
        for _round in 0..20 {
            let bus = EventBus::new();
            let mut reference = bus.subscribe();
            let subscriptions = std::thread::scope(|scope| {
                for thread in 0..4 {
                    let bus = &bus;
                    scope.spawn(move || {
                        for i in 0..200 {
                            bus.publish(DaemonEvent::QueueChanged {
                                depth: thread * 1000 + i,
                            });
                        }
                    });
                }
                (0..200)
                    .map(|_| bus.subscribe_with_replay())
                    .collect::<Vec<_>>()
            });
            let mut sent = Vec::new();
            while let Ok(e) = reference.try_recv() {
                sent.push(e);
            }
            assert_eq!(sent.len(), 800);
            for (replay, mut rx) in subscriptions {
                let mut seen = replay;
                while let Ok(e) = rx.try_recv() {
                    seen.push(e);
                }
                let tail = &sent[sent.len() - seen.len()..];
                let first_difference = seen.iter().zip(tail).position(|(a, b)| a != b);
                assert_eq!(
                    first_difference,
                    None,
                    "replay + live ({} events) is not the tail of what was sent",
                    seen.len()
                );
            }
        }
    }
}
