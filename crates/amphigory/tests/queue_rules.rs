#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The rules of SPEC §4 as one daemon sees them, one test each, on real files in temporary
//! directories (several daemons, leases and crash recovery: `queue_concurrency.rs`).

mod support;

use std::fs::{self};
use std::path::{Path, PathBuf};
use std::time::Duration;

use amphigory::queue::{
    NewTask, Queue, QueueError, RipSpec, TaskInput, TaskKind, TaskState, failure_result,
};
use amphigory_wire::result::ResultStatus;
use amphigory_wire::{ErrorCode, TaskError};
use serde_json::{Value, json};
use support::queue::{drain, set_age, success, take};
use tempfile::TempDir;

struct Fixture {
    tmp: TempDir,
    queue: Queue,
}

impl Fixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let queue = Queue::open(
            tmp.path().join("tasks"),
            &tmp.path().join("state-a"),
            "a@host",
        )
        .unwrap();
        Self { tmp, queue }
    }

    fn tasks(&self) -> PathBuf {
        self.tmp.path().join("tasks")
    }

    fn path(&self, state: TaskState, id: &str) -> PathBuf {
        self.queue.layout().file(state, id)
    }

    fn put(&self, task: &Value) {
        let id = task["id"].as_str().unwrap();
        fs::write(
            self.path(TaskState::Queued, id),
            serde_json::to_vec(task).unwrap(),
        )
        .unwrap();
    }

    fn order(&self, ids: &[&str]) {
        fs::write(
            self.tasks().join("tasks.json"),
            serde_json::to_vec(ids).unwrap(),
        )
        .unwrap();
    }

    fn read(&self, state: TaskState, id: &str) -> Value {
        serde_json::from_slice(&fs::read(self.path(state, id)).unwrap()).unwrap()
    }

    fn has(&self, state: TaskState, id: &str) -> bool {
        self.path(state, id).exists()
    }

    fn names(&self, state: TaskState) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.queue.layout().dir(state))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

fn scan(id: &str) -> Value {
    json!({"id": id, "type": "scan", "created_at": "2025-12-21T14:30:45Z"})
}

fn rip(id: &str, dir: &Path) -> Value {
    json!({"id": id, "type": "rip", "created_at": "2025-12-27T14:30:52",
           "track": {"number": 0, "expected_size_bytes": 11_397_666_816_u64, "expected_duration": "1:39:56"},
           "output": {"directory": format!("{}/", dir.display()), "filename": "Movie (2004).mkv"}})
}

#[test]
fn selection_follows_tasks_json_then_unlisted_files_oldest_first() {
    let fx = Fixture::new();
    for id in ["a-scan", "b-scan", "c-scan", "d-scan", "e-scan"] {
        fx.put(&scan(id));
    }
    set_age(
        &fx.path(TaskState::Queued, "e-scan"),
        Duration::from_secs(100),
    );
    set_age(
        &fx.path(TaskState::Queued, "d-scan"),
        Duration::from_secs(50),
    );
    fx.order(&["c-scan", "gone-scan", "a-scan", "b-scan"]);
    assert_eq!(
        drain(&fx.queue),
        ["c-scan", "a-scan", "b-scan", "e-scan", "d-scan"]
    );
    assert!(fx.names(TaskState::Queued).is_empty());
    assert!(fx.names(TaskState::InProgress).is_empty());
}

#[test]
fn a_queued_file_missing_from_tasks_json_still_runs() {
    let fx = Fixture::new();
    fx.put(&scan("listed-scan"));
    fx.put(&scan("stray-scan"));
    fx.order(&["listed-scan"]);
    assert_eq!(drain(&fx.queue), ["listed-scan", "stray-scan"]);
}

#[test]
fn a_half_written_tasks_json_falls_back_to_oldest_first() {
    let fx = Fixture::new();
    fx.put(&scan("a-scan"));
    fx.put(&scan("b-scan"));
    set_age(
        &fx.path(TaskState::Queued, "b-scan"),
        Duration::from_secs(60),
    );
    fs::write(fx.tasks().join("tasks.json"), br#"["a-scan", "b-sc"#).unwrap();
    let first = take(&fx.queue).unwrap();
    assert_eq!(first.id(), "b-scan");
    // Repeatedly broken: still no stall, still everything runs.
    assert_eq!(take(&fx.queue).unwrap().id(), "a-scan");
    // Once whole again, the listed order is honoured.
    fx.put(&scan("c-scan"));
    fx.put(&scan("d-scan"));
    fx.order(&["d-scan", "c-scan"]);
    assert_eq!(take(&fx.queue).unwrap().id(), "d-scan");
}

#[test]
fn both_rip_shapes_are_claimed_with_their_destination() {
    let fx = Fixture::new();
    let out = fx.tmp.path().join("ripped");
    fx.put(&rip("seed-rip", &out));
    fx.put(
        &json!({"id": "web-rip", "type": "rip", "created_at": "2025-12-27T14:30:52Z", "input": null,
        "output": "/host/ripped/Movie (2004)/Other.mkv",
        "track": {"number": 3, "expected_size_bytes": null, "expected_duration": null},
        "output_info": {"directory": "/host/ripped/Movie (2004)/", "filename": "Movie (2004).mkv"},
        "disc_fingerprint": "br-abc"}),
    );
    fx.put(&json!({"id": "path-rip", "type": "rip", "output": "/host/r/M/M.mkv", "track": {"number": 1}}));
    fx.order(&["seed-rip", "web-rip", "path-rip"]);

    let seed = take(&fx.queue).unwrap();
    let spec = seed.task().rip().unwrap();
    assert_eq!(
        (spec.track, spec.expected_size_bytes),
        (0, Some(11_397_666_816))
    );
    assert_eq!(spec.output_path(), out.join("Movie (2004).mkv"));
    let temp = seed.rip_temp_dir().unwrap();
    assert_eq!(temp.parent(), Some(out.as_path()));
    let name = temp.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with(".amphigory-seed-rip+"), "{name}");

    let web = take(&fx.queue).unwrap();
    let spec = web.task().rip().unwrap();
    assert_eq!(spec.track, 3);
    assert_eq!(
        spec.output_path(),
        PathBuf::from("/host/ripped/Movie (2004)/Movie (2004).mkv")
    );
    assert_eq!(web.task().disc_fingerprint.as_deref(), Some("br-abc"));

    let path = take(&fx.queue).unwrap();
    assert_eq!(
        path.task().rip().unwrap().output_path(),
        PathBuf::from("/host/r/M/M.mkv")
    );
}

#[test]
fn seed_style_ids_are_judged_by_their_type() {
    let fx = Fixture::new();
    fx.put(&json!({"id": "20251221-143045-001", "type": "transcode"}));
    fx.put(&json!({"id": "20251221-143045-002", "type": "weird"}));
    fx.put(&scan("20251221-143045-003"));
    fx.order(&[
        "20251221-143045-001",
        "20251221-143045-002",
        "20251221-143045-003",
    ]);
    let claim = take(&fx.queue).unwrap();
    assert_eq!(claim.id(), "20251221-143045-003");
    assert_eq!(claim.task().kind, TaskKind::Scan);
    assert!(take(&fx.queue).is_none());
    assert!(fx.has(TaskState::Queued, "20251221-143045-001"));
    assert!(fx.has(TaskState::Queued, "20251221-143045-002"));
}

#[test]
fn a_task_waits_for_its_input_without_blocking_the_others() {
    let fx = Fixture::new();
    let mut dependent = scan("dep-scan");
    dependent["input"] = json!("first-rip");
    let marker = fx.tmp.path().join("source.iso");
    let mut on_path = scan("path-scan");
    on_path["input"] = json!(marker.to_str().unwrap());
    fx.put(&dependent);
    fx.put(&on_path);
    fx.put(&scan("free-scan"));
    fx.order(&["dep-scan", "path-scan", "free-scan"]);

    assert_eq!(drain(&fx.queue), ["free-scan"]);
    assert!(fx.has(TaskState::Queued, "dep-scan") && fx.has(TaskState::Queued, "path-scan"));

    fs::write(
        fx.path(TaskState::Complete, "first-rip"),
        br#"{"task_id":"first-rip","type":"rip","status":"success"}"#,
    )
    .unwrap();
    let claim = take(&fx.queue).unwrap();
    assert_eq!(claim.id(), "dep-scan");
    assert_eq!(
        claim.task().input,
        Some(TaskInput::Task("first-rip".into()))
    );
    fx.queue.finish(&claim, &success(&claim)).unwrap();
    assert!(take(&fx.queue).is_none());
    fs::write(&marker, b"").unwrap();
    assert_eq!(take(&fx.queue).unwrap().id(), "path-scan");
}

#[test]
fn the_engine_predicate_skips_tasks_for_busy_drives() {
    let fx = Fixture::new();
    let mut left = scan("left-scan");
    left["drive"] = json!("me@host:sr0");
    let mut right = scan("right-scan");
    right["drive"] = json!("me@host:sr1");
    fx.put(&left);
    fx.put(&right);
    fx.order(&["left-scan", "right-scan"]);
    let sel = fx
        .queue
        .next(|t| t.drive.as_deref() != Some("me@host:sr0"))
        .unwrap();
    let claim = sel.unwrap();
    assert_eq!(claim.id(), "right-scan");
    assert!(fx.has(TaskState::Queued, "left-scan"));
    let error = TaskError::new(ErrorCode::NoDisc, "No disc in the drive", None);
    let result = fx.queue.fail(&claim, error).unwrap();
    assert_eq!(result.status, ResultStatus::Failed);
    assert_eq!(
        fx.read(TaskState::Failed, "right-scan")["drive"],
        "me@host:sr1"
    );
    assert_eq!(
        fx.read(TaskState::Complete, "right-scan")["error"]["code"],
        "NO_DISC"
    );
}

#[test]
fn a_pause_marker_created_from_outside_stops_claims() {
    let fx = Fixture::new();
    fx.put(&scan("a-scan"));
    fs::write(fx.tasks().join("PAUSED"), b"2025-12-27T14:30:52+01:00").unwrap();
    assert!(fx.queue.is_paused());
    assert_eq!(
        fx.queue.paused_since().as_deref(),
        Some("2025-12-27T14:30:52+01:00")
    );
    let sel = fx.queue.next(|_| true).unwrap();
    assert!(sel.is_none());
    assert!(fx.has(TaskState::Queued, "a-scan"));
    assert!(
        !fx.queue.set_paused(true).unwrap(),
        "already paused keeps its timestamp"
    );

    assert!(fx.queue.set_paused(false).unwrap());
    assert!(!fx.tasks().join("PAUSED").exists());
    assert!(fx.queue.set_paused(true).unwrap());
    let stamp = fs::read_to_string(fx.tasks().join("PAUSED")).unwrap();
    chrono::DateTime::parse_from_rfc3339(stamp.trim()).unwrap();
    fs::remove_file(fx.tasks().join("PAUSED")).unwrap();
    assert_eq!(take(&fx.queue).unwrap().id(), "a-scan");
}

#[test]
fn results_are_atomic_and_failures_are_merged_over_the_task() {
    let fx = Fixture::new();
    let out = fx.tmp.path().join("ripped");
    let mut task = rip("a-rip", &out);
    task["title"] = json!("kept");
    fx.put(&task);
    fx.put(&scan("b-scan"));
    fx.order(&["a-rip", "b-scan"]);
    let claim = take(&fx.queue).unwrap();
    fx.queue.touch(&claim).unwrap();
    let error = TaskError::new(
        ErrorCode::DiscEjected,
        "Disc was ejected during rip",
        Some("exit 1".into()),
    );
    let result = failure_result(
        claim.id(),
        claim.task().task_type(),
        Some(claim.claimed_at()),
        error,
    );
    let wrong = failure_result(
        "other-rip",
        claim.task().task_type(),
        None,
        result.error.clone().unwrap(),
    );
    assert!(matches!(
        fx.queue.finish(&claim, &wrong),
        Err(QueueError::Invalid(_))
    ));
    fx.queue.finish(&claim, &result).unwrap();

    let complete = fx.read(TaskState::Complete, "a-rip");
    assert_eq!(complete["type"], "rip");
    assert_eq!(complete["task_id"], "a-rip");
    assert_eq!(complete["error"]["code"], "DISC_EJECTED");
    assert!(complete.get("title").is_none());
    let failed = fx.read(TaskState::Failed, "a-rip");
    assert_eq!(failed["title"], "kept");
    assert_eq!(failed["track"]["number"], 0);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["message"], "Disc was ejected during rip");

    let ok = take(&fx.queue).unwrap();
    fx.queue.finish(&ok, &success(&ok)).unwrap();
    assert!(!fx.has(TaskState::Failed, "b-scan"));
    assert_eq!(fx.read(TaskState::Complete, "b-scan")["type"], "scan");

    assert_eq!(fx.names(TaskState::Complete), ["a-rip.json", "b-scan.json"]);
    assert_eq!(fx.names(TaskState::Failed), ["a-rip.json"]);
    assert!(fx.names(TaskState::InProgress).is_empty());
    assert!(fx.names(TaskState::Queued).is_empty());
    assert!(
        fs::read_dir(fx.tmp.path().join("state-a/queue/claims"))
            .unwrap()
            .next()
            .is_none()
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &fs::metadata(fx.path(TaskState::Complete, "a-rip"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(
        mode & 0o044,
        0o044,
        "the webapp must be able to read results"
    );
}

#[test]
fn requeue_puts_a_task_back_at_the_head_without_an_attempt() {
    let fx = Fixture::new();
    let out = fx.tmp.path().join("ripped");
    fx.put(&scan("a-scan"));
    fx.put(&rip("b-rip", &out));
    fx.order(&["a-scan", "b-rip"]);
    let claim = fx.queue.next(|t| t.id == "b-rip").unwrap().unwrap();
    let partial = claim.rip_temp_dir().unwrap();
    fs::create_dir_all(&partial).unwrap();
    fx.queue.requeue(&claim).unwrap();
    assert!(!partial.exists());
    assert!(fx.has(TaskState::Queued, "b-rip"));
    assert!(fx.names(TaskState::InProgress).is_empty());
    assert_eq!(fx.queue.attempts("b-rip"), 0);
    assert_eq!(drain(&fx.queue), ["b-rip", "a-scan"]);
}

#[test]
fn cancelling_a_queued_task_leaves_a_cancelled_result() {
    let fx = Fixture::new();
    fx.put(&scan("a-scan"));
    assert!(fx.queue.cancel_queued("a-scan").unwrap());
    assert!(!fx.queue.cancel_queued("a-scan").unwrap());
    assert!(!fx.queue.cancel_queued("../etc/passwd").unwrap());
    assert_eq!(
        fx.read(TaskState::Complete, "a-scan")["error"]["code"],
        "TASK_CANCELLED"
    );
    assert_eq!(
        fx.read(TaskState::Failed, "a-scan")["created_at"],
        "2025-12-21T14:30:45Z"
    );
    assert!(fx.names(TaskState::Queued).is_empty() && fx.names(TaskState::InProgress).is_empty());
}

#[test]
fn enqueue_writes_tasks_exactly_as_the_webapp_does() {
    let fx = Fixture::new();
    fx.order(&["x-transcode"]);
    let scan = fx.queue.enqueue(&NewTask::scan()).unwrap();
    let spec = RipSpec {
        track: 2,
        expected_size_bytes: Some(5),
        expected_duration: None,
        directory: "/media/ripped/Movie (2004)".into(),
        filename: "Movie (2004).mkv".into(),
    };
    let mut new = NewTask::rip(spec);
    new.input = Some(TaskInput::Task(scan.clone()));
    new.disc_fingerprint = Some("br-1".into());
    let rip = fx.queue.enqueue(&new).unwrap();

    assert!(scan.ends_with("-scan") && rip.ends_with("-rip"));
    assert!(scan < rip);
    let order: Vec<String> =
        serde_json::from_slice(&fs::read(fx.tasks().join("tasks.json")).unwrap()).unwrap();
    assert_eq!(order, ["x-transcode".to_owned(), scan.clone(), rip.clone()]);
    let written = fx.read(TaskState::Queued, &rip);
    assert_eq!(written["type"], "rip");
    assert_eq!(
        written["output"],
        "/media/ripped/Movie (2004)/Movie (2004).mkv"
    );
    assert_eq!(
        written["output_info"]["directory"],
        "/media/ripped/Movie (2004)/"
    );
    assert_eq!(written["track"]["number"], 2);
    assert_eq!(written["input"], scan.as_str());
    chrono::DateTime::parse_from_rfc3339(written["created_at"].as_str().unwrap()).unwrap();

    let mut bad = new.clone();
    if let TaskKind::Rip(spec) = &mut bad.kind {
        spec.directory = "relative/dir".into();
    }
    assert!(
        matches!(fx.queue.enqueue(&bad), Err(QueueError::Invalid(m)) if m.contains("relative"))
    );
    assert_eq!(fx.names(TaskState::Queued).len(), 2);

    let first = take(&fx.queue).unwrap();
    assert_eq!(first.id(), scan);
    fx.queue.finish(&first, &success(&first)).unwrap();
    assert_eq!(take(&fx.queue).unwrap().id(), rip);
}

#[test]
fn listing_shows_every_task_in_order_with_its_state() {
    let fx = Fixture::new();
    for id in ["a-scan", "b-scan", "c-scan"] {
        fx.put(&scan(id));
    }
    fx.put(&json!({"id": "t-transcode", "type": "transcode"}));
    fx.put(&json!({"id": "20251221-143045-001", "type": "rip"}));
    fx.order(&["a-scan", "b-scan", "t-transcode", "c-scan", "ghost-scan"]);
    assert_eq!(fx.queue.queue_depth(), 4);
    let a = take(&fx.queue).unwrap();
    fx.queue.finish(&a, &success(&a)).unwrap();
    let _b = take(&fx.queue).unwrap();
    assert!(fx.queue.cancel_queued("c-scan").unwrap());
    let list = fx.queue.list().unwrap();
    let seen: Vec<(&str, TaskState, &str, bool)> = list
        .iter()
        .map(|e| (e.id.as_str(), e.state, e.task_type.as_str(), e.owned))
        .collect();
    assert_eq!(
        seen,
        [
            ("a-scan", TaskState::Complete, "scan", true),
            ("b-scan", TaskState::InProgress, "scan", true),
            ("t-transcode", TaskState::Queued, "transcode", false),
            ("c-scan", TaskState::Failed, "scan", true),
            ("20251221-143045-001", TaskState::Queued, "rip", true),
        ]
    );
    let as_json = serde_json::to_value(&list[1]).unwrap();
    assert_eq!(as_json["state"], "in_progress");
    assert_eq!(as_json["type"], "scan");
    assert_eq!(fx.queue.queue_depth(), 1);
}
