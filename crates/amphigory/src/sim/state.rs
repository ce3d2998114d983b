//! The simulated drives' shared state: one JSON file per drive in the sim directory,
//! written atomically by the rig (eject, insert) and by the simulated makemkvcon itself
//! (a disc that leaves mid-rip), plus the marker files faults and tests rely on.
//!
//! ```text
//! <sim dir>/sim0.json           {"device":"/dev/sim0","disc":"demo-bluray","present":true,
//!                                "rate_mbps":2000.0,"fault":"eject@50"}
//! <sim dir>/sim0.fault-fired    created with O_EXCL when the fault fires (once per dir)
//! <sim dir>/sim0.pid            one line per simulated makemkvcon started for the drive
//! ```

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Percent at which a fault given without `@P` fires.
pub const DEFAULT_FAULT_PERCENT: u8 = 50;

/// How a simulated drive misbehaves (SPEC §9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// Stops printing and hangs at P %.
    Stall,
    /// The disc leaves the drive at P % (read errors "MEDIUM NOT PRESENT").
    Eject,
    /// MSG 5010 "Failed to open disc", exit status 0, on every attempt.
    Unreadable,
    /// MSG 5010 on the first attempt only (a drive spinning up).
    Spinup,
    /// Dies with a non-zero status at P %.
    Exit,
    /// The free-space question (MSG 5038) at P %, then waits for an answer forever.
    NoSpace,
    /// Unrecoverable read errors (MSG 2003, sense key MEDIUM ERROR) at P %, after which
    /// the rip carries on and reports success, as MakeMKV does when it skips them.
    BadSector,
    /// The file's Matroska header is overwritten at P %; the rip reports success.
    Corrupt,
    /// The file stops growing at P % and the rip reports success anyway.
    Short,
}

impl FaultKind {
    fn name(self) -> &'static str {
        match self {
            Self::Stall => "stall",
            Self::Eject => "eject",
            Self::Unreadable => "unreadable",
            Self::Spinup => "spinup",
            Self::Exit => "exit",
            Self::NoSpace => "nospace",
            Self::BadSector => "badsector",
            Self::Corrupt => "corrupt",
            Self::Short => "short",
        }
    }

    /// Whether the fault happens at a percentage of a rip (rather than on opening).
    pub fn has_percent(self) -> bool {
        !matches!(self, Self::Unreadable | Self::Spinup)
    }
}

/// A fault, `KIND[@PERCENT]` on the command line and in the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fault {
    /// What happens.
    pub kind: FaultKind,
    /// When, in percent of the rip (ignored by `unreadable` and `spinup`).
    pub percent: u8,
}

/// A `--sim-fault` value that is not `KIND[@PERCENT]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid simulated fault {0:?}: expected stall@P, eject@P, unreadable, spinup, exit@P, \
     nospace@P, badsector@P, corrupt@P or short@P with P in 0..=100"
)]
pub struct ParseFaultError(String);

impl From<ParseFaultError> for String {
    fn from(e: ParseFaultError) -> Self {
        e.to_string()
    }
}

impl FromStr for Fault {
    type Err = ParseFaultError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseFaultError(s.to_owned());
        let (name, percent) = match s.split_once('@') {
            Some((name, p)) => (name, p.trim().parse::<u8>().map_err(|_| bad())?),
            None => (s, DEFAULT_FAULT_PERCENT),
        };
        let kind = match name.trim().to_ascii_lowercase().as_str() {
            "stall" => FaultKind::Stall,
            "eject" => FaultKind::Eject,
            "unreadable" => FaultKind::Unreadable,
            "spinup" => FaultKind::Spinup,
            "exit" => FaultKind::Exit,
            "nospace" => FaultKind::NoSpace,
            "badsector" => FaultKind::BadSector,
            "corrupt" => FaultKind::Corrupt,
            "short" => FaultKind::Short,
            _ => return Err(bad()),
        };
        if percent > 100 {
            return Err(bad());
        }
        Ok(Self { kind, percent })
    }
}

impl TryFrom<String> for Fault {
    type Error = ParseFaultError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Fault> for String {
    fn from(f: Fault) -> Self {
        f.to_string()
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind.has_percent() {
            write!(f, "{}@{}", self.kind.name(), self.percent)
        } else {
            f.write_str(self.kind.name())
        }
    }
}

/// One simulated drive, as stored in `sim<N>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimDriveState {
    /// `/dev/sim<N>`.
    pub device: String,
    /// Built-in disc name or transcript path; kept when the disc is ejected.
    pub disc: Option<String>,
    /// Whether the disc is in the drive.
    pub present: bool,
    /// Read rate in MB/s (10⁶ bytes).
    pub rate_mbps: f64,
    /// Fault to inject once.
    #[serde(default)]
    pub fault: Option<Fault>,
}

/// `sim<N>` for slot `N`: the stem of every file of that drive.
pub fn drive_stem(index: u32) -> String {
    format!("sim{index}")
}

/// The slot of a `/dev/sim<N>` device.
pub fn device_index(device: &str) -> Option<u32> {
    device.strip_prefix("/dev/sim")?.parse().ok()
}

/// `<dir>/sim<N>.json`.
pub fn state_path(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("{}.json", drive_stem(index)))
}

/// Reads one drive's state.
pub fn read_state(dir: &Path, index: u32) -> io::Result<SimDriveState> {
    decode_state(&fs::read(state_path(dir, index))?)
}

/// One drive's state from the bytes of its file.
pub fn decode_state(bytes: &[u8]) -> io::Result<SimDriveState> {
    serde_json::from_slice(bytes).map_err(io::Error::other)
}

/// The bytes of one drive's state file.
pub fn encode_state(state: &SimDriveState) -> io::Result<Vec<u8>> {
    serde_json::to_vec_pretty(state).map_err(io::Error::other)
}

/// Writes one drive's state atomically (temp file and rename in the same directory).
pub fn write_state(dir: &Path, index: u32, state: &SimDriveState) -> io::Result<()> {
    let json = encode_state(state)?;
    let path = state_path(dir, index);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::other("bad sim state path"))?;
    crate::fsio::write_atomic(dir, name, &json, true)
}

/// Every drive in `dir`, by slot.
pub fn read_all(dir: &Path) -> io::Result<Vec<(u32, SimDriveState)>> {
    let mut drives = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let index = name
            .to_str()
            .and_then(|n| n.strip_prefix("sim"))
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u32>().ok());
        if let Some(index) = index {
            drives.push((index, read_state(dir, index)?));
        }
    }
    drives.sort_by_key(|(index, _)| *index);
    Ok(drives)
}

/// Marks the drive's fault as fired; `true` only for the first caller ever (O_EXCL).
pub fn fire_fault(dir: &Path, index: u32) -> io::Result<bool> {
    let path = dir.join(format!("{}.fault-fired", drive_stem(index)));
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Appends the current process's pid to `<dir>/sim<N>.pid`.
pub fn record_pid(dir: &Path, index: u32) -> io::Result<()> {
    let path = dir.join(format!("{}.pid", drive_stem(index)));
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(file, "{}", std::process::id())
}

/// The pids recorded for a drive, oldest first.
pub fn recorded_pids(dir: &Path, index: u32) -> Vec<u32> {
    let path = dir.join(format!("{}.pid", drive_stem(index)));
    parse_pids(&fs::read_to_string(path).unwrap_or_default())
}

/// The pids of a `sim<N>.pid` file's text, one a line; other lines are skipped.
pub fn parse_pids(text: &str) -> Vec<u32> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_and_print() {
        let f: Fault = "stall@30".parse().unwrap();
        assert_eq!((f.kind, f.percent), (FaultKind::Stall, 30));
        assert_eq!("eject".parse::<Fault>().unwrap().to_string(), "eject@50");
        assert_eq!(
            "unreadable".parse::<Fault>().unwrap().to_string(),
            "unreadable"
        );
        for bad in ["melt@10", "stall@101", "stall@x", ""] {
            assert!(bad.parse::<Fault>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&Some(f)).unwrap();
        assert_eq!(json, r#""stall@30""#);
    }

    #[test]
    fn state_round_trips_and_faults_fire_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = SimDriveState {
            device: "/dev/sim0".into(),
            disc: Some("demo-dvd".into()),
            present: true,
            rate_mbps: 10.0,
            fault: Some("nospace@5".parse().unwrap()),
        };
        write_state(dir.path(), 0, &state).unwrap();
        assert_eq!(read_all(dir.path()).unwrap(), vec![(0, state)]);
        assert!(fire_fault(dir.path(), 0).unwrap());
        assert!(!fire_fault(dir.path(), 0).unwrap());
        record_pid(dir.path(), 0).unwrap();
        record_pid(dir.path(), 0).unwrap();
        assert_eq!(recorded_pids(dir.path(), 0), vec![std::process::id(); 2]);
        assert_eq!(device_index("/dev/sim12"), Some(12));
    }
}
