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
//! The format and its reader live in [`crate::sim::recording`], since replaying is the
//! simulator's job; this module records.
//!
//! - [`probe`]: finds the drives and discs and captures makemkvcon's output.

pub mod probe;
mod scrub;
pub mod session;
#[cfg(target_os = "linux")]
pub mod uevents;

use std::io;
use std::path::Path;

pub use scrub::scrub;

pub use crate::sim::recording::{
    EVENTS_FILE, FORMAT, INFO_FILE, RECORDING_FILE, RecordedDisc, RecordedDrive, Recording, Replay,
    is_recording, load,
};

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
