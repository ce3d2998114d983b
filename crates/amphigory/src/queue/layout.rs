//! Where things live in the shared task directory (SPEC §4), and which ids are safe to use
//! as file names.

use std::path::{Path, PathBuf};

/// `tasks.json`, the webapp's priority order.
pub const TASKS_JSON: &str = "tasks.json";
/// The pause marker, in the queue directory itself.
pub const PAUSED: &str = "PAUSED";
/// Longest id accepted as a file name.
pub const MAX_ID_LEN: usize = 200;

/// Extension of the ownership sidecar beside a claimed task (`in_progress/<id>.owner`);
/// deliberately not `.json`, so nobody mistakes it for a task.
pub(crate) const SIDECAR_EXT: &str = "owner";

/// Where a task file is: one sub-directory each, named as the wire names the state
/// (`in_progress/`).
pub use amphigory_wire::control::TaskState;

/// Paths of one queue directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout rooted at `root` (the `tasks/` directory).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The queue directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `tasks.json`.
    pub fn tasks_json(&self) -> PathBuf {
        self.root.join(TASKS_JSON)
    }

    /// The `PAUSED` marker.
    pub fn paused_marker(&self) -> PathBuf {
        self.root.join(PAUSED)
    }

    /// The sub-directory for `state`.
    pub fn dir(&self, state: TaskState) -> PathBuf {
        self.root.join(state.as_str())
    }

    /// `<state dir>/<id>.json`.
    pub fn file(&self, state: TaskState, id: &str) -> PathBuf {
        self.dir(state).join(format!("{id}.json"))
    }

    /// `in_progress/<id>.owner`, the ownership sidecar of a claim.
    pub(crate) fn sidecar(&self, id: &str) -> PathBuf {
        self.dir(TaskState::InProgress)
            .join(format!("{id}.{SIDECAR_EXT}"))
    }
}

/// True when `id` can be used as a file name stem: 1 to [`MAX_ID_LEN`] ASCII letters,
/// digits, `.`, `_` or `-`, not starting with `.` (hidden names are temp files).
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The task id of a directory entry name, if it names a task file: `<stem>.json`, not
/// hidden. The stem may still be unsafe (the caller fails such files).
pub(crate) fn stem_of(name: &str) -> Option<&str> {
    if name.starts_with('.') {
        return None;
    }
    name.strip_suffix(".json").filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_ids_are_plain_names() {
        assert!(is_safe_id("20251227T143052.123456-rip"));
        assert!(is_safe_id("20251221-143045-001"));
        for bad in ["", ".", "..", ".hidden", "a/b", "a b", "a\0b", "é-rip"] {
            assert!(!is_safe_id(bad), "{bad:?}");
        }
        assert!(!is_safe_id(&"a".repeat(MAX_ID_LEN + 1)));
    }

    #[test]
    fn task_file_names_have_stems() {
        assert_eq!(stem_of("x-rip.json"), Some("x-rip"));
        assert_eq!(stem_of(".x-rip.json"), None);
        assert_eq!(stem_of("x-rip.json.tmp"), None);
        assert_eq!(stem_of("x.owner"), None);
        assert_eq!(stem_of("bad name.json"), Some("bad name"));
    }
}
