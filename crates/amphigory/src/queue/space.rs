//! What the queued rips will need on their output volumes (SPEC §11.2: `status` and
//! `doctor` show it): each queued rip's expected size (the task's, else the default for
//! its disc's type), added up per volume, beside the volume's free space and what the
//! running rips still hold.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::Task;
use super::layout::{Layout, TaskState};
use super::validate::{Verdict, examine_path};

/// What a rip of unknown size needs: a Blu-ray's main feature (SPEC §11.2).
pub const DEFAULT_BLURAY_BYTES: u64 = 50_000_000_000;
/// What a DVD rip of unknown size needs.
pub const DEFAULT_DVD_BYTES: u64 = 9_000_000_000;

/// One queued rip's claim on space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRip {
    /// Its output directory.
    pub directory: PathBuf,
    /// The task's `expected_size_bytes`.
    pub expected_size_bytes: Option<u64>,
    /// Its `disc_fingerprint` says DVD (the smaller default applies).
    pub dvd: bool,
}

impl QueuedRip {
    /// The rip `task` is, if it is one.
    pub fn of(task: &Task) -> Option<Self> {
        let rip = task.rip()?;
        Some(Self {
            directory: rip.directory.clone(),
            expected_size_bytes: rip.expected_size_bytes,
            dvd: task
                .disc_fingerprint
                .as_deref()
                .is_some_and(|f| f.starts_with("dvd-")),
        })
    }

    /// Bytes it is counted for.
    pub fn bytes(&self) -> u64 {
        match (self.expected_size_bytes, self.dvd) {
            (Some(size), _) => size,
            (None, true) => DEFAULT_DVD_BYTES,
            (None, false) => DEFAULT_BLURAY_BYTES,
        }
    }
}

/// One output volume's space: the control socket's wire type, so `status` sends what
/// this module adds up as it is.
pub use amphigory_wire::control::VolumeSpace;

/// The queued rips in the queue at `tasks_dir`, read from its files (for `doctor`,
/// which runs without a daemon). Unreadable or foreign files are left out.
pub fn queued_rips_in(tasks_dir: &Path) -> std::io::Result<Vec<QueuedRip>> {
    let queued = Layout::new(tasks_dir.to_owned()).dir(TaskState::Queued);
    let mut rips = Vec::new();
    for entry in std::fs::read_dir(&queued)? {
        let path = entry?.path();
        let Some(stem) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        if let Some(Verdict::Valid(task)) = examine_path(stem, &path) {
            rips.extend(QueuedRip::of(&task));
        }
    }
    Ok(rips)
}

/// The queued rips added up per output volume, with each volume's free space and what
/// `held` (bytes the running rips to the directory's volume still need) says.
pub fn by_volume(rips: &[QueuedRip], held: impl Fn(&Path) -> u64) -> Vec<VolumeSpace> {
    let mut volumes: BTreeMap<u64, VolumeSpace> = BTreeMap::new();
    for rip in rips {
        let Some(existing) = nearest_existing(&rip.directory) else {
            continue;
        };
        let Ok(device) = std::fs::metadata(existing).map(|m| m.dev()) else {
            continue;
        };
        let volume = volumes.entry(device).or_insert_with(|| VolumeSpace {
            volume: crate::fsio::volume_of(existing).display().to_string(),
            free_bytes: crate::fsio::free_bytes(existing).unwrap_or(0),
            held_bytes: held(existing),
            ..VolumeSpace::default()
        });
        volume.queued_bytes = volume.queued_bytes.saturating_add(rip.bytes());
        volume.queued_rips += 1;
        volume.estimated_rips += u32::from(rip.expected_size_bytes.is_none());
    }
    volumes.into_values().collect()
}

/// `dir` or its closest ancestor that exists (a rip's folder is made when it starts).
fn nearest_existing(dir: &Path) -> Option<&Path> {
    dir.ancestors().find(|p| p.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rips_are_added_up_per_volume_with_defaults_for_unknown_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let rip = |sub: &str, size: Option<u64>, dvd: bool| QueuedRip {
            directory: dir.path().join(sub),
            expected_size_bytes: size,
            dvd,
        };
        let rips = [
            rip("a", Some(1_000), false),
            rip("b/not/yet/made", None, true),
            rip("c", None, false),
        ];
        let volumes = by_volume(&rips, |_| 7);
        assert_eq!(volumes.len(), 1);
        let v = &volumes[0];
        assert_eq!(
            v.queued_bytes,
            1_000 + DEFAULT_DVD_BYTES + DEFAULT_BLURAY_BYTES
        );
        assert_eq!((v.queued_rips, v.estimated_rips, v.held_bytes), (3, 2, 7));
        assert!(v.free_bytes > 0);
    }
}
