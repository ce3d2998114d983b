//! Partial rip output: the hidden directory a claim rips into, and what an interrupted
//! or abandoned rip leaves behind.
//!
//! A claim rips into `<output_dir>/.amphigory-<task id>+<claim nonce>` ([`rip_temp_dir`]):
//! per claim, not per task, so a daemon that lost its claim and cleans up after itself
//! never removes the directory the task's new owner is ripping into. On success the runner
//! moves MakeMKV's file to the destination and leaves a second hard link of it in the
//! directory, which proves to crash recovery which file at the destination the rip placed
//! (removed again if the task must be ripped anew, kept once the result is written).

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::fsio::RUNNER_TEMP_DIR_PREFIX as TEMP_DIR_PREFIX;

/// Separates the task id from the claim's nonce; never part of a safe id.
const NONCE_SEPARATOR: char = '+';

/// The hidden directory the claim with `nonce` rips task `task_id` into.
pub fn rip_temp_dir(output_dir: &Path, task_id: &str, nonce: &str) -> PathBuf {
    output_dir.join(format!(".amphigory-{task_id}{NONCE_SEPARATOR}{nonce}"))
}

/// Every claim's rip directory of `task_id` in `output_dir` (real directories, never
/// links), including the per-task name earlier versions used.
pub(crate) fn temp_dirs_of(output_dir: &Path, task_id: &str) -> Vec<PathBuf> {
    let bare = format!(".amphigory-{task_id}");
    let with_nonce = format!("{bare}{NONCE_SEPARATOR}");
    let Ok(entries) = fs::read_dir(output_dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n == bare || n.starts_with(&with_nonce))
        })
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// Removes a rip directory; logs and records what happened.
pub(crate) fn remove_temp_dir(temp: &Path, removed: &mut Vec<PathBuf>) {
    match fs::remove_dir_all(temp) {
        Ok(()) => {
            tracing::info!(path = %temp.display(), "removed partial rip output");
            removed.push(temp.to_owned());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %temp.display(), error = %e, "cannot remove partial rip output")
        }
    }
}

/// Removes the regular files of `dir` that are the same file (device and inode) as a
/// multiply linked regular file in `temp`: what the rip in `temp` placed.
pub(crate) fn remove_placed_output(dir: &Path, temp: &Path, removed: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(temp) else {
        return;
    };
    let linked: HashSet<(u64, u64)> = entries
        .flatten()
        .filter_map(|e| fs::symlink_metadata(e.path()).ok())
        .filter(|m| m.is_file() && m.nlink() > 1)
        .map(|m| (m.dev(), m.ino()))
        .collect();
    if linked.is_empty() {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let placed = fs::symlink_metadata(&path)
            .is_ok_and(|m| m.is_file() && linked.contains(&(m.dev(), m.ino())));
        if !placed {
            continue;
        }
        match fs::remove_file(&path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "removed the output of a rip that has no result; it is ripped again");
                removed.push(path);
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove the output of an unfinished rip")
            }
        }
    }
}

/// Removes the runner's own temp directories (`<TEMP_DIR_PREFIX><pid>-…`) made by the
/// daemon process `pid` in `dir`. Only used for this daemon's own claim records, whose
/// `pid` is our previous, dead incarnation on this host.
pub(crate) fn remove_runner_dirs(dir: &Path, pid: u32, removed: &mut Vec<PathBuf>) {
    let prefix = format!("{TEMP_DIR_PREFIX}{pid}-");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let ours = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&prefix));
        if ours && entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_temp_dir(&entry.path(), removed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_dirs_of_a_task_are_found_by_name_and_never_another_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let mine = rip_temp_dir(out, "a-rip", "n1");
        let old_style = out.join(".amphigory-a-rip");
        let other_task = rip_temp_dir(out, "a-rip2", "n1");
        for d in [&mine, &old_style, &other_task] {
            fs::create_dir(d).unwrap();
        }
        fs::write(out.join(".amphigory-a-rip+file"), b"not a dir").unwrap();
        assert_eq!(temp_dirs_of(out, "a-rip"), vec![old_style, mine]);
    }
}
