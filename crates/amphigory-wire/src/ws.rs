//! WebSocket messages: the daemon's own server (SPEC §7.1), the link to the webapp
//! (§7.2), and what either peer may send to the daemon.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::drive::DriveStatus;

/// `started`, `completed`, `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatusKind {
    /// The daemon claimed the task and started it.
    Started,
    /// The task finished successfully.
    Completed,
    /// The task failed.
    Failed,
}

/// `inserted`, `ejected`, `fingerprinted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscEventKind {
    /// A disc went in.
    Inserted,
    /// A disc came out.
    Ejected,
    /// The disc's fingerprint is known.
    Fingerprinted,
}

/// `connected`, `paused`, `resumed`, `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DaemonEventKind {
    /// Sent to a client as it connects.
    Connected,
    /// The queue was paused.
    Paused,
    /// The queue was resumed.
    Resumed,
    /// Something went wrong that a person should see.
    Error,
}

/// The disc part of a `sync` message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncDisc {
    /// Is a disc in (any drive)?
    pub inserted: bool,
    /// Device of that disc.
    pub device: Option<String>,
    /// Its volume name.
    pub volume_name: Option<String>,
}

/// The running task in a `sync` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncTask {
    /// Task id.
    pub id: String,
    /// Percent 0–100.
    pub percent: u8,
    /// Estimated seconds left.
    pub eta_seconds: Option<u64>,
}

/// Progress of a running task (SPEC §7.1), the same on the daemon's server and on the
/// webapp link: `percent` an integer 0–100, the others null until known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Task id.
    pub task_id: String,
    /// Percent 0–100.
    pub percent: u8,
    /// Estimated seconds left, once known.
    pub eta_seconds: Option<u64>,
    /// Bytes written so far, once known.
    pub current_size_bytes: Option<u64>,
    /// E.g. `"42.3 MB/s"`, once known.
    pub speed: Option<String>,
}

/// A disc that queued tasks wait for and that is in no drive (SPEC §11.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeededDisc {
    /// The fingerprint the tasks name.
    pub fingerprint: String,
    /// Its volume name, when a scan of it was seen before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_name: Option<String>,
    /// How many tasks wait for it (0: not needed any more).
    pub waiting: usize,
    /// How many of them are rips.
    pub rips: usize,
}

impl NeededDisc {
    /// The volume name when known, else the fingerprint.
    pub fn name(&self) -> &str {
        self.volume_name.as_deref().unwrap_or(&self.fingerprint)
    }

    /// `Insert VOLUME — 3 rips wait for it` (SPEC §11.1).
    pub fn sentence(&self) -> String {
        let noun = match (self.rips == self.waiting, self.waiting == 1) {
            (true, true) => "rip waits",
            (true, false) => "rips wait",
            (false, true) => "task waits",
            (false, false) => "tasks wait",
        };
        format!("Insert {} — {} {noun} for it", self.name(), self.waiting)
    }
}

/// Messages the daemon's WebSocket server sends (SPEC §7.1), also the `data` of control
/// socket envelopes (§8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Progress of a running task.
    Progress(Progress),
    /// A task changed state.
    Status {
        /// Task id.
        task_id: String,
        /// The new state.
        status: TaskStatusKind,
    },
    /// A disc went in, came out, or was fingerprinted.
    Disc {
        /// What happened.
        event: DiscEventKind,
        /// Device path.
        device: String,
        /// Volume name, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        volume_name: Option<String>,
        /// Fingerprint, on `fingerprinted`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
        /// Drive id.
        drive_id: String,
    },
    /// Sent every `heartbeat_interval`.
    Heartbeat {
        /// RFC 3339.
        timestamp: String,
        /// Daemon-owned tasks waiting.
        queue_depth: usize,
        /// Id of the running task, if any.
        current_task: Option<String>,
        /// Is the queue paused?
        paused: bool,
    },
    /// Daemon-level events.
    Daemon {
        /// What happened.
        event: DaemonEventKind,
        /// Why, when it helps.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The full picture, sent first on every connection.
    Sync {
        /// RFC 3339.
        timestamp: String,
        /// The (first) disc.
        disc: SyncDisc,
        /// The running task.
        current_task: Option<SyncTask>,
        /// Is the queue paused?
        paused: bool,
        /// Daemon-owned tasks waiting.
        queue_depth: usize,
        /// Every drive.
        drives: Vec<DriveStatus>,
        /// Discs queued tasks wait for that are in no drive (SPEC §11.1), so a client
        /// that connects later knows them too; left out when none is needed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        discs_needed: Vec<NeededDisc>,
    },
    /// Queued tasks wait for a disc that is in no drive (SPEC §11.1): sent when the
    /// number waiting changes, `waiting: 0` once it is no longer needed.
    DiscNeeded(NeededDisc),
    /// Control-socket only: the subscriber missed events; a fresh `sync` follows.
    Lagged {
        /// How many events were missed.
        missed: u64,
    },
}

/// Messages the daemon sends to the webapp over its link (SPEC §7.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LinkMessage {
    /// Registration; always the first message on every connection.
    DaemonConfig {
        /// RFC 3339.
        timestamp: String,
        /// `$USER@shorthostname` unless configured.
        daemon_id: String,
        /// makemkvcon in use, if found.
        makemkvcon_path: Option<String>,
        /// Host directory the container's `/` maps to. Left out when unknown, never
        /// `null`: the webapp's handler takes it as a string and fails on `null`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        webapp_basedir: Option<String>,
        /// The commit the binary was built from; left out when unknown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        git_sha: Option<String>,
    },
    /// Liveness.
    Heartbeat {
        /// RFC 3339.
        timestamp: String,
    },
    /// A disc event.
    DiscEvent {
        /// What happened.
        event: DiscEventKind,
        /// Device path.
        device: String,
        /// On `inserted`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        volume_name: Option<String>,
        /// On `fingerprinted`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
        /// On `ejected`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        volume_path: Option<String>,
    },
    /// Progress, the same message as on the daemon's own server.
    Progress(Progress),
    /// Answer to a `request`.
    Response {
        /// The request's id.
        request_id: Value,
        /// On success.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
        /// On failure: `{code, message}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<RequestError>,
    },
}

/// Error of a `request` (`{"code":"unknown_method","message":…}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestError {
    /// E.g. `unknown_method`.
    pub code: String,
    /// For a person.
    pub message: String,
}

/// Anything a browser, tool or the webapp sends to the daemon. Unknown types (the
/// webapp's echoes of everything) land in `Unknown` and are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InboundMessage {
    /// Seed name: the webapp's config changed, refetch it.
    ConfigUpdated,
    /// Real daemon's name for the same.
    WebappConfigChanged,
    /// A method call.
    Request {
        /// Echoed in the response.
        request_id: Value,
        /// `get_drive_status`, `list_drives`, …
        method: String,
        /// Method parameters: absent, `{}` and `null` are all "none".
        #[serde(default, deserialize_with = "map_or_null")]
        params: Map<String, Value>,
    },
    /// Anything else.
    #[serde(other)]
    Unknown,
}

/// An object, or `null` (read as an empty one).
fn map_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    Ok(Option::<Map<String, Value>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_has_the_seed_fields() {
        let m = ServerMessage::Progress(Progress {
            task_id: "t".into(),
            percent: 45,
            eta_seconds: None,
            current_size_bytes: Some(1),
            speed: None,
        });
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type":"progress","task_id":"t","percent":45,"eta_seconds":null,
                               "current_size_bytes":1,"speed":null})
        );
    }

    #[test]
    fn inbound_reads_requests_and_ignores_echoes() {
        let m: InboundMessage = serde_json::from_str(
            r#"{"type":"request","request_id":"r1","method":"get_drive_status","params":{}}"#,
        )
        .unwrap();
        assert!(
            matches!(m, InboundMessage::Request { ref method, .. } if method == "get_drive_status")
        );
        let m: InboundMessage =
            serde_json::from_str(r#"{"type":"disc_event","event":"inserted"}"#).unwrap();
        assert_eq!(m, InboundMessage::Unknown);
        let m: InboundMessage = serde_json::from_str(r#"{"type":"config_updated"}"#).unwrap();
        assert_eq!(m, InboundMessage::ConfigUpdated);
    }

    #[test]
    fn disc_needed_is_flat_and_says_what_to_insert() {
        let needed = NeededDisc {
            fingerprint: "bd-1234".into(),
            volume_name: Some("MATRIX".into()),
            waiting: 3,
            rips: 3,
        };
        assert_eq!(needed.sentence(), "Insert MATRIX — 3 rips wait for it");
        let v = serde_json::to_value(ServerMessage::DiscNeeded(needed)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type":"disc_needed","fingerprint":"bd-1234",
                               "volume_name":"MATRIX","waiting":3,"rips":3})
        );
        let one = NeededDisc {
            fingerprint: "bd-9".into(),
            volume_name: None,
            waiting: 1,
            rips: 0,
        };
        assert_eq!(one.sentence(), "Insert bd-9 — 1 task waits for it");
    }

    #[test]
    fn link_messages_have_the_webapp_shapes() {
        let v = serde_json::to_value(LinkMessage::DiscEvent {
            event: DiscEventKind::Ejected,
            device: "/dev/rdisk4".into(),
            volume_name: None,
            fingerprint: None,
            volume_path: Some("/Volumes/X".into()),
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type":"disc_event","event":"ejected","device":"/dev/rdisk4","volume_path":"/Volumes/X"})
        );
        let v = serde_json::to_value(LinkMessage::Heartbeat {
            timestamp: "t".into(),
        })
        .unwrap();
        assert_eq!(v, serde_json::json!({"type":"heartbeat","timestamp":"t"}));
    }
}
