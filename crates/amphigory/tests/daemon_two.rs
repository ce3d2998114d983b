#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Two daemon processes on one queue directory (SPEC §4: "two daemons on one queue never
//! run the same task"): separate state directories, separate daemon ids, each with its
//! own simulated drives (four each, so the 200 scans take seconds rather than minutes and
//! each daemon also races itself). Both are woken by every task file, so every claim is
//! contested; the atomic rename must hand each task to exactly one of them.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use amphigory::queue::{NewTask, TaskState};
use support::daemon::{DaemonSpec, Rig, duplicates, started_ids};

const TASKS: usize = 200;

#[test]
fn two_daemons_on_one_queue_run_two_hundred_tasks_exactly_once() {
    let rig = Rig::new();
    let spec = |name: &str| DaemonSpec {
        drives: 4,
        ..DaemonSpec::new(name)
    };
    let mut a = rig.start_with(&spec("a"));
    let mut b = rig.start_with(&spec("b"));
    let began = Instant::now();
    // Written while both run, as the webapp would. Every drive of both daemons holds a
    // copy of one disc, so a scan for that disc may run on any of the eight.
    let fingerprint = amphigory::sim::disc_fingerprint("demo-bluray").unwrap();
    let scan = NewTask {
        disc_fingerprint: Some(fingerprint),
        ..NewTask::scan()
    };
    let ids: Vec<String> = (0..TASKS)
        .map(|_| rig.queue().enqueue(&scan).unwrap())
        .collect();
    let results = rig.wait_results(&ids, Duration::from_secs(180));
    rig.wait_names(TaskState::InProgress, &[]);
    let took = began.elapsed();
    a.stop();
    b.stop();

    // Exactly one result per task, each a successful scan of that task.
    let expected: Vec<String> = ids.iter().map(|id| format!("{id}.json")).collect();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(rig.names(TaskState::Complete), sorted);
    for (id, result) in &results {
        assert_eq!(result["task_id"], id.as_str(), "{result:#}");
        assert_eq!(result["status"], "success", "{result:#}");
        assert_eq!(result["type"], "scan", "{result:#}");
    }
    assert!(rig.names(TaskState::Failed).is_empty());
    assert!(rig.names(TaskState::Queued).is_empty());

    // No task started twice: each id appears once across both daemons' logs.
    let by_a = started_ids(&a.log_lines());
    let by_b = started_ids(&b.log_lines());
    let all: Vec<String> = by_a.iter().chain(&by_b).cloned().collect();
    assert_eq!(duplicates(&all), Vec::<String>::new(), "started twice");
    assert_eq!(all.len(), TASKS);
    let started: BTreeSet<&String> = all.iter().collect();
    assert_eq!(started, ids.iter().collect::<BTreeSet<_>>());
    assert!(
        !by_a.is_empty() && !by_b.is_empty(),
        "both daemons work: a ran {}, b ran {}",
        by_a.len(),
        by_b.len()
    );
    rig.wait_no_sims(Duration::from_secs(5));
    println!(
        "two daemons: {TASKS} scans in {took:.1?}; daemon a ran {}, daemon b ran {}",
        by_a.len(),
        by_b.len()
    );
}
