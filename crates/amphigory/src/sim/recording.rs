//! The recording format of `amphigory record DIR` and its reader: `--simulate DIR`
//! replays a recording, so the simulator owns the format and `record` writes it (see
//! `crate::record` for the folder's layout).

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fingerprint::MediumKind;

/// The recording's description file.
pub const RECORDING_FILE: &str = "recording.json";
/// makemkvcon's `info` output.
pub const INFO_FILE: &str = "makemkvcon-info.txt";
/// Disc events, JSON lines.
pub const EVENTS_FILE: &str = "disc-events.jsonl";
/// Version of the layout above.
pub const FORMAT: u32 = 1;

/// `recording.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    /// [`FORMAT`].
    pub format: u32,
    /// The amphigory that recorded it.
    pub amphigory_version: String,
    /// `linux`, `macos`, or `simulated`.
    pub platform: String,
    /// RFC 3339.
    pub recorded_at: String,
    /// The drive.
    pub drive: RecordedDrive,
    /// The disc in it.
    pub disc: RecordedDisc,
    /// makemkvcon's version line, when it ran.
    pub makemkvcon: Option<String>,
    /// The other files of the recording.
    pub files: Vec<String>,
}

/// The drive of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedDrive {
    /// `/dev/sr0`, `/dev/rdisk4`.
    pub device: String,
    /// Vendor and model.
    pub model: Option<String>,
}

/// The disc of a recording, as detection reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedDisc {
    /// Volume name.
    pub volume_name: Option<String>,
    /// `dvd`, `bluray`, `uhd`, `cd`.
    pub disc_type: Option<String>,
    /// SPEC §9.4 fingerprint, from the drive's facts.
    pub fingerprint: Option<String>,
}

impl RecordedDisc {
    /// The medium kind of `disc_type`.
    pub fn medium(&self) -> Option<MediumKind> {
        match self.disc_type.as_deref()? {
            "dvd" => Some(MediumKind::Dvd),
            "bluray" => Some(MediumKind::Bluray),
            "uhd" => Some(MediumKind::Uhd),
            "cd" => Some(MediumKind::Cd),
            _ => None,
        }
    }
}

/// A recording read back for replay: its description and makemkvcon's output.
#[derive(Debug, Clone)]
pub struct Replay {
    /// `recording.json`.
    pub recording: Recording,
    /// `makemkvcon-info.txt`.
    pub transcript: String,
}

/// True when `path` is a recording folder.
pub fn is_recording(path: &Path) -> bool {
    path.join(RECORDING_FILE).is_file()
}

/// Reads the recording in `dir`.
pub fn load(dir: &Path) -> io::Result<Replay> {
    let text = std::fs::read_to_string(dir.join(RECORDING_FILE))?;
    let recording: Recording = serde_json::from_str(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", dir.join(RECORDING_FILE).display()),
        )
    })?;
    let transcript = std::fs::read_to_string(dir.join(INFO_FILE))?;
    Ok(Replay {
        recording,
        transcript,
    })
}
