//! Where a rip's file goes (SPEC §6.1): the folders a rip needs are made, but never
//! where that would mean filling a mount point whose volume is not there.
//!
//! - Below the webapp's `ripped_directory` (when known and present), every missing level
//!   is made: `…/ripped/Movies/Title (2004)/`.
//! - Elsewhere, missing levels are made below the nearest folder that exists, unless that
//!   is `/` or a mount root (`/Volumes`, `/media`, `/mnt`, `/run/media`, or a user's
//!   folder in `/media` or `/run/media`): then the volume is not mounted, and the rip
//!   fails with `OUTPUT_WRITE_FAILED` naming the missing folder, with nothing made.

use std::io;
use std::path::{Path, PathBuf};

use amphigory_wire::{ErrorCode, TaskError};

/// Makes `dir` (and what is missing above it) when the rules allow; the error to fail
/// the rip with otherwise.
pub(crate) fn prepare(dir: &Path, ripped_root: Option<&Path>) -> Result<(), TaskError> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(write_failed(
                format!("{} is not a folder", dir.display()),
                None,
            ));
        }
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(write_failed(
                format!("Output folder {} is not available", dir.display()),
                Some(e.to_string()),
            ));
        }
        Err(_) => {}
    }
    let below_root = ripped_root.is_some_and(|root| root.is_dir() && dir.starts_with(root));
    if !below_root {
        let existing = nearest_existing(dir);
        if is_mount_root(&existing) {
            let missing = first_missing(dir, &existing);
            return Err(write_failed(
                format!(
                    "{} does not exist: is its volume mounted? Nothing was created in {}",
                    missing.display(),
                    existing.display()
                ),
                Some(format!("output folder {}", dir.display())),
            ));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        write_failed(
            format!("Cannot create the output folder {}", dir.display()),
            Some(e.to_string()),
        )
    })
}

/// The closest ancestor of `dir` that exists (`/` at worst).
fn nearest_existing(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|a| a.exists())
        .unwrap_or_else(|| Path::new("/"))
        .to_owned()
}

/// The level just below `existing` on the way to `dir`: the folder a user would find
/// missing.
fn first_missing(dir: &Path, existing: &Path) -> PathBuf {
    dir.ancestors()
        .take_while(|a| *a != existing)
        .last()
        .unwrap_or(dir)
        .to_owned()
}

/// `/`, a folder volumes are mounted in, or a user's folder in one.
fn is_mount_root(path: &Path) -> bool {
    const ROOTS: [&str; 5] = ["/", "/Volumes", "/media", "/mnt", "/run/media"];
    let is_root = |p: &Path| ROOTS.iter().any(|r| p == Path::new(r));
    let per_user = path
        .parent()
        .is_some_and(|p| p == Path::new("/media") || p == Path::new("/run/media"));
    is_root(path) || per_user
}

fn write_failed(message: String, detail: Option<String>) -> TaskError {
    TaskError::new(ErrorCode::OutputWriteFailed, message, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_levels_are_made_below_the_ripped_directory_or_an_existing_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let ripped = tmp.path().join("ripped");
        std::fs::create_dir(&ripped).unwrap();
        let deep = ripped.join("Movies/Heat (1995)");
        prepare(&deep, Some(&ripped)).unwrap();
        assert!(deep.is_dir());
        let elsewhere = tmp.path().join("other/TV/Show");
        prepare(&elsewhere, None).unwrap();
        assert!(elsewhere.is_dir());
        prepare(&elsewhere, None).unwrap();
    }

    #[test]
    fn an_unmounted_volume_is_refused_and_nothing_is_made() {
        for dir in [
            "/Volumes/NoSuchDisk/Movies/M",
            "/mnt/nosuchdisk/M",
            "/nosuchfolder-amphigory/M",
        ] {
            let e = prepare(Path::new(dir), None).unwrap_err();
            assert_eq!(e.code, ErrorCode::OutputWriteFailed);
            // Names the first missing folder on the way, which is still missing.
            let (missing, _) = e.message.split_once(" does not exist").unwrap();
            assert!(Path::new(dir).starts_with(missing), "{}", e.message);
            assert!(!Path::new(missing).exists());
        }
        assert!(is_mount_root(Path::new("/media/alice")));
        assert!(is_mount_root(Path::new("/run/media/alice")));
        assert!(!is_mount_root(Path::new("/media/alice/Disk")));
    }

    #[test]
    fn a_file_in_the_way_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let e = prepare(&file, None).unwrap_err();
        assert!(e.message.contains("not a folder"), "{}", e.message);
    }
}
