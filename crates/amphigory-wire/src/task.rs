//! Task files as the webapp writes them into `queued/` (SPEC §4.1).
//!
//! Read leniently: every field beyond `id` and `type` is optional, unknown fields are kept
//! in `extra` (so a failed task can be copied to `failed/` with nothing dropped), and both
//! rip shapes found in the wild deserialize. Validation (safe paths, required fields per
//! type) belongs to the daemon's queue, which turns problems into `INVALID_TASK`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The kinds of task on the shared queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskType {
    /// Scan the disc (daemon-owned).
    Scan,
    /// Rip one title (daemon-owned).
    Rip,
    /// Transcode a rip (webapp-owned).
    Transcode,
    /// Ask for a disc to be inserted (webapp-owned).
    Insert,
    /// Anything else; never claimed by the daemon.
    #[serde(untagged)]
    Other(String),
}

impl TaskType {
    /// Parses a type name as it appears in `type` or an id suffix.
    pub fn from_name(name: &str) -> Self {
        match name {
            "scan" => Self::Scan,
            "rip" => Self::Rip,
            "transcode" => Self::Transcode,
            "insert" => Self::Insert,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire name, e.g. `"rip"`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Scan => "scan",
            Self::Rip => "rip",
            Self::Transcode => "transcode",
            Self::Insert => "insert",
            Self::Other(s) => s,
        }
    }

    /// True for the types the daemon runs (`scan`, `rip`).
    pub fn is_daemon_owned(&self) -> bool {
        matches!(self, Self::Scan | Self::Rip)
    }

    /// True for the types SPEC §4 names; unknown suffixes are not known types.
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Other(_))
    }
}

/// The type encoded in an id's suffix (`20251227T143052.123456-rip` → `Rip`), if the text
/// after the last `-` is a known type. Seed-style ids (`20251221-143045-001`) give `None`:
/// the reader must then look at the task's `type` field.
pub fn type_from_id(id: &str) -> Option<TaskType> {
    let suffix = id.rsplit_once('-').map(|(_, s)| s)?;
    let t = TaskType::from_name(suffix);
    t.is_known().then_some(t)
}

/// Which title to rip and what the webapp expects of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackSpec {
    /// MakeMKV title index (`TINFO` index, 0-based).
    pub number: u32,
    /// Expected output size, when the webapp knows it.
    #[serde(default)]
    pub expected_size_bytes: Option<u64>,
    /// Expected duration `H:MM:SS`, when known.
    #[serde(default)]
    pub expected_duration: Option<String>,
    /// Anything else the webapp put there.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Where a rip goes: a directory and a file name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputInfo {
    /// Destination directory (absolute; may end in `/`).
    #[serde(default)]
    pub directory: Option<String>,
    /// File name inside it (no `/`).
    #[serde(default)]
    pub filename: Option<String>,
}

/// The `output` field: an object (seed shape) or a full path string (webapp shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OutputField {
    /// A full output path.
    Path(String),
    /// `{directory, filename}`.
    Info(OutputInfo),
}

/// A task file from `queued/` or `in_progress/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskFile {
    /// Task id; equals the file name without `.json`.
    pub id: String,
    /// Task type.
    #[serde(rename = "type")]
    pub task_type: TaskType,
    /// When the webapp created it (with or without offset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Target drive (drive id or device), for multi-drive setups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drive: Option<String>,
    /// Id of a task whose result must exist first, or a path that must exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// Rip: which title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<TrackSpec>,
    /// Rip: where (object or path string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputField>,
    /// Rip: where (webapp shape; wins over `output`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_info: Option<OutputInfo>,
    /// Fingerprint of the disc the task is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disc_fingerprint: Option<String>,
    /// Every other field, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TaskFile {
    /// The output destination after applying precedence: `output_info`, then an `output`
    /// object, then a path string split into directory and file name. `None` when absent.
    pub fn destination(&self) -> Option<OutputInfo> {
        if let Some(info) = &self.output_info {
            return Some(info.clone());
        }
        match &self.output {
            Some(OutputField::Info(info)) => Some(info.clone()),
            Some(OutputField::Path(path)) => Some(split_output_path(path)),
            None => None,
        }
    }
}

/// Splits a full output path into `{directory (with trailing /), filename}`.
fn split_output_path(path: &str) -> OutputInfo {
    match path.rsplit_once('/') {
        Some((dir, file)) => OutputInfo {
            directory: Some(format!("{dir}/")),
            filename: Some(file.to_owned()),
        },
        None => OutputInfo {
            directory: None,
            filename: Some(path.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_seed_rip_shape() {
        let t: TaskFile = serde_json::from_str(
            r#"{"id":"20251227T143052.123456-rip","type":"rip","created_at":"2025-12-27T14:30:52",
             "track":{"number":0,"expected_size_bytes":11397666816,"expected_duration":"1:39:56"},
             "output":{"directory":"/media/ripped/The Polar Express (2004)/","filename":"The Polar Express (2004).mkv"}}"#,
        )
        .unwrap();
        assert_eq!(t.task_type, TaskType::Rip);
        assert_eq!(
            t.track.as_ref().unwrap().expected_size_bytes,
            Some(11_397_666_816)
        );
        let d = t.destination().unwrap();
        assert_eq!(
            d.directory.as_deref(),
            Some("/media/ripped/The Polar Express (2004)/")
        );
        assert_eq!(d.filename.as_deref(), Some("The Polar Express (2004).mkv"));
    }

    #[test]
    fn reads_the_webapp_rip_shape_and_output_info_wins() {
        let t: TaskFile = serde_json::from_str(
            r#"{"id":"x-rip","type":"rip","created_at":"2025-12-27T14:30:52Z","input":null,
             "output":"/host/ripped/Movie (2004)/Other.mkv",
             "track":{"number":3,"expected_size_bytes":null,"expected_duration":null},
             "output_info":{"directory":"/host/ripped/Movie (2004)/","filename":"Movie (2004).mkv"},
             "disc_fingerprint":"br-abc","title":"kept"}"#,
        )
        .unwrap();
        assert_eq!(t.input, None);
        let d = t.destination().unwrap();
        assert_eq!(d.filename.as_deref(), Some("Movie (2004).mkv"));
        assert_eq!(t.extra.get("title").and_then(Value::as_str), Some("kept"));
        let back = serde_json::to_value(&t).unwrap();
        assert_eq!(back["title"], "kept");
        assert_eq!(back["output"], "/host/ripped/Movie (2004)/Other.mkv");
    }

    #[test]
    fn a_string_output_is_a_full_path() {
        let t: TaskFile = serde_json::from_str(
            r#"{"id":"x-rip","type":"rip","output":"/host/ripped/M/M.mkv","track":{"number":0}}"#,
        )
        .unwrap();
        let d = t.destination().unwrap();
        assert_eq!(d.directory.as_deref(), Some("/host/ripped/M/"));
        assert_eq!(d.filename.as_deref(), Some("M.mkv"));
    }

    #[test]
    fn ids_give_their_type_and_seed_ids_do_not() {
        assert_eq!(
            type_from_id("20251227T143052.123456-rip"),
            Some(TaskType::Rip)
        );
        assert_eq!(
            type_from_id("20251227T143052.123456-transcode"),
            Some(TaskType::Transcode)
        );
        assert_eq!(type_from_id("20251221-143045-001"), None);
        assert_eq!(type_from_id("noseparator"), None);
        let t: TaskFile =
            serde_json::from_str(r#"{"id":"20251221-143045-001","type":"weird"}"#).unwrap();
        assert_eq!(t.task_type, TaskType::Other("weird".into()));
        assert!(!t.task_type.is_daemon_owned());
    }
}
