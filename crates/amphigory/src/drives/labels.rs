//! Persistent human names for drives (SPEC §9.1): `labels.json` in the state directory,
//! a JSON object from drive id to label, loaded at start-up and rewritten atomically on
//! every change.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use amphigory_wire::drive::DriveStatus;

/// File name of the labels in the state directory.
pub const LABELS_FILE: &str = "labels.json";
/// Longest label accepted, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

/// Why a label could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// Too long, or holds control characters.
    #[error(
        "a drive label must be at most {MAX_LABEL_CHARS} characters without control characters"
    )]
    Invalid,
    /// The file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// `labels.json`.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// The labels, shared by the control socket (which changes them) and whoever builds
/// drive objects (which applies them).
#[derive(Debug)]
pub struct Labels {
    path: PathBuf,
    // A std mutex: held for a map update and one small file write, never across an await;
    // it also serialises the writes so the file always holds the latest map.
    map: Mutex<BTreeMap<String, String>>,
    /// `drives:` of daemon.yaml (drive id or device name → label): used where no label
    /// was set at run time.
    configured: BTreeMap<String, String>,
}

impl Labels {
    /// Loads `state_dir/labels.json`. A missing file is no labels; an unreadable one is
    /// logged and treated as none (it is replaced on the next change).
    pub fn load(state_dir: &Path) -> Self {
        let path = state_dir.join(LABELS_FILE);
        let map = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("ignoring unreadable {}: {e}", path.display());
                BTreeMap::new()
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                tracing::warn!("cannot read {}: {e}", path.display());
                BTreeMap::new()
            }
        };
        Self {
            path,
            map: Mutex::new(map),
            configured: BTreeMap::new(),
        }
    }

    /// Adds the labels of daemon.yaml's `drives:` (keyed by drive id, device path or
    /// device name), for drives without a label set at run time.
    pub fn with_configured(mut self, configured: BTreeMap<String, String>) -> Self {
        self.configured = configured;
        self
    }

    /// The label of drive `drive_id` at `device`, if any.
    pub fn get(&self, drive_id: &str, device: &str) -> Option<String> {
        if let Some(label) = self.lock().get(drive_id) {
            return Some(label.clone());
        }
        self.configured
            .iter()
            .find(|(key, _)| crate::core::status::names_drive(drive_id, device, key))
            .map(|(_, label)| label.clone())
    }

    /// Sets (or, for an empty `label`, removes) the label of `drive_id` and writes the
    /// file. Returns the label now in force. Blocking: call from a blocking thread.
    pub fn set(&self, drive_id: &str, label: &str) -> Result<Option<String>, LabelError> {
        let label = label.trim();
        if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
            return Err(LabelError::Invalid);
        }
        let mut map = self.lock();
        let mut next = map.clone();
        if label.is_empty() {
            next.remove(drive_id);
        } else {
            next.insert(drive_id.to_owned(), label.to_owned());
        }
        write_atomic(&self.path, &next).map_err(|source| LabelError::Write {
            path: self.path.clone(),
            source,
        })?;
        *map = next;
        Ok(map.get(drive_id).cloned())
    }

    /// Puts each drive's label (or none) on its drive object.
    pub fn apply(&self, drives: &mut [DriveStatus]) {
        for drive in drives {
            drive.label = self.get(&drive.drive_id, &drive.device);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Writes the labels with [`crate::fsio::write_atomic`]: a reader sees the old file or
/// the new one, never half of one.
fn write_atomic(path: &Path, map: &BTreeMap<String, String>) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::other("labels path has no file name"))?;
    let mut bytes = serde_json::to_vec_pretty(map).map_err(io::Error::other)?;
    bytes.push(b'\n');
    crate::fsio::write_atomic(dir, name, &bytes, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_persist_apply_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        let labels = Labels::load(dir.path());
        assert_eq!(labels.get("a:sr0", "/dev/sr0"), None);
        assert_eq!(
            labels.set("a:sr0", "  Left drive ").unwrap().as_deref(),
            Some("Left drive")
        );
        let reloaded = Labels::load(dir.path());
        let mut drives = vec![
            DriveStatus {
                drive_id: "a:sr0".into(),
                ..DriveStatus::default()
            },
            DriveStatus {
                drive_id: "a:sr1".into(),
                label: Some("stale".into()),
                ..DriveStatus::default()
            },
        ];
        reloaded.apply(&mut drives);
        assert_eq!(drives[0].label.as_deref(), Some("Left drive"));
        assert_eq!(drives[1].label, None);
        assert_eq!(reloaded.set("a:sr0", "").unwrap(), None);
        assert_eq!(Labels::load(dir.path()).get("a:sr0", "/dev/sr0"), None);
        assert!(matches!(
            reloaded.set("a:sr0", "bad\nlabel"),
            Err(LabelError::Invalid)
        ));
    }

    #[test]
    fn a_broken_file_is_no_labels() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LABELS_FILE), b"{not json").unwrap();
        assert_eq!(Labels::load(dir.path()).get("x", "/dev/x"), None);
    }

    #[test]
    fn configured_labels_fill_in_by_device_name_or_id() {
        let dir = tempfile::tempdir().unwrap();
        let configured = [("sr1", "Right"), ("a:sr0", "Left (yaml)")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let labels = Labels::load(dir.path()).with_configured(configured);
        assert_eq!(labels.get("a:sr1", "/dev/sr1").as_deref(), Some("Right"));
        assert_eq!(
            labels.get("a:sr0", "/dev/sr0").as_deref(),
            Some("Left (yaml)")
        );
        labels.set("a:sr0", "Left").unwrap();
        assert_eq!(labels.get("a:sr0", "/dev/sr0").as_deref(), Some("Left"));
        assert_eq!(labels.get("a:sr2", "/dev/sr2"), None);
    }
}
