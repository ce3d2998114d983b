#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The queue rules of SPEC §4 as the real `amphigory daemon` process lives them: tasks
//! are written into the queue directory the way the webapp writes them, and the proof is
//! in the result files, the queue directories and the daemon's log. Each test has its own
//! temporary root, daemon and simulated drive (`support::daemon`). The file-level rules
//! (every ordering corner, the 20-odd bad inputs) are in `queue_*.rs`.

mod support;

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use amphigory::queue::{NewTask, TaskInput, TaskState};
use serde_json::{Value, json};
use support::daemon::{DaemonSpec, Rig, WAIT, names_in, started_ids, wait_for};

/// Sizes of the `demo-bluray` titles these tests rip (its `TINFO:<n>,11`).
const TITLE_2_BYTES: u64 = 1_987_654_656;
const TITLE_6_BYTES: u64 = 214_958_080;
const TITLE_7_BYTES: u64 = 201_326_592;

/// Sets a file's mtime `age` into the past.
fn age_file(path: &Path, age: Duration) {
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

/// A successful scan of `demo-bluray`.
fn check_scan(result: &Value, id: &str) {
    assert_eq!(result["task_id"], id, "{result:#}");
    assert_eq!(result["type"], "scan", "{result:#}");
    assert_eq!(result["status"], "success", "{result:#}");
    assert!(result["started_at"].is_string() && result["completed_at"].is_string());
    let tracks = result["result"]["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 8, "{result:#}");
    assert_eq!(tracks[7]["size_bytes"], TITLE_7_BYTES);
}

/// A successful rip of `track` into `dir/filename` (SPEC §4.2, both shapes of `result`),
/// with the whole file there and nothing hidden left beside it.
fn check_rip(result: &Value, id: &str, track: u32, file: &Path, size: u64) {
    let dir = file.parent().unwrap();
    let filename = file.file_name().unwrap().to_str().unwrap();
    assert_eq!(result["task_id"], id, "{result:#}");
    assert_eq!(result["type"], "rip", "{result:#}");
    assert_eq!(result["status"], "success", "{result:#}");
    assert_eq!(result["source"]["track_number"], track, "{result:#}");
    let makemkv_name = format!("title_t{track:02}.mkv");
    assert_eq!(
        result["source"]["makemkv_track_name"],
        makemkv_name.as_str()
    );
    let out = &result["result"];
    assert_eq!(out["output_path"], file.to_str().unwrap(), "{result:#}");
    assert_eq!(out["size_bytes"], size, "{result:#}");
    let destination = &out["destination"];
    assert_eq!(
        destination["directory"],
        format!("{}/", dir.display()).as_str()
    );
    assert!(destination["directory"].as_str().unwrap().ends_with('/'));
    assert_eq!(destination["filename"], filename);
    assert_eq!(destination["size_bytes"], size);
    assert_eq!(fs::metadata(file).unwrap().len(), size);
    assert_eq!(
        names_in(dir),
        vec![filename.to_owned()],
        "only the rip in {dir:?}"
    );
}

/// The webapp's own work, which the daemon must never touch: a transcode queued (listed
/// first) and one in progress with a long expired lease and a seed-style id (its type
/// only in the file). Returns each file with its bytes.
fn plant_webapp_tasks(rig: &Rig) -> [(std::path::PathBuf, &'static [u8]); 2] {
    let planted: [(TaskState, &str, &'static [u8]); 2] = [
        (
            TaskState::Queued,
            "20251227T143052.123456-transcode",
            br#"{"id":"20251227T143052.123456-transcode","type":"transcode","input":"/x.mkv"}"#,
        ),
        (
            TaskState::InProgress,
            "20251221-143045-009",
            br#"{"id":"20251221-143045-009","type":"transcode","created_at":"2025-12-21T14:30:45"}"#,
        ),
    ];
    planted.map(|(state, id, bytes)| {
        rig.put_bytes(state, id, bytes);
        let path = rig.path(state, id);
        age_file(&path, Duration::from_secs(3600));
        (path, bytes)
    })
}

/// A rip in the seed's shape (`output` object) under a seed-style id.
fn put_seed_rip(rig: &Rig, id: &str, dir: &Path) {
    rig.put_raw(id, &json!({
        "id": id, "type": "rip", "created_at": "2025-12-21T14:30:45Z",
        "track": {"number": 7, "expected_size_bytes": TITLE_7_BYTES, "expected_duration": "0:01:58"},
        "output": {"directory": format!("{}/", dir.display()), "filename": "Seed Movie (2004).mkv"},
    }));
}

/// A rip in the webapp's shape (`output` path string and `output_info`).
fn put_webapp_rip(rig: &Rig, id: &str, file: &Path) {
    let dir = file.parent().unwrap();
    let name = file.file_name().unwrap().to_str().unwrap();
    rig.put_raw(
        id,
        &json!({
            "id": id, "type": "rip", "created_at": "2025-12-27T14:30:53.000001", "input": null,
            "output": file.to_str().unwrap(),
            "track": {"number": 6, "expected_size_bytes": null, "expected_duration": null},
            "output_info": {"directory": format!("{}/", dir.display()), "filename": name},
            "disc_fingerprint": demo_fingerprint(),
        }),
    );
}

#[test]
fn scans_and_both_rip_shapes_complete_and_webapp_tasks_survive_restarts() {
    let rig = Rig::new();
    let webapp = plant_webapp_tasks(&rig);
    let [(queued_transcode, _), (running_transcode, _)] = &webapp;
    let scan = rig.enqueue_scan();
    let seed_scan = "20251221-143045-001";
    let task = json!({"id": seed_scan, "type": "scan", "created_at": "2025-12-21T14:30:45Z"});
    rig.put_raw(seed_scan, &task);
    let (seed_rip, web_rip) = ("20251221-143045-002", "20251227T143053.000001-rip");
    let seed_file = rig.out().join("Seed Movie (2004)/Seed Movie (2004).mkv");
    put_seed_rip(&rig, seed_rip, seed_file.parent().unwrap());
    let web_file = rig.out().join("Web Movie (2004)/Web Movie (2004).mkv");
    put_webapp_rip(&rig, web_rip, &web_file);
    let transcode = "20251227T143052.123456-transcode";
    rig.write_order(&[transcode, &scan, seed_scan, seed_rip, web_rip]);

    let mut daemon = rig.start("a");
    let ids = [scan, seed_scan.into(), seed_rip.into(), web_rip.into()];
    let results = rig.wait_results(&ids, WAIT);
    // A rip's temp directory goes once its result is written: wait for the claims to end.
    let running = running_transcode.file_name().unwrap().to_str().unwrap();
    rig.wait_names(TaskState::InProgress, &[running.to_owned()]);
    check_scan(&results[&ids[0]], &ids[0]);
    check_scan(&results[seed_scan], seed_scan);
    check_rip(&results[seed_rip], seed_rip, 7, &seed_file, TITLE_7_BYTES);
    assert_eq!(results[seed_rip]["source"]["size_bytes"], TITLE_7_BYTES);
    check_rip(&results[web_rip], web_rip, 6, &web_file, TITLE_6_BYTES);
    assert_eq!(
        results[web_rip]["source"]["disc_fingerprint"],
        demo_fingerprint().as_str()
    );
    assert!(rig.names(TaskState::Failed).is_empty());
    assert_eq!(started_ids(&daemon.log_lines()), ids, "queue order");

    // A crash, a recovery, and two clean restarts later the webapp's tasks are as they were.
    daemon.kill9();
    for _ in 0..2 {
        let mut again = rig.start("a");
        again.stop();
        let started = started_ids(&again.log_lines());
        assert!(started.is_empty(), "{}", again.log_text());
    }
    for (path, bytes) in &webapp {
        assert_eq!(&fs::read(path).unwrap(), bytes, "{path:?}");
    }
    assert_eq!(rig.names(TaskState::InProgress), [running]);
    let queued = queued_transcode.file_name().unwrap().to_str().unwrap();
    assert_eq!(rig.names(TaskState::Queued), [queued]);
    assert_eq!(rig.names(TaskState::Complete).len(), 4);
}

#[test]
fn a_task_waits_for_its_input_task_result() {
    let rig = Rig::new();
    let (base, base_file) = rig.enqueue_rip(7, "Dependency Base");
    let mut after_base = NewTask::scan();
    after_base.input = Some(TaskInput::Task(base.clone()));
    let dependent = rig.queue().enqueue(&after_base).unwrap();
    // An input nobody has produced yet (the webapp's own task, say).
    let missing = "20251227T120000.000000-transcode";
    let mut after_missing = NewTask::scan();
    after_missing.input = Some(TaskInput::Task(missing.into()));
    let waiting = rig.queue().enqueue(&after_missing).unwrap();
    // Both dependents listed first: only their inputs hold them back.
    rig.write_order(&[&waiting, &dependent, &base]);

    let daemon = rig.start("a");
    let results = rig.wait_results(&[base.clone(), dependent.clone()], WAIT);
    rig.wait_names(TaskState::InProgress, &[]);
    check_rip(&results[&base], &base, 7, &base_file, TITLE_7_BYTES);
    check_scan(&results[&dependent], &dependent);
    assert_eq!(
        started_ids(&daemon.log_lines()),
        [base.clone(), dependent.clone()]
    );
    // Selection walked past `waiting` to claim the others: it is still queued.
    assert!(rig.path(TaskState::Queued, &waiting).exists());
    assert!(rig.result(&waiting).is_none());

    // The webapp finishes the input (and updates tasks.json, which wakes the daemon).
    let done = json!({"task_id": missing, "type": "transcode", "status": "success"});
    rig.put_bytes(
        TaskState::Complete,
        missing,
        &serde_json::to_vec(&done).unwrap(),
    );
    rig.write_order(&[&waiting, &dependent, &base, missing]);
    check_scan(&rig.wait_result(&waiting, WAIT), &waiting);
    assert_eq!(started_ids(&daemon.log_lines()), [base, dependent, waiting]);
}

#[test]
fn a_pause_marker_from_outside_holds_new_work_until_it_is_removed() {
    let rig = Rig::new();
    let daemon = rig.start("a");
    let marker = rig.tasks().join("PAUSED");
    fs::write(&marker, "2025-12-27T14:30:52+01:00\n").unwrap();
    let (paused_at, _) = daemon.wait_log_from(0, "queue paused", WAIT);

    let held = rig.enqueue_scan();
    // The daemon has looked at the queue since the task arrived (its status counts it) …
    let queued = rig.path(TaskState::Queued, &held);
    wait_for("the paused daemon to count the new task", WAIT, &[], || {
        (daemon.sync()["queue_depth"] == 1 || !queued.exists()).then_some(())
    });
    let status = daemon.sync();
    assert_eq!(status["paused"], true, "{status:#}");
    assert!(status["current_task"].is_null(), "{status:#}");
    // … and claimed nothing.
    assert!(queued.exists(), "claimed while paused");
    assert!(rig.names(TaskState::InProgress).is_empty());
    assert!(started_ids(&daemon.log_lines()).is_empty());

    fs::remove_file(&marker).unwrap();
    let (resumed_at, _) = daemon.wait_log_from(paused_at, "queue resumed", WAIT);
    check_scan(&rig.wait_result(&held, WAIT), &held);
    let started = daemon.log_index(&["starting scan task", &held]).unwrap();
    assert!(started > resumed_at, "{}", daemon.log_text());
}

#[test]
fn a_half_written_tasks_json_does_not_stop_the_queue() {
    let rig = Rig::new();
    let daemon = rig.start("a");
    let (a, b) = ("20251227T150000.000001-scan", "20251227T150000.000002-scan");
    // Caught mid-write by the daemon: it retries, then says so and goes on.
    fs::write(
        rig.tasks().join("tasks.json"),
        format!("[\"{a}\", \"2025122"),
    )
    .unwrap();
    daemon.wait_log("tasks.json is not a JSON array", WAIT);
    for id in [a, b] {
        rig.put_raw(
            id,
            &json!({"id": id, "type": "scan", "created_at": "2025-12-27T15:00:00"}),
        );
    }
    let results = rig.wait_results(&[a.into(), b.into()], WAIT);
    check_scan(&results[a], a);
    check_scan(&results[b], b);
    // The webapp finishes its write; the next task is listed normally.
    let c = rig.enqueue_scan();
    assert_eq!(
        rig.order(),
        std::slice::from_ref(&c),
        "the enqueue rebuilt the order"
    );
    check_scan(&rig.wait_result(&c, WAIT), &c);
    assert_eq!(
        started_ids(&daemon.log_lines()),
        [a.to_owned(), b.into(), c]
    );
}

#[test]
fn a_queued_file_missing_from_tasks_json_runs_after_the_listed_ones() {
    let rig = Rig::new();
    let first = rig.enqueue_scan();
    let unlisted = "20251227T150000.000000-scan";
    rig.put_raw(unlisted, &json!({"id": unlisted, "type": "scan"}));
    let last = rig.enqueue_scan();
    assert_eq!(rig.order(), [first.clone(), last.clone()]);

    let daemon = rig.start("a");
    let ids = [first.clone(), last.clone(), unlisted.into()];
    let results = rig.wait_results(&ids, WAIT);
    for id in &ids {
        check_scan(&results[id], id);
    }
    // The log is read on a thread of its own: it may trail the results by a line.
    let started = wait_for("three tasks started in the log", WAIT, &[], || {
        let started = started_ids(&daemon.log_lines());
        (started.len() == 3).then_some(started)
    });
    assert_eq!(started, [first, last, unlisted.into()]);
}

#[test]
fn sigterm_mid_rip_leaves_the_queue_consistent_and_a_restart_finishes_it() {
    let rig = Rig::new();
    let (id, file) = rig.enqueue_rip(2, "Graceful");
    let movie = file.parent().unwrap().to_owned();
    // ~2 GB at 100 MB/s: still ripping when the 10 s shutdown grace runs out.
    let slow = DaemonSpec {
        sim_rate: 100.0,
        ..DaemonSpec::new("a")
    };
    let mut daemon = rig.start_with(&slow);
    // The claim's temp directory: `.amphigory-<id>+<claim nonce>`.
    let temp_prefix = format!(".amphigory-{id}+");
    wait_for("the rip to be writing its file", WAIT, &[], || {
        let temp = fs::read_dir(&movie).ok()?.flatten().find(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&temp_prefix))
        })?;
        fs::metadata(temp.path().join("title_t02.mkv"))
            .is_ok_and(|m| m.len() > 0)
            .then_some(())
    });
    assert_eq!(rig.sim_pids().len(), 1);

    daemon.stop();
    assert!(
        daemon.log_index(&["task requeued", &id]).is_some(),
        "{}",
        daemon.log_text()
    );
    assert_eq!(rig.names(TaskState::Queued), vec![format!("{id}.json")]);
    assert!(rig.names(TaskState::InProgress).is_empty());
    assert!(rig.result(&id).is_none());
    assert!(
        names_in(&movie).is_empty(),
        "no partial output, no temp dir"
    );
    assert!(names_in(&rig.state_dir("a").join("queue/claims")).is_empty());
    assert!(
        rig.sim_pids().is_empty(),
        "makemkvcon stopped with the daemon"
    );

    let _again = rig.start("a");
    let result = rig.wait_result(&id, WAIT);
    rig.wait_names(TaskState::InProgress, &[]);
    check_rip(&result, &id, 2, &file, TITLE_2_BYTES);
}

#[test]
fn a_poison_task_fails_with_invalid_task_and_the_next_good_one_runs() {
    let rig = Rig::new();
    let garbage = "20251227T160000.000001-scan";
    rig.put_bytes(TaskState::Queued, garbage, b"{not json");
    // Settled, not a file still being written.
    age_file(
        &rig.path(TaskState::Queued, garbage),
        Duration::from_secs(60),
    );
    let escape = "20251227T160000.000002-rip";
    let mut task = json!({"id": escape, "type": "rip", "track": {"number": 7}});
    task["output_info"] =
        json!({"directory": format!("{}/", rig.out().display()), "filename": "../../.bashrc"});
    rig.put_raw(escape, &task);
    let good = rig.enqueue_scan();
    rig.write_order(&[garbage, escape, &good]);

    let mut daemon = rig.start("a");
    let results = rig.wait_results(&[garbage.into(), escape.into(), good.clone()], WAIT);
    for (id, kind, message) in [
        (garbage, "scan", "not valid JSON"),
        (
            escape,
            "rip",
            "`output_info.filename` \"../../.bashrc\" contains '/'",
        ),
    ] {
        let result = &results[id];
        assert_eq!(result["type"], kind, "{result:#}");
        assert_eq!(result["status"], "failed", "{result:#}");
        assert_eq!(result["error"]["code"], "INVALID_TASK", "{result:#}");
        let text = result["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{text}");
        let copy: Value =
            serde_json::from_slice(&fs::read(rig.path(TaskState::Failed, id)).unwrap()).unwrap();
        assert_eq!(copy["error"]["code"], "INVALID_TASK");
    }
    assert_eq!(results[escape]["id"], Value::Null, "results are not merged");
    check_scan(&results[&good], &good);
    assert_eq!(started_ids(&daemon.log_lines()), [good]);
    rig.wait_names(TaskState::InProgress, &[]);
    assert!(rig.hidden_in_out().is_empty());
    daemon.stop();
}

/// The fingerprint of the simulated drives' `demo-bluray` (a task for that disc carries it).
fn demo_fingerprint() -> String {
    amphigory::sim::disc_fingerprint("demo-bluray").unwrap()
}
