//! The daemon's status snapshot: what `status`, `sync` messages, heartbeats, the tray and
//! `get_drive_status` read. Writers update it in place through a watch channel, so readers
//! always see a consistent whole and can wait for changes.

use std::sync::Arc;

use amphigory_wire::drive::DriveStatus;
use amphigory_wire::task::TaskType;
use amphigory_wire::ws::NeededDisc;
use serde::Serialize;
use tokio::sync::watch;

/// A task a drive is running.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub eta_seconds: Option<u64>,
    /// Bytes written, once known.
    pub current_size_bytes: Option<u64>,
    /// E.g. `"42.3 MB/s"`.
    pub speed: Option<String>,
}

impl RunningTask {
    /// Where this task is, as the progress event every subscriber understands (used to
    /// resend progress after a reconnect or a lag).
    pub fn progress_event(&self) -> crate::core::DaemonEvent {
        crate::core::DaemonEvent::TaskProgress {
            task_id: self.task_id.clone(),
            percent: self.percent,
            eta_seconds: self.eta_seconds,
            current_size_bytes: self.current_size_bytes,
            speed: self.speed.clone(),
        }
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
    pub problems: Vec<String>,
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

    /// The drive with this id or device (`/dev/sr0` or `sr0`).
    pub fn drive_mut(&mut self, id_or_device: &str) -> Option<&mut DriveStatus> {
        self.drives
            .iter_mut()
            .find(|d| drive_matches(d, id_or_device))
    }
}

/// The status problem of a needed disc: `disc needed: Insert X — 3 rips wait for it`.
pub fn disc_needed_problem(disc: &NeededDisc) -> String {
    format!("disc needed: {}", disc.sentence())
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

    /// Changes the snapshot in place and wakes watchers.
    pub fn update(&self, change: impl FnOnce(&mut StatusSnapshot)) {
        self.tx.send_modify(change);
    }

    /// A receiver that sees every later change.
    pub fn watch(&self) -> watch::Receiver<StatusSnapshot> {
        self.tx.subscribe()
    }
}
