//! The daemon's status snapshot: what `status`, `sync` messages, heartbeats, the tray and
//! `get_drive_status` read. The engine publishes it whole through a watch channel after
//! every change (it is the only writer), so readers always see a consistent whole and can
//! wait for changes.

use std::sync::Arc;

use amphigory_wire::drive::DriveStatus;
use amphigory_wire::ws::NeededDisc;
use serde::Serialize;

use super::problem::{Problem, ProblemKind};
use tokio::sync::watch;

/// A task a drive is running: the wire's own shape, so `status` sends it as it is.
pub use amphigory_wire::control::RunningTask;

/// Where `task` is, as the progress event every subscriber understands (used to resend
/// progress after a reconnect or a lag).
pub fn progress_event(task: &RunningTask) -> crate::core::DaemonEvent {
    crate::core::DaemonEvent::TaskProgress {
        task_id: task.task_id.clone(),
        percent: task.percent,
        eta_seconds: task.eta_seconds,
        current_size_bytes: task.current_size_bytes,
        speed: task.speed.clone(),
    }
}

/// The whole picture.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusSnapshot {
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
    /// Problems a person should fix (makemkvcon missing, needs config…).
    pub problems: Vec<Problem>,
    /// The webapp link: `None` when none is configured, else whether it is connected.
    pub webapp_link: Option<bool>,
    /// The webapp's *current drive* (SPEC §7.2): the drive whose disc went in last, else
    /// the first drive. `get_drive_status` without a drive answers with it, and a scan
    /// task naming no drive runs on it.
    pub current_drive: Option<String>,
    /// Whether the machine is kept awake now (SPEC §11.1); `None` until the keep-awake
    /// task starts (and in daemons without one), so the reply simply lacks it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_awake: Option<amphigory_wire::control::KeepAwakeStatus>,
    /// Discs queued tasks wait for that are in no drive (SPEC §11.1), in the order they
    /// were first needed: the last is the latest.
    pub discs_needed: Vec<NeededDisc>,
}

impl StatusSnapshot {
    /// The current drive's object (see [`StatusSnapshot::current_drive`]).
    pub fn current(&self) -> Option<&DriveStatus> {
        let id = self.current_drive.as_deref()?;
        self.drives.iter().find(|d| d.drive_id == id)
    }
}

/// The status problem of a needed disc: `disc needed: Insert X — 3 rips wait for it`.
pub fn disc_needed_problem(disc: &NeededDisc) -> Problem {
    Problem::new(
        ProblemKind::DiscNeeded,
        format!("disc needed: {}", disc.sentence()),
    )
}

/// Does `needle` name this drive (its id, its device, or the device without `/dev/`)?
pub fn drive_matches(drive: &DriveStatus, needle: &str) -> bool {
    names_drive(&drive.drive_id, &drive.device, needle)
}

/// Does `needle` name the drive `drive_id` at `device` (its id, its device, or the device
/// without `/dev/`)? The one rule for every place a user or task names a drive.
pub fn names_drive(drive_id: &str, device: &str, needle: &str) -> bool {
    drive_id == needle || device == needle || device.strip_prefix("/dev/") == Some(needle)
}

/// Why no drive answers to a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriveLookupError {
    /// No name given, and no drive.
    #[error("this daemon has no drives")]
    NoDrives,
    /// No name given, and several drives.
    #[error("several drives: name one of {0}")]
    Several(String),
    /// The name matches no drive, and there is none.
    #[error("no drive '{0}': this daemon has no drives")]
    UnknownNoDrives(String),
    /// The name matches none of these drives.
    #[error("no drive '{name}'; drives: {drives}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The drives there are.
        drives: String,
    },
}

/// The drive `needle` names (id, device, or device without `/dev/`); `None` = the only
/// drive.
pub fn find_drive<'d>(
    drives: &'d [DriveStatus],
    needle: Option<&str>,
) -> Result<&'d DriveStatus, DriveLookupError> {
    let names = || {
        let ids: Vec<&str> = drives.iter().map(|d| d.drive_id.as_str()).collect();
        ids.join(", ")
    };
    match (needle, drives) {
        (Some(needle), _) => drives
            .iter()
            .find(|d| drive_matches(d, needle))
            .ok_or_else(|| match drives {
                [] => DriveLookupError::UnknownNoDrives(needle.to_owned()),
                _ => DriveLookupError::Unknown {
                    name: needle.to_owned(),
                    drives: names(),
                },
            }),
        (None, [only]) => Ok(only),
        (None, []) => Err(DriveLookupError::NoDrives),
        (None, _) => Err(DriveLookupError::Several(names())),
    }
}

/// A cheap, cloneable handle to the snapshot.
#[derive(Debug, Clone)]
pub struct StatusHandle {
    tx: Arc<watch::Sender<StatusSnapshot>>,
}

impl StatusHandle {
    /// A handle holding `initial`.
    pub fn new(initial: StatusSnapshot) -> Self {
        Self {
            tx: Arc::new(watch::channel(initial).0),
        }
    }

    /// A copy of the current snapshot.
    pub fn get(&self) -> StatusSnapshot {
        self.tx.borrow().clone()
    }

    /// Replaces the snapshot with `next` when it differs, waking watchers only then.
    /// The engine is the only writer: it publishes its projection after every change.
    pub fn publish(&self, next: StatusSnapshot) {
        self.tx.send_if_modified(|shown| {
            let changed = *shown != next;
            if changed {
                *shown = next;
            }
            changed
        });
    }

    /// Changes the snapshot in place and wakes watchers: for tests that stand in for
    /// the engine (the daemon itself writes only through [`StatusHandle::publish`]).
    #[doc(hidden)]
    pub fn update(&self, change: impl FnOnce(&mut StatusSnapshot)) {
        self.tx.send_modify(change);
    }

    /// A receiver that sees every later change.
    pub fn watch(&self) -> watch::Receiver<StatusSnapshot> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn drive(id: &str, device: &str) -> DriveStatus {
        DriveStatus {
            drive_id: id.into(),
            device: device.into(),
            ..DriveStatus::default()
        }
    }

    #[test]
    fn drives_are_found_by_id_device_or_short_name() {
        let one = [drive("d@h:sim0", "/dev/sim0")];
        assert_eq!(find_drive(&one, None).unwrap().drive_id, "d@h:sim0");
        assert_eq!(find_drive(&one, Some("sim0")).unwrap().drive_id, "d@h:sim0");
        let unknown = find_drive(&one, Some("sr9")).unwrap_err().to_string();
        assert!(unknown.contains("d@h:sim0"), "{unknown}");
        let two = [
            drive("d@h:sim0", "/dev/sim0"),
            drive("d@h:sim1", "/dev/sim1"),
        ];
        let several = find_drive(&two, None).unwrap_err().to_string();
        assert!(several.contains("several"), "{several}");
        let none = find_drive(&[], None).unwrap_err().to_string();
        assert!(none.contains("no drives"), "{none}");
    }
}
