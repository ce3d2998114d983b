#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Several daemons on one queue (claim races, leases), crashes and restarts (recovery,
//! attempts), webapp tasks through all of it, and wake-ups from file-system notifications.

mod support;

use std::collections::HashSet;
use std::fs::{self};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use amphigory::queue::{MAX_ATTEMPTS, NewTask, Queue, QueueError, QueueWatcher, TaskState};
use amphigory_wire::ErrorCode;
use amphigory_wire::result::{ResultStatus, TaskResult};
use serde_json::{Value, json};
use support::queue::{drain, set_age, success, take};
use tempfile::TempDir;
use tokio::sync::Notify;
use tokio::time::timeout;

/// One queue directory; daemon "a" is `queue`, others come from [`Fixture::daemon`].
struct Fixture {
    tmp: TempDir,
    queue: Queue,
}

impl Fixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let queue = daemon(tmp.path(), "a");
        Self { tmp, queue }
    }

    /// Another daemon on the same queue, with its own state directory.
    fn daemon(&self, name: &str) -> Queue {
        daemon(self.tmp.path(), name)
    }

    /// Daemon "a" again, as after a restart (same state directory).
    fn restart(&self) -> Queue {
        daemon(self.tmp.path(), "a")
    }

    fn path(&self, state: TaskState, id: &str) -> PathBuf {
        self.queue.layout().file(state, id)
    }

    fn put(&self, task: &Value) {
        let path = self.path(TaskState::Queued, task["id"].as_str().unwrap());
        fs::write(path, serde_json::to_vec(task).unwrap()).unwrap();
    }

    fn order(&self, ids: &[&str]) {
        let path = self.queue.layout().tasks_json();
        fs::write(path, serde_json::to_vec(ids).unwrap()).unwrap();
    }

    fn read(&self, state: TaskState, id: &str) -> Value {
        serde_json::from_slice(&fs::read(self.path(state, id)).unwrap()).unwrap()
    }

    fn has(&self, state: TaskState, id: &str) -> bool {
        self.path(state, id).exists()
    }

    fn names(&self, state: TaskState) -> Vec<String> {
        let dir = fs::read_dir(self.queue.layout().dir(state)).unwrap();
        let mut names: Vec<String> = dir
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

fn daemon(dir: &Path, name: &str) -> Queue {
    let state = dir.join(format!("state-{name}"));
    Queue::open(dir.join("tasks"), &state, format!("{name}@host")).unwrap()
}

fn scan(id: &str) -> Value {
    json!({"id": id, "type": "scan", "created_at": "2025-12-21T14:30:45Z"})
}

fn rip(id: &str, dir: &Path) -> Value {
    json!({"id": id, "type": "rip", "track": {"number": 0},
           "output": {"directory": format!("{}/", dir.display()), "filename": "M.mkv"}})
}

/// Ages a claim past its lease: the task file and its sidecar.
fn expire(fx: &Fixture, id: &str) {
    let old = Duration::from_secs(6 * 60);
    set_age(&fx.path(TaskState::InProgress, id), old);
    let sidecar = fx
        .queue
        .layout()
        .dir(TaskState::InProgress)
        .join(format!("{id}.owner"));
    set_age(&sidecar, old);
}

fn put_scan(queue: &Queue, id: &str) {
    let path = queue.layout().file(TaskState::Queued, id);
    fs::write(path, serde_json::to_vec(&scan(id)).unwrap()).unwrap();
}

fn count(queue: &Queue, state: TaskState) -> usize {
    fs::read_dir(queue.layout().dir(state)).unwrap().count()
}

/// Generous: only reached when something is broken.
const WAIT: Duration = Duration::from_secs(10);

/// Claims and finishes until the queue is empty; returns what this daemon ran.
fn work(queue: &Queue, start: &Barrier) -> Vec<String> {
    start.wait();
    let mut ran = Vec::new();
    loop {
        let claim = queue.next(|_| true).unwrap();
        assert!(queue.take_rejected().is_empty());
        let Some(claim) = claim else { break };
        let result = TaskResult {
            task_id: claim.id().to_owned(),
            task_type: claim.task().task_type(),
            status: ResultStatus::Success,
            started_at: Some(claim.claimed_at().to_owned()),
            completed_at: None,
            duration_seconds: None,
            source: None,
            result: Some(json!({"by": queue.daemon_id()})),
            error: None,
        };
        queue.finish(&claim, &result).unwrap();
        ran.push(claim.id().to_owned());
    }
    ran
}

#[test]
fn two_daemons_claim_two_hundred_tasks_each_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let a = daemon(tmp.path(), "a");
    let b = daemon(tmp.path(), "b");
    let ids: Vec<String> = (0..200).map(|i| format!("t{i:03}-scan")).collect();
    for id in &ids {
        put_scan(&a, id);
    }
    // Half listed (in reverse), half only in queued/.
    let listed: Vec<&String> = ids.iter().rev().step_by(2).collect();
    fs::write(
        a.layout().tasks_json(),
        serde_json::to_vec(&listed).unwrap(),
    )
    .unwrap();

    let start = Arc::new(Barrier::new(2));
    let handles: Vec<_> = [a.clone(), b]
        .into_iter()
        .map(|q| {
            let start = Arc::clone(&start);
            thread::spawn(move || work(&q, &start))
        })
        .collect();
    let runs: Vec<Vec<String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    let total: usize = runs.iter().map(Vec::len).sum();
    let unique: HashSet<&String> = runs.iter().flatten().collect();
    assert_eq!(
        total,
        200,
        "every task run exactly once (a: {}, b: {})",
        runs[0].len(),
        runs[1].len()
    );
    assert_eq!(unique.len(), 200);
    assert_eq!(count(&a, TaskState::Complete), 200);
    assert_eq!(count(&a, TaskState::Queued), 0);
    assert_eq!(
        count(&a, TaskState::InProgress),
        0,
        "no claim or sidecar left behind"
    );
    for (name, ran) in ["a", "b"].iter().zip(&runs) {
        for id in ran {
            let bytes = fs::read(a.layout().file(TaskState::Complete, id)).unwrap();
            let result: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(result["result"]["by"], format!("{name}@host"), "{id}");
        }
    }
}

#[test]
fn enqueue_from_many_threads_keeps_every_id_unique_and_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let queue = daemon(tmp.path(), "a");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let q = queue.clone();
            thread::spawn(move || {
                (0..25)
                    .map(|_| q.enqueue(&NewTask::scan()).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let ids: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 100);
    let listed: Vec<String> =
        serde_json::from_slice(&fs::read(queue.layout().tasks_json()).unwrap()).unwrap();
    assert_eq!(listed.iter().collect::<HashSet<_>>(), unique);
    assert_eq!(queue.queue_depth(), 100);
}

#[test]
fn webapp_tasks_are_never_touched_by_selection_recovery_or_cancel() {
    let fx = Fixture::new();
    let transcode = json!({"id": "t1-transcode", "type": "transcode", "input": "r-rip"});
    let insert = json!({"id": "i1-insert", "type": "insert"});
    fx.put(&transcode);
    fx.put(&insert);
    fx.put(&scan("s-scan"));
    fx.order(&["t1-transcode", "i1-insert", "s-scan"]);
    // A transcode in progress with a long-dead lease, and one in a seed-style id.
    let running = fx.path(TaskState::InProgress, "t2-transcode");
    fs::write(&running, br#"{"id":"t2-transcode","type":"transcode"}"#).unwrap();
    let seed = fx.path(TaskState::InProgress, "20251221-143045-009");
    fs::write(&seed, br#"{"id":"20251221-143045-009","type":"transcode"}"#).unwrap();
    let old = Duration::from_secs(3600);
    for p in [&running, &seed, &fx.path(TaskState::Queued, "t1-transcode")] {
        set_age(p, old);
    }
    let before = |p: &Path| {
        (
            fs::read(p).unwrap(),
            fs::metadata(p).unwrap().modified().unwrap(),
        )
    };
    let snapshot: Vec<_> = [&running, &seed, &fx.path(TaskState::Queued, "t1-transcode")]
        .into_iter()
        .map(|p| before(p))
        .collect();

    let report = fx.queue.recover().unwrap();
    assert!(
        report.requeued.is_empty() && report.failed.is_empty(),
        "{report:?}"
    );
    assert_eq!(drain(&fx.queue), ["s-scan"]);
    assert!(matches!(
        fx.queue.cancel_queued("t1-transcode"),
        Err(QueueError::NotOwned { .. })
    ));
    assert!(fx.daemon("b").recover().unwrap().requeued.is_empty());

    let after: Vec<_> = [&running, &seed, &fx.path(TaskState::Queued, "t1-transcode")]
        .into_iter()
        .map(|p| before(p))
        .collect();
    assert_eq!(snapshot, after);
    assert!(fx.has(TaskState::Queued, "i1-insert"));
    assert_eq!(fx.names(TaskState::Complete), ["s-scan.json"]);
    assert_eq!(fx.queue.queue_depth(), 0);
}

#[test]
fn a_live_lease_is_left_alone_by_a_second_daemon() {
    let fx = Fixture::new();
    fx.put(&scan("a-scan"));
    let claim = take(&fx.queue).unwrap();
    let other = fx.daemon("b");
    let report = other.recover().unwrap();
    assert_eq!(report.live_elsewhere, ["a-scan"]);
    assert!(report.requeued.is_empty());
    assert!(other.next(|_| true).unwrap().is_none());
    fx.queue.touch(&claim).unwrap();
    fx.queue.finish(&claim, &success(&claim)).unwrap();
    assert_eq!(fx.read(TaskState::Complete, "a-scan")["status"], "success");
}

#[test]
fn claiming_an_old_queued_file_starts_a_fresh_lease() {
    let fx = Fixture::new();
    fx.put(&scan("a-scan"));
    set_age(
        &fx.path(TaskState::Queued, "a-scan"),
        Duration::from_secs(3600),
    );
    let _claim = take(&fx.queue).unwrap();
    // Hide the sidecar's lease: the task file itself must be fresh.
    set_age(
        &fx.queue
            .layout()
            .dir(TaskState::InProgress)
            .join("a-scan.owner"),
        Duration::from_secs(3600),
    );
    assert_eq!(fx.daemon("b").recover().unwrap().live_elsewhere, ["a-scan"]);
}

#[test]
fn an_expired_lease_is_recovered_and_its_old_owner_cannot_finish() {
    let fx = Fixture::new();
    fx.put(&scan("a-scan"));
    fx.put(&scan("b-scan"));
    fx.order(&["a-scan", "b-scan"]);
    let stale = take(&fx.queue).unwrap();
    expire(&fx, "a-scan");

    let other = fx.daemon("b");
    let report = other.recover().unwrap();
    assert_eq!(report.requeued, ["a-scan"]);
    assert_eq!(other.attempts("a-scan"), 1);
    assert_eq!(
        fx.queue.attempts("a-scan"),
        0,
        "attempts live in each daemon's own state"
    );
    assert!(matches!(
        fx.queue.touch(&stale),
        Err(QueueError::ClaimLost { .. })
    ));

    let again = take(&other).unwrap();
    assert_eq!(again.id(), "a-scan");
    let err = fx.queue.finish(&stale, &success(&stale)).unwrap_err();
    assert!(matches!(err, QueueError::ClaimLost { .. }), "{err}");
    assert!(!fx.has(TaskState::Complete, "a-scan"));
    other.finish(&again, &success(&again)).unwrap();
    assert!(fx.has(TaskState::Complete, "a-scan"));
}

#[test]
fn own_claims_are_recovered_at_restart_with_partial_output_removed() {
    let fx = Fixture::new();
    let out = fx.tmp.path().join("ripped");
    fx.put(&rip("a-rip", &out));
    let claim = take(&fx.queue).unwrap();
    let partial = claim.rip_temp_dir().unwrap();
    fs::create_dir_all(&partial).unwrap();
    fs::write(partial.join("title_t00.mkv"), b"half a film").unwrap();
    // The runner's own naming: the claiming process's pid, then a random part.
    let runner_dir = out.join(format!(".amphigory-rip-{}-x1y2", std::process::id()));
    let someone_else = out.join(".amphigory-rip-1-x1y2");
    fs::create_dir_all(&runner_dir).unwrap();
    fs::create_dir_all(&someone_else).unwrap();
    fx.queue.record_child_pid(&claim, Some(4242)).unwrap();
    drop(claim); // the daemon dies here

    let restarted = fx.restart();
    let report = restarted.recover().unwrap();
    assert_eq!(report.requeued, ["a-rip"]);
    let mut removed = report.removed_partials.clone();
    removed.sort();
    assert_eq!(removed, [partial.clone(), runner_dir.clone()]);
    assert!(someone_else.exists());
    assert_eq!(report.orphan_children.len(), 1);
    assert_eq!(report.orphan_children[0].pid, 4242);
    assert!(!partial.exists() && out.exists());
    assert!(fx.names(TaskState::InProgress).is_empty());
    assert_eq!(restarted.attempts("a-rip"), 1);
    assert_eq!(take(&restarted).unwrap().id(), "a-rip");
}

#[test]
fn the_third_interruption_fails_the_task_with_retries_exhausted() {
    let fx = Fixture::new();
    fx.put(&scan("a-scan"));
    let mut queue = fx.restart();
    for attempt in 1..=MAX_ATTEMPTS {
        let claim = take(&queue).unwrap();
        assert_eq!(claim.id(), "a-scan");
        drop(claim); // the daemon dies mid-task
        queue = fx.restart();
        let report = queue.recover().unwrap();
        if attempt < MAX_ATTEMPTS {
            assert_eq!(report.requeued, ["a-scan"]);
            assert_eq!(queue.attempts("a-scan"), attempt);
        } else {
            assert!(report.requeued.is_empty());
            assert_eq!(report.failed.len(), 1, "{report:?}");
            let result = &report.failed[0].result;
            assert_eq!(
                result.error.as_ref().unwrap().code,
                ErrorCode::RetriesExhausted
            );
        }
    }
    let result = fx.read(TaskState::Complete, "a-scan");
    assert_eq!(result["error"]["code"], "RETRIES_EXHAUSTED");
    assert_eq!(result["type"], "scan");
    let failed = fx.read(TaskState::Failed, "a-scan");
    assert_eq!(failed["created_at"], "2025-12-21T14:30:45Z");
    assert_eq!(failed["status"], "failed");
    assert!(!fx.has(TaskState::Queued, "a-scan") && !fx.has(TaskState::InProgress, "a-scan"));
    assert_eq!(queue.attempts("a-scan"), 0, "forgotten once finished");
    assert!(take(&queue).is_none());
}

#[test]
fn a_result_already_written_is_never_run_twice() {
    let fx = Fixture::new();
    fx.put(&scan("a-scan"));
    let claim = take(&fx.queue).unwrap();
    // Killed between the rename into complete/ and the removal of the in_progress file.
    fs::write(
        fx.path(TaskState::Complete, "a-scan"),
        serde_json::to_vec(&success(&claim)).unwrap(),
    )
    .unwrap();
    drop(claim);
    let restarted = fx.restart();
    let report = restarted.recover().unwrap();
    assert_eq!(report.already_complete, ["a-scan"]);
    assert!(report.requeued.is_empty());
    assert!(fx.names(TaskState::InProgress).is_empty());
    assert!(take(&restarted).is_none());
    // Same for an expired claim of another daemon.
    fx.put(&scan("b-scan"));
    let _claim = take(&restarted).unwrap();
    fs::write(fx.path(TaskState::Complete, "b-scan"), b"{}").unwrap();
    expire(&fx, "b-scan");
    assert_eq!(
        fx.daemon("c").recover().unwrap().already_complete,
        ["b-scan"]
    );
    assert!(fx.names(TaskState::InProgress).is_empty());
}

/// Waits for a wake-up, then for the burst of events around it to pass.
async fn woken_then_quiet(wake: &Notify) {
    timeout(WAIT, wake.notified()).await.expect("no wake-up");
    while timeout(Duration::from_millis(200), wake.notified())
        .await
        .is_ok()
    {}
}

#[tokio::test]
async fn the_watcher_wakes_the_engine_for_new_tasks_order_and_pause() {
    let tmp = tempfile::tempdir().unwrap();
    let queue = daemon(tmp.path(), "a");
    let wake = Arc::new(Notify::new());
    let _watcher = QueueWatcher::start(queue.layout().root(), Arc::clone(&wake)).unwrap();

    put_scan(&queue, "a-scan");
    woken_then_quiet(&wake).await;

    // The queue's own reads (a pass that claims nothing) must not wake it again.
    assert!(queue.next(|_| false).unwrap().is_none());
    assert!(
        timeout(Duration::from_millis(300), wake.notified())
            .await
            .is_err(),
        "reading the queue woke the watcher"
    );

    fs::write(queue.layout().tasks_json(), br#"["a-scan"]"#).unwrap();
    woken_then_quiet(&wake).await;
    fs::write(queue.layout().paused_marker(), b"2025-12-27T14:30:52Z").unwrap();
    woken_then_quiet(&wake).await;
    fs::remove_file(queue.layout().paused_marker()).unwrap();
    woken_then_quiet(&wake).await;

    // Results written elsewhere in the tree are not wake-ups.
    fs::write(queue.layout().file(TaskState::Complete, "z-scan"), b"{}").unwrap();
    assert!(
        timeout(Duration::from_millis(300), wake.notified())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_watcher_that_cannot_start_leaves_the_rescans_to_do_the_work() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("does-not-exist");
    let err = QueueWatcher::start(&missing, Arc::new(Notify::new())).unwrap_err();
    assert!(err.to_string().contains("cannot watch"), "{err}");
}

#[test]
fn a_finished_task_whose_result_waits_is_never_run_again_by_anyone() {
    let fx = Fixture::new();
    let out = fx.tmp.path().join("ripped");
    fs::create_dir(&out).unwrap();
    fx.put(&rip("a-rip", &out));
    let claim = take(&fx.queue).unwrap();
    // The rip placed its file, keeping a second link in its temp directory.
    let temp = claim.rip_temp_dir().unwrap();
    fs::create_dir(&temp).unwrap();
    fs::write(temp.join("title_t00.mkv"), b"the film").unwrap();
    fs::hard_link(temp.join("title_t00.mkv"), out.join("M.mkv")).unwrap();
    // complete/ cannot be written: the claim stays, the result goes with it.
    let complete = fx.queue.layout().dir(TaskState::Complete);
    fs::remove_dir(&complete).unwrap();
    fs::write(&complete, b"in the way").unwrap();
    let result = success(&claim);
    assert!(fx.queue.finish(&claim, &result).is_err());
    assert!(fx.has(TaskState::InProgress, "a-rip"));
    assert!(fx.queue.touch(&claim).is_ok(), "still ours, lease renewed");

    // A live lease: nobody else touches it, however stuck its result is.
    assert!(
        fx.daemon("b")
            .recover_expired()
            .unwrap()
            .finished_late
            .is_empty()
    );
    assert!(fx.has(TaskState::InProgress, "a-rip"));

    // Its daemon dies for good; once the lease has expired another daemon writes the
    // result the sidecar carries, keeps the file, and never runs the task.
    drop(claim);
    expire(&fx, "a-rip");
    fs::remove_file(&complete).unwrap();
    let other = fx.daemon("b");
    let report = other.recover().unwrap();
    assert_eq!(report.finished_late, ["a-rip"]);
    assert!(report.requeued.is_empty() && report.removed_partials.is_empty());
    assert_eq!(fx.read(TaskState::Complete, "a-rip")["status"], "success");
    assert_eq!(fs::read(out.join("M.mkv")).unwrap(), b"the film");
    assert!(fx.names(TaskState::InProgress).is_empty());
    assert!(take(&other).is_none());
}

#[test]
fn a_lease_lives_on_the_sidecar_alone() {
    let fx = Fixture::new();
    fx.put(&scan("a-scan"));
    let claim = take(&fx.queue).unwrap();
    // The task file as the webapp leaves it: old, and not ours to touch (here: its
    // mtime is only ever read, so an old one stands for a file we cannot renew).
    set_age(
        &fx.path(TaskState::InProgress, "a-scan"),
        Duration::from_secs(3600),
    );
    fx.queue.touch(&claim).unwrap();
    let file_age = fs::metadata(fx.path(TaskState::InProgress, "a-scan"))
        .unwrap()
        .modified()
        .unwrap()
        .elapsed()
        .unwrap();
    assert!(
        file_age > Duration::from_secs(3000),
        "the task file is not touched"
    );
    assert_eq!(fx.daemon("b").recover().unwrap().live_elsewhere, ["a-scan"]);
    // Its own daemon never takes its own claim back, whatever the lease says.
    expire(&fx, "a-scan");
    let report = fx.queue.recover_expired().unwrap();
    assert!(report.requeued.is_empty() && report.live_elsewhere.is_empty());
    fx.queue.finish(&claim, &success(&claim)).unwrap();
}
