//! The local control socket (SPEC §8): newline-delimited JSON requests, responses and
//! event envelopes.
//!
//! - this module: requests ([`ControlRequest`]) and the response frame
//!   ([`ControlResponse`], read back as [`ReplyHead`] plus a reply type).
//! - [`replies`]: the body of every `ok` response, one type per action.
//! - [`events`]: the envelopes a subscriber receives.

pub mod events;
pub mod replies;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use events::{Envelope, MessageType};
pub use replies::{
    DaemonStatus, DrivesReply, EjectReply, LabelReply, PauseReply, Reply, ResumeReply, RunningTask,
    StatusReply, StopReply, SubscribeReply, TaskIdReply, TaskRow, TaskRun, TaskState, TasksReply,
    VersionReply, VolumeSpace,
};

use crate::task::{OutputInfo, TaskType, TrackSpec};

/// Protocol number; the CLI refuses a daemon speaking another one.
pub const PROTOCOL_VERSION: u32 = 1;

/// `keep_awake` in the `status` reply (SPEC §11.1): whether the daemon holds the
/// machine awake now. Absent from older daemons' replies, so readers default it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepAwakeStatus {
    /// `keep_awake: false` in daemon.yaml turns it off.
    pub enabled: bool,
    /// An inhibitor (Linux) or power assertion (macOS) is held right now.
    pub held: bool,
    /// What holds it: `logind`, `iokit`, or `none` where there is no backend.
    pub backend: String,
    /// Why it is not held although tasks run (no system bus, logind refused…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A request as it arrives: `{"action": "...", "args": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawRequest {
    /// The action name.
    pub action: String,
    /// Its arguments (may be absent).
    #[serde(default)]
    pub args: Value,
}

/// What to enqueue, as `amphigory enqueue` sends it; the daemon assigns id and time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnqueueArgs {
    /// `scan` or `rip`.
    #[serde(rename = "type")]
    pub task_type: Option<TaskType>,
    /// Target drive.
    #[serde(default)]
    pub drive: Option<String>,
    /// Rip: which title.
    #[serde(default)]
    pub track: Option<TrackSpec>,
    /// Rip: where.
    #[serde(default)]
    pub output_info: Option<OutputInfo>,
    /// Disc the task is for.
    #[serde(default)]
    pub disc_fingerprint: Option<String>,
}

/// A request after its arguments were checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", content = "args", rename_all = "snake_case")]
pub enum ControlRequest {
    /// Daemon, drives, current task, queue depth, pause state.
    Status,
    /// Tasks in order with their state.
    Tasks,
    /// The drive registry.
    Drives,
    /// Pause after the current task, or now.
    Pause {
        /// Stop the running task now and requeue it.
        #[serde(default)]
        now: bool,
    },
    /// Resume the queue.
    Resume,
    /// Cancel a task (the running one when absent).
    Cancel {
        /// Which task.
        #[serde(default)]
        task_id: Option<String>,
    },
    /// Name a drive.
    Label {
        /// Drive id or device.
        drive_id: String,
        /// The new label.
        label: String,
    },
    /// Eject a disc.
    Eject {
        /// Which drive (the only one when absent).
        #[serde(default)]
        drive_id: Option<String>,
    },
    /// Write a task as the webapp would.
    Enqueue(EnqueueArgs),
    /// Shut the daemon down cleanly.
    Stop,
    /// Receive events.
    Subscribe {
        /// Only events of this task (and daemon-wide ones).
        #[serde(default)]
        task_id: Option<String>,
        /// Replay up to the last 100 events first.
        #[serde(default)]
        replay: bool,
    },
    /// Daemon version and protocol number.
    Version,
}

/// Why a request was refused before it was carried out; the text is for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No such action.
    #[error("unknown action '{0}'")]
    UnknownAction(String),
    /// The action exists but its arguments do not fit it.
    #[error("bad arguments for '{action}': {reason}")]
    BadArguments {
        /// The action.
        action: String,
        /// What serde said.
        reason: String,
    },
}

impl ControlRequest {
    /// Checks a raw request's action and arguments.
    pub fn from_raw(raw: RawRequest) -> Result<Self, RequestError> {
        let args = match raw.args {
            Value::Null => Value::Object(Map::new()),
            other => other,
        };
        let action = raw.action.clone();
        let unit = matches!(
            action.as_str(),
            "status" | "tasks" | "drives" | "resume" | "stop" | "version"
        );
        let mut obj = Map::new();
        obj.insert("action".into(), Value::String(raw.action));
        if !unit {
            obj.insert("args".into(), args);
        }
        serde_json::from_value(Value::Object(obj)).map_err(|e| {
            // serde says which variant it did not know only in its message.
            if e.to_string().starts_with("unknown variant") {
                RequestError::UnknownAction(action)
            } else {
                RequestError::BadArguments {
                    action,
                    reason: e.to_string(),
                }
            }
        })
    }
}

/// A response: `{"ok": true, ...the reply's fields}` or `{"ok": false, "error": "..."}`.
/// Only the daemon writes it; readers take the [`ReplyHead`] and then the reply type
/// the request they sent calls for (several replies share a shape, so a response alone
/// does not say which it is).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlResponse {
    /// Did it work?
    pub ok: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The reply's fields, flattened beside `ok` (none in a refusal).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub body: Option<Reply>,
}

impl ControlResponse {
    /// `{"ok": true}` plus the fields of `reply`.
    pub fn ok(reply: impl Into<Reply>) -> Self {
        Self {
            ok: true,
            error: None,
            body: Some(reply.into()),
        }
    }

    /// `{"ok": false, "error": message}`.
    pub fn err(message: impl Into<String>) -> Self {
        Self {
            ok: false,
            error: Some(message.into()),
            body: None,
        }
    }
}

/// What every response starts with: whether it worked, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyHead {
    /// Did it work?
    pub ok: bool,
    /// Why not (absent when it worked).
    #[serde(default)]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ControlRequest, String> {
        ControlRequest::from_raw(serde_json::from_str(text).unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn requests_parse_with_and_without_args() {
        assert_eq!(parse(r#"{"action":"status"}"#), Ok(ControlRequest::Status));
        assert_eq!(
            parse(r#"{"action":"status","args":{}}"#),
            Ok(ControlRequest::Status)
        );
        assert_eq!(
            parse(r#"{"action":"pause"}"#),
            Ok(ControlRequest::Pause { now: false })
        );
        assert_eq!(
            parse(r#"{"action":"pause","args":{"now":true}}"#),
            Ok(ControlRequest::Pause { now: true })
        );
        assert_eq!(
            parse(r#"{"action":"subscribe","args":{"replay":true}}"#),
            Ok(ControlRequest::Subscribe {
                task_id: None,
                replay: true
            })
        );
        let e = parse(r#"{"action":"fly"}"#).unwrap_err();
        assert!(e.contains("unknown action 'fly'"), "{e}");
        let e = parse(r#"{"action":"pause","args":{"now":"yes"}}"#).unwrap_err();
        assert!(e.contains("bad arguments for 'pause'"), "{e}");
        let e = parse(r#"{"action":"label","args":{"drive_id":"x"}}"#).unwrap_err();
        assert!(e.contains("label"), "{e}");
    }

    #[test]
    fn responses_flatten_their_body() {
        let resumed = ResumeReply {
            paused: false,
            changed: true,
        };
        let v = serde_json::to_value(ControlResponse::ok(resumed)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"ok":true,"paused":false,"changed":true})
        );
        let v = serde_json::to_value(ControlResponse::err("nope")).unwrap();
        assert_eq!(v, serde_json::json!({"ok":false,"error":"nope"}));
    }
}
