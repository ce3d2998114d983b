//! Recordings of a real session (SPEC §11.3, "first contact with real hardware"): what
//! `amphigory record DIR` writes and `--simulate DIR` replays.
//!
//! A recording is a folder:
//!
//! ```text
//! recording.json          what was seen: drive, disc (volume, kind, fingerprint), makemkvcon
//! makemkvcon-info.txt     makemkvcon's raw robot-mode `info` output (as in fixtures/makemkv)
//! disc-events.jsonl       the disc events detection reported, one JSON object a line
//! udevadm-monitor.txt     Linux, with `--watch`: the kernel's raw uevents (as in fixtures/udev)
//! udevadm-info-sr0.txt    Linux: the drive's udev record as `udevadm info --query=all`
//! sysfs-sr0.txt           Linux: size, vendor, model, revision from /sys/block
//! drutil-status.txt       macOS: `drutil status` (as in fixtures/macos)
//! drutil-status.xml       macOS: `drutil status -xml`, what the fingerprint is made from
//! ```
//!
//! Volume names are kept; serial numbers (udev `*SERIAL*` keys and every place their
//! values appear, property-list keys naming a serial, MakeMKV's LibreDrive `id=`) are
//! replaced by `X`s before anything is written ([`scrub`]).
//!
//! - [`probe`]: finds the drives and discs and captures makemkvcon's output.

pub mod probe;
mod scrub;
pub mod session;
#[cfg(target_os = "linux")]
pub mod uevents;

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fingerprint::MediumKind;

pub use scrub::scrub;

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

/// Writes `files` (name, contents) and then `recording.json` (listing them) into `dir`,
/// which is made if missing. Every file is scrubbed of serial numbers first.
pub fn write(dir: &Path, recording: &Recording, files: &[(String, String)]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let serials = files
        .iter()
        .flat_map(|(_, text)| scrub::serials(text))
        .collect::<Vec<_>>();
    for (name, text) in files {
        std::fs::write(dir.join(name), scrub::scrub_with(text, &serials))?;
    }
    let mut recording = recording.clone();
    recording.files = files.iter().map(|(name, _)| name.clone()).collect();
    let json = serde_json::to_string_pretty(&recording).map_err(io::Error::other)?;
    std::fs::write(
        dir.join(RECORDING_FILE),
        scrub::scrub_with(&json, &serials) + "\n",
    )
}
