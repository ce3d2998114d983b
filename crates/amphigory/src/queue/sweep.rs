//! The leftovers sweep at start-up: stale sidecars (no task file, older than a lease) and
//! the temporary files of interrupted atomic writes, removed at once when their writer is
//! a dead process of this host, else once they are older than a lease (another host may
//! still be writing).

use std::fs;

use super::Queue;
use super::layout::{SIDECAR_EXT, TaskState};
use crate::fsio::{self, TEMP_PREFIX, TEMP_SUFFIX};

impl Queue {
    /// Removes what interrupted writes and claims left behind (see the module docs).
    pub(crate) fn sweep_leftovers(&self) {
        let in_progress = self.layout.dir(TaskState::InProgress);
        let dirs = [
            self.layout.root().to_path_buf(),
            self.layout.dir(TaskState::Queued),
            in_progress.clone(),
            self.layout.dir(TaskState::Complete),
            self.layout.dir(TaskState::Failed),
        ];
        for dir in dirs.into_iter().chain(self.state.dirs()) {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                let temp = name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX);
                let sidecar = dir == in_progress
                    && name.strip_suffix(SIDECAR_EXT).is_some_and(|stem| {
                        stem.ends_with('.') && !fsio::exists(&dir.join(format!("{stem}json")))
                    });
                if !temp && !sidecar {
                    continue;
                }
                let path = entry.path();
                let orphaned = temp && fsio::temp_writer_is_dead(name);
                let old = fsio::age(&path)
                    .ok()
                    .flatten()
                    .is_some_and(|a| a >= self.lease);
                if orphaned || old {
                    if let Err(e) = fsio::remove_any(&path) {
                        tracing::warn!(path = %path.display(), error = %e, "cannot remove leftover");
                    }
                }
            }
        }
    }
}
