#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! A catalogue of malformed task files: each is failed at once with `INVALID_TASK` and a
//! message naming what is wrong, leaves nothing behind in `queued/` or `in_progress/`,
//! and the next good task is still selected.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use amphigory::queue::{Queue, TaskState};
use amphigory_wire::ErrorCode;
use serde_json::{Value, json};

/// What goes into `queued/<stem>.json`.
enum Body {
    Json(Value),
    Text(&'static str),
    Huge,
    Symlink,
    Directory,
    Fifo,
}

struct Case {
    stem: &'static str,
    body: Body,
    expect: &'static str,
}

fn case(stem: &'static str, body: Body, expect: &'static str) -> Case {
    Case { stem, body, expect }
}

/// A valid rip with `change` applied to its JSON.
fn rip_with(stem: &str, change: impl FnOnce(&mut Value)) -> Body {
    let mut task = json!({"id": stem, "type": "rip", "created_at": "2025-12-27T14:30:52",
        "track": {"number": 0, "expected_size_bytes": 1000, "expected_duration": "1:39:56"},
        "output_info": {"directory": "/media/ripped/M (2004)/", "filename": "M (2004).mkv"}});
    change(&mut task);
    Body::Json(task)
}

#[allow(clippy::too_many_lines)] // a table
fn catalogue() -> Vec<Case> {
    use Body::{Json, Text};
    vec![
        case("c01-scan", Text("{not json"), "not valid JSON"),
        case("c02-scan", Text(""), "not valid JSON"),
        case(
            "c03-scan",
            Text("[1, 2]"),
            "holds an array, not a JSON object",
        ),
        case(
            "c04-scan",
            Text("\"scan\""),
            "holds a string, not a JSON object",
        ),
        case("c05-scan", Json(json!({"type": "scan"})), "`id` is missing"),
        case(
            "c06-scan",
            Json(json!({"id": 6, "type": "scan"})),
            "`id` must be a string, found a number",
        ),
        case(
            "c07-scan",
            Json(json!({"id": "other-scan", "type": "scan"})),
            "`id` \"other-scan\" does not match the file name \"c07-scan.json\"",
        ),
        case(
            "c08-scan",
            Json(json!({"id": "c08-scan"})),
            "`type` is missing",
        ),
        case(
            "c09-scan",
            Json(json!({"id": "c09-scan", "type": 1})),
            "`type` must be a string",
        ),
        case(
            "c10-rip",
            Json(json!({"id": "c10-rip", "type": "transcode"})),
            "`type` is \"transcode\" but the id ends in \"-rip\"",
        ),
        case(
            "c11-rip",
            Json(json!({"id": "c11-rip", "type": "frobnicate"})),
            "`type` is \"frobnicate\" but the id ends in \"-rip\"",
        ),
        case(
            "c12-scan",
            Json(json!({"id": "c12-scan", "type": "scan", "created_at": 20251227})),
            "`created_at` must be a string, found a number",
        ),
        case(
            "c13-scan",
            Json(json!({"id": "c13-scan", "type": "scan", "drive": {"id": 1}})),
            "`drive` must be a string, found an object",
        ),
        case(
            "c14-rip",
            rip_with("c14-rip", |t| t["track"] = Value::Null),
            "rip task has no `track`",
        ),
        case(
            "c15-rip",
            rip_with("c15-rip", |t| t["track"] = json!(3)),
            "`track` must be an object",
        ),
        case(
            "c16-rip",
            rip_with("c16-rip", |t| {
                t["track"] = json!({"expected_size_bytes": 5})
            }),
            "rip task has no `track.number`",
        ),
        case(
            "c17-rip",
            rip_with("c17-rip", |t| t["track"]["number"] = json!("0")),
            "`track.number` must be a non-negative integer, found \"0\"",
        ),
        case(
            "c18-rip",
            rip_with("c18-rip", |t| t["track"]["number"] = json!(-1)),
            "`track.number` must be a non-negative integer, found -1",
        ),
        case(
            "c19-rip",
            rip_with("c19-rip", |t| {
                t["track"]["expected_size_bytes"] = json!("11 GB")
            }),
            "`track.expected_size_bytes` must be a non-negative integer or null",
        ),
        case(
            "c20-rip",
            rip_with("c20-rip", |t| {
                t.as_object_mut().unwrap().remove("output_info");
            }),
            "rip task has no destination",
        ),
        case(
            "c21-rip",
            rip_with("c21-rip", |t| t["output_info"]["directory"] = Value::Null),
            "`output_info.directory` is missing or null",
        ),
        case(
            "c22-rip",
            rip_with("c22-rip", |t| {
                t.as_object_mut().unwrap().remove("output_info");
                t["output"] = json!({"directory": "movies/x", "filename": "x.mkv"});
            }),
            "`output.directory` \"movies/x\" is relative; it must be an absolute path",
        ),
        case(
            "c23-rip",
            rip_with("c23-rip", |t| {
                t["output_info"]["directory"] = json!("/media/../etc/")
            }),
            "contains a `..` component",
        ),
        case(
            "c24-rip",
            rip_with("c24-rip", |t| {
                t["output_info"]["directory"] = json!("/media/a\u{0}b/")
            }),
            "`output_info.directory` contains a NUL byte",
        ),
        case(
            "c25-rip",
            rip_with("c25-rip", |t| {
                t["output_info"]["filename"] = json!("../../.bashrc")
            }),
            "`output_info.filename` \"../../.bashrc\" contains '/'",
        ),
        case(
            "c26-rip",
            rip_with("c26-rip", |t| t["output_info"]["filename"] = json!("..")),
            "`output_info.filename` is \"..\", not a file name",
        ),
        case(
            "c27-rip",
            rip_with("c27-rip", |t| t["output_info"]["filename"] = json!(".")),
            "`output_info.filename` is \".\", not a file name",
        ),
        case(
            "c28-rip",
            rip_with("c28-rip", |t| t["output_info"]["filename"] = json!("")),
            "`output_info.filename` is empty",
        ),
        case(
            "c29-rip",
            rip_with("c29-rip", |t| {
                t["output_info"]["filename"] = json!("a\u{0}.mkv")
            }),
            "`output_info.filename` contains a NUL byte",
        ),
        case(
            "c30-rip",
            rip_with("c30-rip", |t| {
                t.as_object_mut().unwrap().remove("output_info");
                t["output"] = json!("movie.mkv");
            }),
            "`output` path \"movie.mkv\" is relative",
        ),
        case(
            "c31-rip",
            rip_with("c31-rip", |t| {
                t.as_object_mut().unwrap().remove("output_info");
                t["output"] = json!("/media/../../etc/M.mkv");
            }),
            "`output` path \"/media/../../etc/\" contains a `..` component",
        ),
        case(
            "c32-rip",
            rip_with("c32-rip", |t| t["output"] = json!(42)),
            "`output` must be an object or a path string, found a number",
        ),
        case(
            "c33-rip",
            rip_with("c33-rip", |t| t["output_info"] = json!("/media/M.mkv")),
            "`output_info` must be an object, found a string",
        ),
        case(
            "c34-rip",
            rip_with("c34-rip", |t| t["output_info"]["filename"] = json!(7)),
            "`output_info.filename` must be a string, found a number",
        ),
        case(
            "c35-scan",
            Json(json!({"id": "c35-scan", "type": "scan", "input": "../complete/x"})),
            "`input` \"../complete/x\" is neither a task id nor an absolute path",
        ),
        case("c36-scan", Body::Huge, "larger than the 1 MiB limit"),
        case("c37-scan", Body::Symlink, "is a symbolic link"),
        case("c38-scan", Body::Directory, "not a regular file"),
        case("c39-scan", Body::Fifo, "not a regular file"),
        case(
            "c40 bad name-scan",
            Json(json!({"id": "c40 bad name-scan", "type": "scan"})),
            "file name \"c40 bad name-scan.json\" is not a usable task id",
        ),
        case(
            "20251221-143045-041",
            Text("\u{1}\u{2} garbage"),
            "not valid JSON",
        ),
        case(
            "20251221-143045-042",
            Json(json!({"id": "20251221-143045-042"})),
            "`type` is missing",
        ),
    ]
}

/// Writes a case's file into `queued/`.
fn plant(queue: &Queue, scratch: &Path, case: &Case) {
    let path = queue.layout().file(TaskState::Queued, case.stem);
    match &case.body {
        Body::Json(v) => fs::write(&path, serde_json::to_vec(v).unwrap()).unwrap(),
        Body::Text(t) => fs::write(&path, t).unwrap(),
        Body::Huge => {
            let padding = "x".repeat(1024 * 1024 + 10);
            let task = json!({"id": case.stem, "type": "scan", "padding": padding});
            fs::write(&path, serde_json::to_vec(&task).unwrap()).unwrap();
        }
        Body::Symlink => {
            let target = scratch.join(format!("{}.json", case.stem));
            fs::write(
                &target,
                serde_json::to_vec(&json!({"id": case.stem, "type": "scan"})).unwrap(),
            )
            .unwrap();
            std::os::unix::fs::symlink(&target, &path).unwrap();
        }
        Body::Directory => fs::create_dir(&path).unwrap(),
        Body::Fifo => nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap(),
    }
    // Bad files that have been sitting there a while (a young file whose JSON merely
    // ends early may still be being written: see `a_task_file_still_being_written_…`).
    let meta = fs::symlink_metadata(&path).unwrap();
    if meta.is_file() || meta.is_dir() {
        let old = SystemTime::now() - Duration::from_secs(60);
        fs::File::open(&path).unwrap().set_modified(old).unwrap();
    }
}

fn open(dir: &Path) -> Queue {
    Queue::open(dir.join("tasks"), &dir.join("state"), "me@host").unwrap()
}

fn write_order(queue: &Queue, ids: &[&str]) {
    fs::write(
        queue.layout().tasks_json(),
        serde_json::to_vec(ids).unwrap(),
    )
    .unwrap();
}

/// A good task, newer than everything else (so it comes last among unlisted files).
fn good(queue: &Queue, id: &str) {
    let task = json!({"id": id, "type": "scan", "created_at": "2025-12-21T14:30:45Z"});
    let path = queue.layout().file(TaskState::Queued, id);
    fs::write(&path, serde_json::to_vec(&task).unwrap()).unwrap();
    let later = SystemTime::now() + Duration::from_secs(60);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
}

/// Every file left anywhere in the queue tree, relative names.
fn all_names(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if entry.file_type().unwrap().is_dir() {
            out.extend(
                all_names(&entry.path())
                    .into_iter()
                    .map(|n| format!("{name}/{n}")),
            );
        } else {
            out.push(name);
        }
    }
    out.sort();
    out
}

/// The id a case's file is failed under: its stem, with what is not allowed in an id
/// replaced (SPEC §4: badly named files go to `failed/` under a sanitised name).
fn id_of(case: &Case) -> String {
    case.stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn check_failed(queue: &Queue, case: &Case, message: &str) {
    let id = id_of(case);
    assert!(
        message.starts_with("Invalid task: "),
        "{}: {message}",
        case.stem
    );
    assert!(
        message.contains(case.expect),
        "{}: {message:?} lacks {:?}",
        case.stem,
        case.expect
    );
    let read = |state| -> Value {
        let bytes = fs::read(queue.layout().file(state, &id)).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let complete = read(TaskState::Complete);
    assert_eq!(complete["status"], "failed", "{}", case.stem);
    assert_eq!(complete["error"]["code"], "INVALID_TASK");
    assert!(
        !complete["type"].as_str().unwrap().is_empty(),
        "{}: type is mandatory",
        case.stem
    );
    assert_eq!(read(TaskState::Failed)["task_id"], id.as_str());
    for state in [TaskState::Queued, TaskState::InProgress] {
        assert!(
            fs::symlink_metadata(queue.layout().file(state, case.stem)).is_err(),
            "{} left in {state}",
            case.stem
        );
    }
}

#[test]
fn each_bad_task_is_failed_with_a_clear_reason_and_the_next_good_one_runs() {
    let cases = catalogue();
    assert!(cases.len() >= 20);
    for case in &cases {
        let tmp = tempfile::tempdir().unwrap();
        let queue = open(tmp.path());
        plant(&queue, tmp.path(), case);
        good(&queue, "zz-scan");
        // An unsafe name cannot be listed: it runs as an unlisted file, before the
        // newer good one.
        let listed = amphigory::queue::is_safe_id(case.stem);
        if listed {
            write_order(&queue, &[case.stem, "zz-scan"]);
        }

        let claim = queue.next(|_| true).unwrap();
        let rejected = queue.take_rejected();
        assert_eq!(
            claim.as_ref().map(|c| c.id()),
            Some("zz-scan"),
            "{}",
            case.stem
        );
        assert_eq!(rejected.len(), 1, "{}", case.stem);
        let rejected = &rejected[0];
        assert_eq!(rejected.task_id, id_of(case));
        let error = rejected.error();
        assert_eq!(error.code, ErrorCode::InvalidTask);
        assert_eq!(error.message, rejected.message);
        assert_eq!(
            rejected.task_type.as_str(),
            rejected.result.task_type.as_str()
        );
        check_failed(&queue, case, &error.message);

        let names = all_names(&tmp.path().join("tasks"));
        let mut expected = vec![
            format!("complete/{}.json", id_of(case)),
            format!("failed/{}.json", id_of(case)),
            "in_progress/zz-scan.json".to_owned(),
            "in_progress/zz-scan.owner".to_owned(),
        ];
        if listed {
            expected.push("tasks.json".to_owned());
        }
        assert_eq!(names, expected, "{}: leftovers", case.stem);
        if matches!(case.body, Body::Symlink) {
            let target = tmp.path().join(format!("{}.json", case.stem));
            assert!(target.is_file(), "a link's target is never touched");
        }
    }
}

#[test]
fn a_queue_full_of_bad_tasks_is_cleared_in_one_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let queue = open(tmp.path());
    let cases = catalogue();
    for case in &cases {
        plant(&queue, tmp.path(), case);
    }
    good(&queue, "zz-scan");
    // No tasks.json at all: unlisted files run oldest first, the good one is newest.
    // A transcode among them is left alone.
    let transcode = queue.layout().file(TaskState::Queued, "t-transcode");
    fs::write(&transcode, b"not even json").unwrap();

    let claim = queue.next(|_| true).unwrap();
    let rejected = queue.take_rejected();
    assert_eq!(claim.unwrap().id(), "zz-scan");
    assert_eq!(rejected.len(), cases.len());
    for case in &cases {
        let found = rejected.iter().find(|r| r.task_id == id_of(case)).unwrap();
        check_failed(&queue, case, &found.message);
    }
    let queued: Vec<_> = fs::read_dir(queue.layout().dir(TaskState::Queued))
        .unwrap()
        .collect();
    assert_eq!(queued.len(), 1);
    assert!(transcode.exists());
    assert!(queue.next(|_| true).unwrap().is_none());
    assert!(queue.take_rejected().is_empty());
}

#[test]
fn a_bad_task_left_in_progress_is_recovered_then_failed() {
    // A crash (of this or another daemon) left a broken file in in_progress/.
    let tmp = tempfile::tempdir().unwrap();
    let queue = open(tmp.path());
    fs::write(
        queue.layout().file(TaskState::InProgress, "x-rip"),
        b"{broken",
    )
    .unwrap();
    let old = SystemTime::now() - Duration::from_secs(600);
    fs::File::options()
        .write(true)
        .open(queue.layout().file(TaskState::InProgress, "x-rip"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let report = queue.recover().unwrap();
    assert_eq!(report.requeued, ["x-rip"]);
    let claim = queue.next(|_| true).unwrap();
    let rejected = queue.take_rejected();
    assert!(claim.is_none());
    assert_eq!(rejected.len(), 1);
    assert!(
        rejected[0]
            .result
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("not valid JSON")
    );
}

#[test]
fn a_task_file_still_being_written_is_waited_for_not_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let queue = open(tmp.path());
    let path = queue.layout().file(TaskState::Queued, "a-scan");
    fs::write(&path, br#"{"id": "a-scan", "ty"#).unwrap();
    let claim = queue.next(|_| true).unwrap();
    let rejected = queue.take_rejected();
    assert!(claim.is_none() && rejected.is_empty());
    assert!(path.exists());
    fs::write(&path, br#"{"id": "a-scan", "type": "scan"}"#).unwrap();
    assert_eq!(queue.next(|_| true).unwrap().unwrap().id(), "a-scan");

    // A writer that died half-way: failed once the file has settled.
    let path = queue.layout().file(TaskState::Queued, "b-scan");
    fs::write(&path, br#"{"id": "b-scan", "ty"#).unwrap();
    let old = SystemTime::now() - Duration::from_secs(10);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert!(queue.next(|_| true).unwrap().is_none());
    let rejected = queue.take_rejected();
    assert_eq!(rejected.len(), 1);
    let message = &rejected[0].result.error.as_ref().unwrap().message;
    assert!(message.contains("not valid JSON (EOF"), "{message}");

    // Written by a host whose clock runs an hour ahead: it would look fresh forever.
    let path = queue.layout().file(TaskState::Queued, "c-scan");
    fs::write(&path, br#"{"id": "c-scan", "ty"#).unwrap();
    let ahead = SystemTime::now() + Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(ahead)
        .unwrap();
    assert!(queue.next(|_| true).unwrap().is_none());
    assert_eq!(queue.take_rejected().len(), 1, "failed, not waited for");
}
