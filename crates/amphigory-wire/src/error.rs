//! Error codes (SPEC §5) and the error object written into failed results.

use serde::{Deserialize, Serialize};

/// Why a task failed. Serialized as `SCREAMING_SNAKE_CASE`, e.g. `DISC_EJECTED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The disc was removed during the operation.
    DiscEjected,
    /// MakeMKV cannot read or open the disc.
    DiscUnreadable,
    /// Any other MakeMKV failure.
    MakemkvFailed,
    /// No progress within the stall limit, or over the hard limit.
    MakemkvTimeout,
    /// No space, no permission, or a missing mount.
    OutputWriteFailed,
    /// A user stopped the task.
    TaskCancelled,
    /// The task file is malformed or unsafe.
    InvalidTask,
    /// No disc in the target drive.
    NoDisc,
    /// The task was interrupted too many times.
    RetriesExhausted,
    /// A bug; `detail` says what happened.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The wire spelling, e.g. `"DISC_EJECTED"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DiscEjected => "DISC_EJECTED",
            Self::DiscUnreadable => "DISC_UNREADABLE",
            Self::MakemkvFailed => "MAKEMKV_FAILED",
            Self::MakemkvTimeout => "MAKEMKV_TIMEOUT",
            Self::OutputWriteFailed => "OUTPUT_WRITE_FAILED",
            Self::TaskCancelled => "TASK_CANCELLED",
            Self::InvalidTask => "INVALID_TASK",
            Self::NoDisc => "NO_DISC",
            Self::RetriesExhausted => "RETRIES_EXHAUSTED",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `error` object of a failed result: a message for a person, detail for a developer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// One sentence for a person ("Disc was ejected during rip").
    pub message: String,
    /// What a developer needs: exit status, last MakeMKV messages, stderr tail.
    #[serde(default)]
    pub detail: Option<String>,
}

impl TaskError {
    /// Builds an error object.
    pub fn new(code: ErrorCode, message: impl Into<String>, detail: Option<String>) -> Self {
        Self {
            code,
            message: message.into(),
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_fall_back() {
        let e: TaskError = serde_json::from_str(
            r#"{"code":"DISC_EJECTED","message":"Disc was ejected during rip","detail":null}"#,
        )
        .unwrap();
        assert_eq!(e.code, ErrorCode::DiscEjected);
        let back = serde_json::to_value(&e).unwrap();
        assert_eq!(back["code"], "DISC_EJECTED");
        let e: TaskError =
            serde_json::from_str(r#"{"code":"SOMETHING_NEW","message":"x"}"#).unwrap();
        assert_eq!(e.code, ErrorCode::Unknown);
        assert_eq!(ErrorCode::RetriesExhausted.to_string(), "RETRIES_EXHAUSTED");
    }
}
