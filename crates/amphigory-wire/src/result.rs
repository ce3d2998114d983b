//! Result files, `complete/<id>.json` and `failed/<id>.json` (SPEC §4.2).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::TaskError;
use crate::task::TaskType;

/// `success` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultStatus {
    /// The task did what it was asked.
    Success,
    /// The task failed; `error` says why.
    Failed,
}

/// What a rip read: the disc and title it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RipSource {
    /// Fingerprint of the disc, when known.
    #[serde(default)]
    pub disc_fingerprint: Option<String>,
    /// MakeMKV title index.
    pub track_number: u32,
    /// The file name MakeMKV chose (`TINFO` attribute 27).
    #[serde(default)]
    pub makemkv_track_name: Option<String>,
    /// Duration `H:MM:SS`, when known.
    #[serde(default)]
    pub duration: Option<String>,
    /// Size MakeMKV announced for the title, when known.
    #[serde(default)]
    pub size_bytes: Option<u64>,
}

/// Where a rip's file ended up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    /// Directory, ending in `/`.
    pub directory: String,
    /// File name.
    pub filename: String,
    /// Size of the written file.
    pub size_bytes: u64,
}

/// The `result` of a successful rip.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RipOutput {
    /// Full path of the written file.
    pub output_path: String,
    /// Size of the written file.
    pub size_bytes: u64,
    /// The same, split as the seed design wants it.
    pub destination: Destination,
    /// Checks made on the finished file (size and duration against expectations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// What the daemon checked of a finished rip (SPEC §11.2): its size against the expected
/// size (within 5 %), its Matroska header, and the duration the header gives against the
/// scan's (within 2 s). `None` where nothing was expected to compare with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Size expected: the task's, else the scan's.
    pub expected_size_bytes: Option<u64>,
    /// Size of the file written.
    pub actual_size_bytes: u64,
    /// Whether the sizes agree within 5 %.
    pub size_ok: Option<bool>,
    /// Duration expected, `H:MM:SS`: the task's, else the scan's.
    pub expected_duration: Option<String>,
    /// Duration the file's Matroska header gives, `H:MM:SS`.
    pub actual_duration: Option<String>,
    /// Whether the durations agree within 2 s.
    pub duration_ok: Option<bool>,
    /// Whether the file is a readable Matroska file (EBML doctype `matroska` or `webm`,
    /// a Segment with its Info).
    pub container_ok: bool,
}

/// A result file. `result` holds a [`RipOutput`] for rips and a
/// [`ScanResult`](crate::scan::ScanResult) for scans, kept as JSON so one type serves both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// Id of the task.
    pub task_id: String,
    /// Type of the task; mandatory (the webapp ignores results without it).
    #[serde(rename = "type")]
    pub task_type: TaskType,
    /// Outcome.
    pub status: ResultStatus,
    /// RFC 3339 with offset.
    #[serde(default)]
    pub started_at: Option<String>,
    /// RFC 3339 with offset.
    #[serde(default)]
    pub completed_at: Option<String>,
    /// Whole seconds between start and completion.
    #[serde(default)]
    pub duration_seconds: Option<u64>,
    /// Rips: where the data came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<RipSource>,
    /// Success payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn the_spec_rip_result_round_trips() {
        let text = r#"{"task_id":"20251227T143052.123456-rip","type":"rip","status":"success",
         "started_at":"2025-12-27T14:30:52+00:00","completed_at":"2025-12-27T14:45:20+00:00","duration_seconds":868,
         "source":{"disc_fingerprint":"br-abc","track_number":0,"makemkv_track_name":"title_t00.mkv",
                   "duration":"1:39:56","size_bytes":11397666816},
         "result":{"output_path":"/media/ripped/M/M.mkv","size_bytes":11397666816,
                   "destination":{"directory":"/media/ripped/M/","filename":"M.mkv","size_bytes":11397666816}}}"#;
        let r: TaskResult = serde_json::from_str(text).unwrap();
        assert_eq!(r.status, ResultStatus::Success);
        let out: RipOutput = serde_json::from_value(r.result.clone().unwrap()).unwrap();
        assert_eq!(out.destination.directory, "/media/ripped/M/");
        let back = serde_json::to_value(&r).unwrap();
        let orig: Value = serde_json::from_str(text).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn a_failed_result_carries_the_error() {
        let text = r#"{"task_id":"a-scan","type":"scan","status":"failed","started_at":"x","completed_at":"y",
          "duration_seconds":3,"error":{"code":"DISC_UNREADABLE","message":"m","detail":"d"}}"#;
        let r: TaskResult = serde_json::from_str(text).unwrap();
        assert_eq!(r.error.unwrap().code, ErrorCode::DiscUnreadable);
    }
}
