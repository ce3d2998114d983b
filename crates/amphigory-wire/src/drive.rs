//! The drive object (SPEC §9.1): one optical drive as the webapp and CLI see it.

use serde::{Deserialize, Serialize};

use crate::scan::ScanResult;

/// What a drive is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DriveState {
    /// No disc.
    #[default]
    Empty,
    /// A disc is in, nothing is running.
    DiscInserted,
    /// A scan is running.
    Scanning,
    /// The disc has been scanned and nothing is running.
    Scanned,
    /// A rip is running.
    Ripping,
}

impl DriveState {
    /// The wire name (`disc_inserted`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::DiscInserted => "disc_inserted",
            Self::Scanning => "scanning",
            Self::Scanned => "scanned",
            Self::Ripping => "ripping",
        }
    }
}

/// Status of the drive's scan of its current disc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanStatus {
    /// Running.
    InProgress,
    /// Done; `scan_result` holds it.
    Complete,
    /// Failed; `scan_error` says why.
    Failed,
}

/// One drive (the `get_drive_status` result).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriveStatus {
    /// `daemon_id + ":" + device name without /dev/`.
    pub drive_id: String,
    /// The daemon owning it.
    pub daemon_id: String,
    /// Device path, e.g. `/dev/rdisk4`.
    pub device: String,
    /// Persistent human name.
    pub label: Option<String>,
    /// What it is doing.
    pub state: DriveState,
    /// Volume name of the disc.
    pub disc_volume: Option<String>,
    /// `dvd`, `bluray`, `uhd`, `cd`.
    pub disc_type: Option<String>,
    /// Fingerprint of the disc.
    pub fingerprint: Option<String>,
    /// Scan status of the current disc.
    pub scan_status: Option<ScanStatus>,
    /// Task id of the scan, if one came from the queue.
    pub scan_task_id: Option<String>,
    /// Scan result (SPEC §6.3) when complete.
    pub scan_result: Option<ScanResult>,
    /// Scan error message when failed.
    pub scan_error: Option<String>,
    /// Task id of the running rip.
    pub rip_task_id: Option<String>,
    /// Title being ripped.
    pub rip_track_number: Option<u32>,
    /// Percent 0–100 of the running rip.
    pub rip_progress: Option<u8>,
    /// RFC 3339.
    pub disc_inserted_at: Option<String>,
    /// RFC 3339; set when the drive's disc waits to be swapped.
    pub waiting_since: Option<String>,
    /// RFC 3339.
    pub last_updated: Option<String>,
}

impl DriveStatus {
    /// An `empty` drive object, what `get_drive_status` answers when there is no drive.
    pub fn empty(daemon_id: &str) -> Self {
        Self {
            drive_id: format!("{daemon_id}:none"),
            daemon_id: daemon_id.to_owned(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_every_field_even_when_null() {
        let v = serde_json::to_value(DriveStatus::empty("purp@beehive")).unwrap();
        let obj = v.as_object().unwrap();
        for key in [
            "drive_id",
            "daemon_id",
            "device",
            "label",
            "state",
            "disc_volume",
            "disc_type",
            "fingerprint",
            "scan_status",
            "scan_task_id",
            "scan_result",
            "scan_error",
            "rip_task_id",
            "rip_track_number",
            "rip_progress",
            "disc_inserted_at",
            "waiting_since",
            "last_updated",
        ] {
            assert!(obj.contains_key(key), "{key}");
        }
        assert_eq!(v["state"], "empty");
    }
}
