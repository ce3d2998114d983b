//! The notification tasks with a recording backend: what the decider says reaches the
//! backend, and a backend that never answers holds nothing up.

use std::time::Duration;

use amphigory_wire::task::TaskType;
use tokio::sync::mpsc;

use super::*;
use crate::core::DaemonEvent;
use crate::core::events::FinishedFacts;

/// Sends every notification it is given to a channel; `stuck` never answers.
struct Recorder {
    tx: mpsc::UnboundedSender<Notification>,
    stuck: bool,
}

impl Notifier for Recorder {
    async fn notify(&mut self, note: &Notification) -> Result<(), NotifyError> {
        let _ = self.tx.send(note.clone());
        if self.stuck {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

fn ripped(title: &str) -> DaemonEvent {
    DaemonEvent::TaskFinished {
        task_id: title.into(),
        task_type: TaskType::Rip,
        error: None,
        facts: FinishedFacts {
            name: Some(title.into()),
            size_bytes: Some(1_000_000_000),
            seconds: Some(60),
            ..FinishedFacts::default()
        },
    }
}

#[tokio::test]
async fn events_become_notifications_at_the_backend() {
    let (bus, tasks, stop) = (
        EventBus::new(),
        TaskTracker::new(),
        CancellationToken::new(),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let backend = Recorder { tx, stuck: false };
    spawn_with(backend, Level::All, &bus, &tasks, &stop);
    bus.publish(ripped("Heat"));
    let note = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(note.body, "Heat — 1.0 GB in 1 min");
    stop.cancel();
    tasks.close();
    tokio::time::timeout(Duration::from_secs(5), tasks.wait())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_stuck_backend_drops_notifications_instead_of_piling_them_up() {
    let (bus, tasks, stop) = (
        EventBus::new(),
        TaskTracker::new(),
        CancellationToken::new(),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    spawn_with(
        Recorder { tx, stuck: true },
        Level::All,
        &bus,
        &tasks,
        &stop,
    );
    for i in 0..100 {
        bus.publish(ripped(&format!("t{i}")));
    }
    // The first reaches the (stuck) backend; the channel keeps at most QUEUE more.
    let first = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
    assert_eq!(first.unwrap().unwrap().body, "t0 — 1.0 GB in 1 min");
    // Shutdown still ends both tasks at once, stuck backend or not.
    stop.cancel();
    tasks.close();
    tokio::time::timeout(Duration::from_secs(5), tasks.wait())
        .await
        .unwrap();
    assert!(rx.try_recv().is_err(), "nothing else reached the backend");
}
