//! Building result files (SPEC §4.2) from what a run produced. Pure: timestamps come in
//! through [`RunClock`], so the shapes are testable.

use std::time::Instant;

use amphigory_wire::TaskError;
use amphigory_wire::result::{
    Destination, ResultStatus, RipOutput, RipSource, TaskResult, Verification,
};
use amphigory_wire::scan::{ScanResult, Track};
use amphigory_wire::task::TaskType;
use chrono::{DateTime, Local};

/// When a run started, on the wall clock (for the file) and the monotonic one (for the
/// duration, immune to clock changes).
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    started_at: DateTime<Local>,
    started: Instant,
}

impl RunClock {
    /// Starts now.
    pub fn start() -> Self {
        Self {
            started_at: Local::now(),
            started: Instant::now(),
        }
    }

    /// Seconds since the start, to the microsecond.
    pub fn elapsed_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn stamps(&self) -> (Option<String>, Option<String>, Option<u64>) {
        (
            Some(rfc3339(self.started_at)),
            Some(rfc3339(Local::now())),
            Some(self.started.elapsed().as_secs()),
        )
    }
}

pub use crate::units::{now_rfc3339, rfc3339};

/// A successful scan: `result` is the scan result of SPEC §6.3.
pub fn scan_success(task_id: &str, clock: &RunClock, scan: &ScanResult) -> TaskResult {
    let (started_at, completed_at, duration_seconds) = clock.stamps();
    TaskResult {
        task_id: task_id.to_owned(),
        task_type: TaskType::Scan,
        status: ResultStatus::Success,
        started_at,
        completed_at,
        duration_seconds,
        source: None,
        result: serde_json::to_value(scan).ok(),
        error: None,
    }
}

/// What a finished rip wrote.
#[derive(Debug, Clone)]
pub struct RipFacts<'a> {
    /// Title ripped.
    pub title: u32,
    /// Final file.
    pub output_path: &'a std::path::Path,
    /// Its size.
    pub size_bytes: u64,
    /// The name MakeMKV gave it.
    pub makemkv_name: Option<String>,
    /// Fingerprint of the disc.
    pub fingerprint: Option<String>,
    /// What the scan said of the title, when known.
    pub scanned: Option<&'a Track>,
    /// What the task said to expect.
    pub expected_size_bytes: Option<u64>,
    /// Expected duration text.
    pub expected_duration: Option<String>,
    /// What was checked of the file (SPEC §11.2).
    pub verification: Verification,
}

/// A successful rip, with the seed's `destination` and the webapp's `output_path`.
pub fn rip_success(task_id: &str, clock: &RunClock, facts: &RipFacts<'_>) -> TaskResult {
    let (started_at, completed_at, duration_seconds) = clock.stamps();
    let path = facts.output_path;
    let directory = path
        .parent()
        .map_or_else(String::new, |p| format!("{}/", p.display()));
    let filename = path
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let output = RipOutput {
        output_path: path.display().to_string(),
        size_bytes: facts.size_bytes,
        destination: Destination {
            directory,
            filename,
            size_bytes: facts.size_bytes,
        },
        verification: Some(facts.verification.clone()),
    };
    TaskResult {
        task_id: task_id.to_owned(),
        task_type: TaskType::Rip,
        status: ResultStatus::Success,
        started_at,
        completed_at,
        duration_seconds,
        source: Some(RipSource {
            disc_fingerprint: facts.fingerprint.clone(),
            track_number: facts.title,
            makemkv_track_name: facts
                .makemkv_name
                .clone()
                .or_else(|| facts.scanned.and_then(|t| t.makemkv_name.clone())),
            duration: facts
                .scanned
                .and_then(|t| t.duration.clone())
                .or_else(|| facts.expected_duration.clone()),
            size_bytes: facts
                .scanned
                .and_then(|t| t.size_bytes)
                .or(facts.expected_size_bytes),
        }),
        result: serde_json::to_value(output).ok(),
        error: None,
    }
}

/// A failed result of any type.
pub fn failure(
    task_id: &str,
    task_type: TaskType,
    clock: &RunClock,
    error: TaskError,
) -> TaskResult {
    let (started_at, completed_at, duration_seconds) = clock.stamps();
    TaskResult {
        task_id: task_id.to_owned(),
        task_type,
        status: ResultStatus::Failed,
        started_at,
        completed_at,
        duration_seconds,
        source: None,
        result: None,
        error: Some(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amphigory_wire::ErrorCode;

    #[test]
    fn a_rip_result_has_both_shapes_and_a_verification() {
        let path = std::path::Path::new("/media/ripped/M (2004)/M (2004).mkv");
        let facts = RipFacts {
            title: 0,
            output_path: path,
            size_bytes: 1000,
            makemkv_name: Some("title_t00.mkv".into()),
            fingerprint: Some("br-x".into()),
            scanned: None,
            expected_size_bytes: Some(1020),
            expected_duration: Some("1:45:00".into()),
            verification: Verification {
                size_ok: Some(true),
                ..Verification::default()
            },
        };
        let r = rip_success("a-rip", &RunClock::start(), &facts);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["type"], "rip");
        assert_eq!(v["status"], "success");
        assert_eq!(
            v["result"]["output_path"],
            "/media/ripped/M (2004)/M (2004).mkv"
        );
        assert_eq!(
            v["result"]["destination"]["directory"],
            "/media/ripped/M (2004)/"
        );
        assert_eq!(v["result"]["destination"]["filename"], "M (2004).mkv");
        assert_eq!(v["result"]["verification"]["size_ok"], true);
        assert_eq!(v["source"]["makemkv_track_name"], "title_t00.mkv");
        assert!(
            v["started_at"].as_str().unwrap().len() >= 25,
            "RFC 3339 with offset"
        );
    }

    #[test]
    fn a_failure_has_the_error_and_no_result() {
        let e = TaskError::new(ErrorCode::TaskCancelled, "Cancelled by the user", None);
        let v =
            serde_json::to_value(failure("a-scan", TaskType::Scan, &RunClock::start(), e)).unwrap();
        assert_eq!(v["error"]["code"], "TASK_CANCELLED");
        assert!(v.get("result").is_none());
        assert_eq!(v["type"], "scan");
    }
}
