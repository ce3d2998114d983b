//! The bodies of the control socket's `ok` responses (SPEC §8), one type per action.
//! Each is flattened beside `"ok": true`; fields that some daemons leave out default
//! when read, so a reader never needs to poke at raw JSON.

use serde::{Deserialize, Serialize};

use super::KeepAwakeStatus;
use crate::drive::DriveStatus;
use crate::task::TaskType;
use crate::ws::NeededDisc;

/// `version`: the handshake every client does first. Read leniently: a field an odd
/// daemon leaves out defaults (protocol 0, which no client accepts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VersionReply {
    /// The daemon's version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// Its control protocol number.
    pub protocol: u32,
    /// `$USER@host` unless configured.
    pub daemon_id: String,
}

/// A task a drive is running, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningTask {
    /// Task id.
    pub task_id: String,
    /// Its type.
    pub task_type: TaskType,
    /// The drive running it.
    pub drive_id: String,
    /// Percent 0–100.
    pub percent: u8,
    /// Seconds left, once known.
    #[serde(default)]
    pub eta_seconds: Option<u64>,
    /// Bytes written, once known.
    #[serde(default)]
    pub current_size_bytes: Option<u64>,
    /// E.g. `"42.3 MB/s"`.
    #[serde(default)]
    pub speed: Option<String>,
}

/// The daemon's whole picture: the `status` snapshot, also sent with `subscribe`. Read
/// leniently (missing fields default), so a client can show what an odd daemon sends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DaemonStatus {
    /// `$USER@host` unless configured.
    pub daemon_id: String,
    /// Daemon version.
    pub version: String,
    /// Is the queue paused?
    pub paused: bool,
    /// Waiting daemon-owned tasks.
    pub queue_depth: usize,
    /// Every drive.
    pub drives: Vec<DriveStatus>,
    /// Tasks running now, one per busy drive.
    pub running: Vec<RunningTask>,
    /// Problems a person should fix.
    pub problems: Vec<String>,
    /// The webapp link: `None` when none is configured, else whether it is connected.
    pub webapp_link: Option<bool>,
    /// The webapp's current drive (SPEC §7.2).
    pub current_drive: Option<String>,
    /// Whether the machine is kept awake now (SPEC §11.1); absent until known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_awake: Option<KeepAwakeStatus>,
    /// Discs queued tasks wait for that are in no drive (SPEC §11.1).
    #[serde(default)]
    pub discs_needed: Vec<NeededDisc>,
}

/// One output volume's space (SPEC §11.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeSpace {
    /// Its mount point.
    pub volume: String,
    /// Bytes free for an unprivileged writer.
    pub free_bytes: u64,
    /// Bytes the running rips to it still need.
    pub held_bytes: u64,
    /// Bytes the queued rips to it need.
    pub queued_bytes: u64,
    /// How many queued rips go there.
    pub queued_rips: u32,
    /// Queued rips whose size is a default, not known.
    pub estimated_rips: u32,
}

impl VolumeSpace {
    /// Whether the queued rips fit in what is free after the running ones.
    pub fn fits(&self) -> bool {
        self.free_bytes.saturating_sub(self.held_bytes) >= self.queued_bytes
    }
}

/// `status`: the snapshot, the protocol number and the space per output volume.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusReply {
    /// The snapshot, its fields beside `ok`.
    #[serde(flatten)]
    pub status: DaemonStatus,
    /// The control protocol number.
    pub protocol: u32,
    /// What the queued rips need per output volume.
    #[serde(default)]
    pub space: Vec<VolumeSpace>,
}

/// Where a task file is: the queue's sub-directory of that name (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting.
    Queued,
    /// Claimed by a daemon (or the webapp).
    InProgress,
    /// Finished successfully.
    Complete,
    /// Failed.
    Failed,
}

impl TaskState {
    /// The wire name (`in_progress`), which is also the sub-directory's.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::InProgress => "in_progress",
            Self::Complete => "complete",
            Self::Failed => "failed",
        }
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a running task is; present only on running tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRun {
    /// The drive running it.
    pub drive_id: String,
    /// Percent 0–100.
    pub percent: u8,
    /// Seconds left (`null` until known).
    #[serde(default)]
    pub eta_seconds: Option<u64>,
    /// E.g. `"42.3 MB/s"` (`null` until known).
    #[serde(default)]
    pub speed: Option<String>,
}

/// One task in `tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    /// Task id.
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub task_type: TaskType,
    /// Where it is.
    pub state: TaskState,
    /// True for daemon tasks (`scan`, `rip`).
    pub owned: bool,
    /// True when `tasks.json` lists it.
    pub listed: bool,
    /// Its drive and progress, when it runs.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub run: Option<TaskRun>,
}

/// `tasks`: every task in queue order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TasksReply {
    /// The tasks.
    pub tasks: Vec<TaskRow>,
}

/// `drives`: the drive registry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrivesReply {
    /// Every drive.
    pub drives: Vec<DriveStatus>,
}

/// `pause`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseReply {
    /// Always `true`.
    pub paused: bool,
    /// False when the queue was already paused.
    pub changed: bool,
    /// Whether running tasks were stopped now.
    pub now: bool,
    /// The tasks stopped and put back at the head of the queue.
    pub requeued: Vec<String>,
}

/// `resume`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeReply {
    /// Always `false`.
    pub paused: bool,
    /// False when the queue was not paused.
    pub changed: bool,
}

/// `cancel` and `enqueue`: the task acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskIdReply {
    /// The task cancelled, or the one written.
    pub task_id: String,
}

/// `label`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelReply {
    /// The drive labelled.
    pub drive_id: String,
    /// Its label now; `null` when it was removed.
    pub label: Option<String>,
}

/// `eject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EjectReply {
    /// The drive.
    pub drive_id: String,
    /// Its device.
    pub device: String,
    /// Always `true`.
    pub ejected: bool,
}

/// `stop`: sent just before the daemon begins shutting down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopReply {
    /// Always `true`.
    pub stopping: bool,
}

/// `subscribe`: the snapshot taken just after subscribing; envelopes follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribeReply {
    /// Always `true`.
    pub subscribed: bool,
    /// How many replayed envelopes follow before the live ones.
    pub replayed: usize,
    /// The picture every later event applies to.
    pub status: DaemonStatus,
}

/// Any `ok` reply, as the daemon sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Reply {
    /// `version`.
    Version(VersionReply),
    /// `status`.
    Status(Box<StatusReply>),
    /// `tasks`.
    Tasks(TasksReply),
    /// `drives`.
    Drives(DrivesReply),
    /// `pause`.
    Pause(PauseReply),
    /// `resume`.
    Resume(ResumeReply),
    /// `cancel`, `enqueue`.
    TaskId(TaskIdReply),
    /// `label`.
    Label(LabelReply),
    /// `eject`.
    Eject(EjectReply),
    /// `stop`.
    Stop(StopReply),
    /// `subscribe`.
    Subscribe(Box<SubscribeReply>),
}

macro_rules! into_reply {
    ($($ty:ty => $variant:ident $(($wrap:path))?),* $(,)?) => {$(
        impl From<$ty> for Reply {
            fn from(reply: $ty) -> Self {
                Self::$variant($($wrap)?(reply))
            }
        }
    )*};
}

into_reply! {
    VersionReply => Version,
    StatusReply => Status(Box::new),
    TasksReply => Tasks,
    DrivesReply => Drives,
    PauseReply => Pause,
    ResumeReply => Resume,
    TaskIdReply => TaskId,
    LabelReply => Label,
    EjectReply => Eject,
    StopReply => Stop,
    SubscribeReply => Subscribe(Box::new),
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::control::ControlResponse;

    fn wire(reply: impl Into<Reply>) -> serde_json::Value {
        serde_json::to_value(ControlResponse::ok(reply)).unwrap()
    }

    #[test]
    fn action_replies_keep_their_field_names() {
        let pause = PauseReply {
            paused: true,
            changed: false,
            now: true,
            requeued: vec!["t".into()],
        };
        assert_eq!(
            wire(pause),
            json!({"ok":true,"paused":true,"changed":false,"now":true,"requeued":["t"]})
        );
        let label = LabelReply {
            drive_id: "d".into(),
            label: None,
        };
        assert_eq!(wire(label), json!({"ok":true,"drive_id":"d","label":null}));
        let stop = StopReply { stopping: true };
        assert_eq!(wire(stop), json!({"ok":true,"stopping":true}));
        let version = VersionReply {
            version: "1.0".into(),
            protocol: 1,
            daemon_id: "u@h".into(),
        };
        assert_eq!(
            wire(version),
            json!({"ok":true,"version":"1.0","protocol":1,"daemon_id":"u@h"})
        );
    }

    #[test]
    fn task_rows_carry_progress_only_when_running() {
        let mut row = TaskRow {
            id: "a-scan".into(),
            task_type: TaskType::Scan,
            state: TaskState::InProgress,
            owned: true,
            listed: false,
            run: None,
        };
        let idle = json!({"id":"a-scan","type":"scan","state":"in_progress","owned":true,
                          "listed":false});
        assert_eq!(serde_json::to_value(&row).unwrap(), idle);
        assert_eq!(serde_json::from_value::<TaskRow>(idle).unwrap(), row);
        row.run = Some(TaskRun {
            drive_id: "u@h:sr0".into(),
            percent: 5,
            eta_seconds: None,
            speed: None,
        });
        let running = serde_json::to_value(&row).unwrap();
        assert_eq!(running["drive_id"], "u@h:sr0");
        assert!(running["eta_seconds"].is_null() && running.get("speed").is_some());
        assert_eq!(serde_json::from_value::<TaskRow>(running).unwrap(), row);
    }

    #[test]
    fn status_flattens_the_snapshot_and_reads_back() {
        let reply = StatusReply {
            status: DaemonStatus {
                daemon_id: "u@h".into(),
                ..DaemonStatus::default()
            },
            protocol: 1,
            space: Vec::new(),
        };
        let v = wire(reply.clone());
        for key in [
            "daemon_id",
            "version",
            "paused",
            "queue_depth",
            "drives",
            "running",
            "problems",
            "webapp_link",
            "current_drive",
            "discs_needed",
            "protocol",
            "space",
        ] {
            assert!(v.get(key).is_some(), "{key} in {v}");
        }
        assert!(v.get("keep_awake").is_none(), "absent until known: {v}");
        assert_eq!(serde_json::from_value::<StatusReply>(v).unwrap(), reply);
    }
}
