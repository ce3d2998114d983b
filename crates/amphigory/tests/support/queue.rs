//! Helpers for the file-level queue tests: claim and finish tasks the way the engine
//! does, and age files to play with leases.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use amphigory::queue::{Claim, Queue};
use amphigory_wire::result::{ResultStatus, TaskResult};
use serde_json::json;

/// A successful result for `claim`.
pub fn success(claim: &Claim) -> TaskResult {
    TaskResult {
        task_id: claim.id().to_owned(),
        task_type: claim.task().task_type(),
        status: ResultStatus::Success,
        started_at: Some(claim.claimed_at().to_owned()),
        completed_at: Some(claim.claimed_at().to_owned()),
        duration_seconds: Some(0),
        source: None,
        result: Some(json!({"disc_name": "X", "tracks": []})),
        error: None,
    }
}

/// The next runnable task, asserting that selection rejected nothing on the way.
pub fn take(queue: &Queue) -> Option<Claim> {
    let claim = queue.next(|_| true).unwrap();
    let rejected = queue.take_rejected();
    assert!(rejected.is_empty(), "{rejected:?}");
    claim
}

/// Claims and finishes everything runnable; returns the ids in the order they ran.
pub fn drain(queue: &Queue) -> Vec<String> {
    let mut ran = Vec::new();
    while let Some(claim) = take(queue) {
        queue.finish(&claim, &success(&claim)).unwrap();
        ran.push(claim.id().to_owned());
    }
    ran
}

/// Sets the modification time of `path` to `age` ago.
pub fn set_age(path: &Path, age: Duration) {
    let file = File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}
