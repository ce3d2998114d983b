//! Rip history (SPEC §11.2): `history.jsonl` in the state directory, one JSON line per
//! finished task, and what is read back from it — per-drive average read speeds by disc
//! type (the ETA shown before MakeMKV's first progress) and failure counts.
//!
//! Each line goes to the file in one `write` on a descriptor opened with `O_APPEND`, so
//! lines from one daemon never interleave and a crash leaves at most one torn last line.
//! A torn line is skipped on read, and the next append first ends it with a newline so it
//! cannot swallow the good line after it. Past [`ROTATE_AT`] bytes the file becomes
//! `history.1.jsonl` (the previous one is dropped) and a new file starts.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use amphigory_wire::ErrorCode;
use amphigory_wire::task::TaskType;
use serde::{Deserialize, Serialize};

/// File name in the state directory.
pub const FILE_NAME: &str = "history.jsonl";
/// The previous file, after a rotation.
pub const ROTATED_NAME: &str = "history.1.jsonl";
/// Size past which the file is rotated.
pub const ROTATE_AT: u64 = 10_000_000;
/// Longest line read back; anything longer is not ours.
const MAX_LINE: u64 = 64 * 1024;

/// One finished task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When it finished, RFC 3339.
    pub finished_at: String,
    /// Task id.
    pub task: String,
    /// `scan` or `rip`.
    #[serde(rename = "type")]
    pub task_type: TaskType,
    /// Drive id (`daemon_id:device-name`).
    pub drive: String,
    /// `dvd`, `bluray`, `uhd`, `cd`, when known.
    #[serde(default)]
    pub disc_type: Option<String>,
    /// Disc name (or volume name), when known.
    #[serde(default)]
    pub disc: Option<String>,
    /// Disc fingerprint, when known.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Title ripped.
    #[serde(default)]
    pub title: Option<u32>,
    /// Bytes written.
    #[serde(default)]
    pub bytes: Option<u64>,
    /// Wall time of the run.
    pub seconds: f64,
    /// Average read speed, MB/s (10^6 bytes), for a rip that wrote something.
    #[serde(default)]
    pub mb_per_s: Option<f64>,
    /// `success` or `failed`.
    pub outcome: String,
    /// Error code of a failure.
    #[serde(default)]
    pub code: Option<ErrorCode>,
}

/// The history file of one state directory. Appends are serialised within the process.
#[derive(Debug)]
pub struct History {
    path: PathBuf,
    rotated: PathBuf,
    /// Serialises appends; holds the read-speed totals once they were first asked for
    /// (read from the files then, kept up to date by each append after).
    rates: Mutex<Option<RateTotals>>,
}

/// Bytes and seconds of successful rips per (drive, disc type).
type RateTotals = BTreeMap<(String, String), (u64, f64)>;

impl History {
    /// The history kept in `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join(FILE_NAME),
            rotated: state_dir.join(ROTATED_NAME),
            rates: Mutex::new(None),
        }
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `entry` as one line (rotating first when the file is past [`ROTATE_AT`]).
    pub fn append(&self, entry: &HistoryEntry) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut rates = self.rates.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(totals) = rates.as_mut() {
            add_rate(totals, entry);
        }
        if std::fs::metadata(&self.path).is_ok_and(|m| m.len() >= ROTATE_AT) {
            std::fs::rename(&self.path, &self.rotated)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&self.path)?;
        if !ends_with_newline(&mut file)? {
            // A torn last line (a crash mid-write) is ended here, in the same write.
            line.insert(0, b'\n');
        }
        file.write_all(&line)
    }

    /// The usual read speed of `drive` for `disc_type`, bytes per second: all its
    /// successful rips' bytes over their time; `None` before its first.
    pub fn usual_rate(&self, drive: &str, disc_type: &str) -> Option<f64> {
        let mut rates = self.rates.lock().unwrap_or_else(PoisonError::into_inner);
        if rates.is_none() {
            let mut totals = RateTotals::new();
            for entry in self.read().unwrap_or_default() {
                add_rate(&mut totals, &entry);
            }
            *rates = Some(totals);
        }
        let (bytes, seconds) = rates
            .as_ref()?
            .get(&(drive.to_owned(), disc_type.to_owned()))?;
        (*seconds > 0.0).then(|| *bytes as f64 / seconds)
    }

    /// Every readable entry, oldest first (the rotated file, then the current one);
    /// torn or foreign lines are skipped. A missing file is an empty history.
    pub fn read(&self) -> io::Result<Vec<HistoryEntry>> {
        let mut entries = read_file(&self.rotated)?;
        entries.extend(read_file(&self.path)?);
        Ok(entries)
    }
}

/// Counts a successful rip's bytes and time towards its drive's read speed.
fn add_rate(totals: &mut RateTotals, entry: &HistoryEntry) {
    if let Some((bytes, seconds)) = timed_rip(entry) {
        let total = totals
            .entry((entry.drive.clone(), disc_type_of(entry)))
            .or_default();
        total.0 = total.0.saturating_add(bytes);
        total.1 += seconds;
    }
}

/// Bytes and seconds of a successful rip that took some time (what read speeds count).
fn timed_rip(entry: &HistoryEntry) -> Option<(u64, f64)> {
    match (&entry.code, &entry.task_type, entry.bytes) {
        (None, TaskType::Rip, Some(bytes)) if entry.seconds > 0.0 => Some((bytes, entry.seconds)),
        _ => None,
    }
}

/// The entry's disc type, `unknown` when none was recorded.
fn disc_type_of(entry: &HistoryEntry) -> String {
    entry.disc_type.clone().unwrap_or_else(|| "unknown".into())
}

/// Whether `file` is empty or ends with `\n`.
fn ends_with_newline(file: &mut File) -> io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last == [b'\n'])
}

fn read_file(path: &Path) -> io::Result<Vec<HistoryEntry>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::new(file);
    let mut entries = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        // A bounded read per line: a file of garbage without newlines costs no memory.
        let n = (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(entries);
        }
        if line.last() != Some(&b'\n') && n as u64 == MAX_LINE {
            skip_rest_of_line(&mut reader)?;
            continue;
        }
        if let Ok(entry) = serde_json::from_slice::<HistoryEntry>(&line) {
            entries.push(entry);
        }
    }
}

fn skip_rest_of_line(reader: &mut impl BufRead) -> io::Result<()> {
    let mut sink = Vec::new();
    loop {
        sink.clear();
        let n = reader.take(MAX_LINE).read_until(b'\n', &mut sink)?;
        if n == 0 || sink.last() == Some(&b'\n') {
            return Ok(());
        }
    }
}

/// What one drive did with one disc type.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DriveSummary {
    /// Drive id.
    pub drive: String,
    /// Disc type (`unknown` when none was recorded).
    pub disc_type: String,
    /// Successful rips.
    pub rips: u32,
    /// Bytes they wrote.
    pub bytes: u64,
    /// Their average read speed, MB/s (total bytes over total time).
    pub average_mb_per_s: Option<f64>,
    /// Failed tasks (scans and rips).
    pub failures: u32,
    /// Failures by error code.
    pub failure_codes: BTreeMap<String, u32>,
}

/// Per drive and disc type, in drive then disc-type order; `drive` filters by a
/// substring of the drive id (`sr0` matches `me@host:sr0`).
pub fn summarise(entries: &[HistoryEntry], drive: Option<&str>) -> Vec<DriveSummary> {
    let mut groups: BTreeMap<(String, String), (DriveSummary, f64)> = BTreeMap::new();
    for e in entries {
        if drive.is_some_and(|d| !e.drive.contains(d)) {
            continue;
        }
        let disc_type = disc_type_of(e);
        let key = (e.drive.clone(), disc_type.clone());
        let (summary, seconds) = groups.entry(key).or_insert_with(|| {
            let summary = DriveSummary {
                drive: e.drive.clone(),
                disc_type,
                ..DriveSummary::default()
            };
            (summary, 0.0)
        });
        if let Some(code) = &e.code {
            summary.failures += 1;
            *summary.failure_codes.entry(code.to_string()).or_default() += 1;
        } else if let Some((bytes, took)) = timed_rip(e) {
            summary.rips += 1;
            summary.bytes = summary.bytes.saturating_add(bytes);
            *seconds += took;
        }
    }
    groups
        .into_values()
        .map(|(mut s, seconds)| {
            s.average_mb_per_s = (seconds > 0.0).then(|| s.bytes as f64 / 1e6 / seconds);
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rip(drive: &str, disc_type: &str, bytes: u64, seconds: f64) -> HistoryEntry {
        HistoryEntry {
            finished_at: "2026-12-05T10:00:00+00:00".into(),
            task: "t".into(),
            task_type: TaskType::Rip,
            drive: drive.into(),
            disc_type: Some(disc_type.into()),
            disc: Some("M".into()),
            fingerprint: None,
            title: Some(0),
            bytes: Some(bytes),
            seconds,
            mb_per_s: Some(bytes as f64 / 1e6 / seconds),
            outcome: "success".into(),
            code: None,
        }
    }

    #[test]
    fn averages_are_per_drive_and_disc_type() {
        let mut failed = rip("h:sr0", "dvd", 0, 1.0);
        failed.code = Some(ErrorCode::DiscEjected);
        failed.outcome = "failed".into();
        let entries = [
            rip("h:sr0", "bluray", 30_000_000_000, 1_000.0),
            rip("h:sr0", "bluray", 10_000_000_000, 1_000.0),
            rip("h:sr0", "dvd", 8_000_000_000, 800.0),
            rip("h:sr1", "bluray", 5_000_000_000, 100.0),
            failed,
        ];
        let s = summarise(&entries, Some("sr0"));
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].disc_type.as_str(), s[0].rips), ("bluray", 2));
        assert_eq!(s[0].average_mb_per_s, Some(20.0));
        assert_eq!((s[1].rips, s[1].failures), (1, 1));
        assert_eq!(s[1].failure_codes.get("DISC_EJECTED"), Some(&1));
    }

    #[test]
    fn the_usual_rate_is_read_once_then_kept_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::new(dir.path());
        history
            .append(&rip("h:sr1", "bluray", 5_000_000_000, 100.0))
            .unwrap();
        assert_eq!(history.usual_rate("h:sr1", "bluray"), Some(50e6));
        assert_eq!(history.usual_rate("h:sr1", "dvd"), None);
        history
            .append(&rip("h:sr1", "bluray", 1_000_000_000, 100.0))
            .unwrap();
        assert_eq!(history.usual_rate("h:sr1", "bluray"), Some(30e6));
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_the_next_append_stays_whole() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::new(dir.path());
        history.append(&rip("h:sr0", "dvd", 1, 1.0)).unwrap();
        let mut file = OpenOptions::new()
            .append(true)
            .open(history.path())
            .unwrap();
        file.write_all(br#"{"finished_at":"2026-12-05T1"#).unwrap();
        assert_eq!(history.read().unwrap().len(), 1);
        history.append(&rip("h:sr0", "dvd", 2, 1.0)).unwrap();
        let read = history.read().unwrap();
        assert_eq!(
            read.iter().map(|e| e.bytes).collect::<Vec<_>>(),
            [Some(1), Some(2)]
        );
    }

    #[test]
    fn past_the_limit_the_file_rotates_and_both_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::new(dir.path());
        history.append(&rip("h:sr0", "dvd", 1, 1.0)).unwrap();
        let file = OpenOptions::new()
            .append(true)
            .open(history.path())
            .unwrap();
        file.set_len(ROTATE_AT).unwrap(); // zeros: not lines anyone reads
        history.append(&rip("h:sr0", "dvd", 2, 1.0)).unwrap();
        assert!(dir.path().join(ROTATED_NAME).exists());
        assert!(std::fs::metadata(history.path()).unwrap().len() < 1_000);
        let read = history.read().unwrap();
        assert_eq!(
            read.iter().map(|e| e.bytes).collect::<Vec<_>>(),
            [Some(1), Some(2)]
        );
    }

    #[test]
    fn garbage_without_newlines_costs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), vec![b'x'; 300_000]).unwrap();
        assert!(History::new(dir.path()).read().unwrap().is_empty());
    }
}
