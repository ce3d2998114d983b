//! The keep-awake task against a fake inhibitor: held while the snapshot shows a running
//! task, released when none runs and on shutdown, a refusal tried once per busy period.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amphigory_wire::task::TaskType;

use super::*;
use crate::core::{StatusHandle, StatusSnapshot};

/// In these tests a status handle stands in for the engine.
impl AwakeLink for StatusHandle {
    fn watch(&self) -> watch::Receiver<StatusSnapshot> {
        StatusHandle::watch(self)
    }

    async fn show(&self, state: KeepAwakeStatus) {
        self.update(|s| s.keep_awake = Some(state));
    }
}
use crate::core::status::RunningTask;

#[derive(Debug, Default)]
struct Calls {
    holds: Vec<String>,
    releases_while_held: usize,
    held: bool,
}

struct Fake {
    calls: Arc<Mutex<Calls>>,
    refuse: bool,
}

impl Inhibitor for Fake {
    fn backend(&self) -> &'static str {
        "fake"
    }

    async fn hold(&mut self, reason: &str) -> Result<(), AwakeError> {
        let mut calls = self.calls.lock().unwrap();
        calls.holds.push(reason.to_owned());
        if self.refuse {
            return Err(AwakeError::NoBus("none here".into()));
        }
        calls.held = true;
        Ok(())
    }

    fn release(&mut self) {
        let mut calls = self.calls.lock().unwrap();
        if calls.held {
            calls.releases_while_held += 1;
            calls.held = false;
        }
    }
}

fn task(id: &str) -> RunningTask {
    RunningTask {
        task_id: id.into(),
        task_type: TaskType::Rip,
        drive_id: "d".into(),
        percent: 0,
        eta_seconds: None,
        current_size_bytes: None,
        speed: None,
    }
}

async fn wait_held(status: &StatusHandle, held: bool) -> KeepAwakeStatus {
    let mut rx = status.watch();
    let wanted = |s: &StatusSnapshot| s.keep_awake.as_ref().is_some_and(|k| k.held == held);
    tokio::time::timeout(Duration::from_secs(5), rx.wait_for(wanted))
        .await
        .expect("keep_awake reaches the state")
        .unwrap()
        .keep_awake
        .clone()
        .unwrap()
}

fn start(
    refuse: bool,
) -> (
    StatusHandle,
    Arc<Mutex<Calls>>,
    CancellationToken,
    TaskTracker,
) {
    let status = StatusHandle::new(StatusSnapshot::default());
    let calls = Arc::new(Mutex::new(Calls::default()));
    let fake = Fake {
        calls: calls.clone(),
        refuse,
    };
    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    tasks.spawn(run(fake, status.clone(), shutdown.clone()));
    (status, calls, shutdown, tasks)
}

#[tokio::test]
async fn held_while_tasks_run_released_when_idle_and_on_shutdown() {
    let (status, calls, shutdown, tasks) = start(false);
    wait_held(&status, false).await;
    status.update(|s| s.running = vec![task("a"), task("b")]);
    let shown = wait_held(&status, true).await;
    assert_eq!(shown.backend, "fake");
    assert!(shown.enabled);
    status.update(|s| s.running.retain(|t| t.task_id != "a"));
    status.update(|s| s.running.clear());
    wait_held(&status, false).await;
    assert_eq!(calls.lock().unwrap().releases_while_held, 1);
    assert_eq!(calls.lock().unwrap().holds, ["Ripping 2 task(s)"]);

    status.update(|s| s.running = vec![task("c")]);
    wait_held(&status, true).await;
    shutdown.cancel();
    tasks.close();
    tokio::time::timeout(Duration::from_secs(5), tasks.wait())
        .await
        .unwrap();
    let calls = calls.lock().unwrap();
    assert_eq!(calls.releases_while_held, 2);
    assert!(!calls.held);
}

#[tokio::test]
async fn a_refusal_is_shown_and_tried_once_per_busy_period() {
    let (status, calls, shutdown, _tasks) = start(true);
    status.update(|s| s.running = vec![task("a")]);
    let mut rx = status.watch();
    let refused = |s: &StatusSnapshot| s.keep_awake.as_ref().is_some_and(|k| k.problem.is_some());
    let shown = tokio::time::timeout(Duration::from_secs(5), rx.wait_for(refused))
        .await
        .unwrap()
        .unwrap()
        .keep_awake
        .clone()
        .unwrap();
    assert!(!shown.held);
    assert!(shown.problem.unwrap().contains("none here"));
    // More tasks in the same busy period: no new attempt.
    status.update(|s| s.running.push(task("b")));
    status.update(|s| s.running.clear());
    let cleared = |s: &StatusSnapshot| s.keep_awake.as_ref().is_some_and(|k| k.problem.is_none());
    tokio::time::timeout(Duration::from_secs(5), rx.wait_for(cleared))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(calls.lock().unwrap().holds.len(), 1);
    shutdown.cancel();
}
