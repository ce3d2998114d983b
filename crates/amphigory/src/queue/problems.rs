//! What is wrong with the queue directory itself (not with one task), for the status:
//! a queue folder that is missing and cannot be made again, a `tasks.json` too big to
//! read. Each pass re-checks, so a problem clears itself once the cause is gone.
//!
//! Missing folders (SPEC §4: `queued/`, `in_progress/`, `complete/` or `failed/` deleted
//! under a running daemon) are recreated on the next pass with one warning each time.

use std::fs;
use std::io;
use std::sync::{MutexGuard, PoisonError};

use super::layout::TaskState;
use super::{Queue, QueueError};

/// The queue directory's current problems, one slot per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueProblems {
    /// A queue folder is missing and cannot be recreated, or is not a folder.
    pub folders: Option<String>,
    /// `tasks.json` is over the size limit (or unreadable): order falls back to oldest
    /// first.
    pub order: Option<String>,
}

impl QueueProblems {
    /// Every problem, for the status.
    pub fn list(&self) -> Vec<String> {
        self.folders.iter().chain(&self.order).cloned().collect()
    }
}

/// The four folders every pass needs.
const FOLDERS: [TaskState; 4] = [
    TaskState::Queued,
    TaskState::InProgress,
    TaskState::Complete,
    TaskState::Failed,
];

impl Queue {
    /// The queue directory's current problems (empty when healthy).
    pub fn problems(&self) -> QueueProblems {
        self.problem_slots().clone()
    }

    pub(crate) fn problem_slots(&self) -> MutexGuard<'_, QueueProblems> {
        self.problems.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes sure the four queue folders exist: a missing one is created again (one
    /// warning); one that cannot be is a status problem and an error, so nothing waits
    /// silently. A few `stat`s when all is well.
    pub fn ensure_folders(&self) -> Result<(), QueueError> {
        let result = FOLDERS
            .iter()
            .try_for_each(|state| self.ensure_folder(*state));
        self.problem_slots().folders = result.as_ref().err().map(|e| {
            format!(
                "cannot use the task queue at {}: {e}",
                self.layout.root().display()
            )
        });
        result
    }

    fn ensure_folder(&self, state: TaskState) -> Result<(), QueueError> {
        let dir = self.layout.dir(state);
        match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(QueueError::io(
                "use",
                &dir,
                io::Error::other("it is not a folder"),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(&dir).map_err(|e| QueueError::io("recreate", &dir, e))?;
                tracing::warn!(path = %dir.display(), "a queue folder was missing; created it again");
                Ok(())
            }
            Err(e) => Err(QueueError::io("examine", &dir, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_folders_come_back_and_a_file_in_the_way_is_a_problem() {
        let tmp = tempfile::tempdir().unwrap();
        let queue = Queue::open(tmp.path().join("q"), &tmp.path().join("s"), "me@h").unwrap();
        let in_progress = queue.layout().dir(TaskState::InProgress);
        fs::remove_dir(&in_progress).unwrap();
        queue.ensure_folders().unwrap();
        assert!(in_progress.is_dir());
        assert!(queue.problems().list().is_empty());

        let complete = queue.layout().dir(TaskState::Complete);
        fs::remove_dir(&complete).unwrap();
        fs::write(&complete, b"not a folder").unwrap();
        assert!(queue.ensure_folders().is_err());
        let problems = queue.problems().list();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("not a folder"), "{problems:?}");

        fs::remove_file(&complete).unwrap();
        queue.ensure_folders().unwrap();
        assert!(queue.problems().list().is_empty());
    }
}
