//! Wake-ups: file-system notifications (inotify / FSEvents) on `queued/`, `tasks.json`
//! and `PAUSED` (the queue directory watched recursively, so a `queued/` deleted and made
//! again is watched again) signal a [`tokio::sync::Notify`]. Events are hints, never the truth: the
//! engine rescans the queue on every signal *and* at least every
//! [`RESCAN_INTERVAL`], because events get lost on shared mounts. There is no debounce:
//! a signal is a stored permit (`notify_one`), so a burst of events costs one rescan,
//! and a task written to `queued/` is picked up at once.
//!
//! Engine loop:
//! ```ignore
//! let wake = Arc::new(Notify::new());
//! let _watcher = QueueWatcher::start(queue.layout().root(), wake.clone())
//!     .inspect_err(|e| tracing::warn!("{e}; relying on rescans"));
//! loop {
//!     // … queue.next(|task| drive_is_free(task)) …
//!     tokio::select! {
//!         _ = wake.notified() => {}
//!         _ = tokio::time::sleep(RESCAN_INTERVAL) => {}
//!         _ = cancel.cancelled() => break,
//!     }
//! }
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode};
use tokio::sync::Notify;

use super::QueueError;
use super::layout::{Layout, PAUSED, TASKS_JSON, TaskState};

/// The safety rescan period: the engine looks at the queue at least this often.
pub const RESCAN_INTERVAL: Duration = Duration::from_secs(5);

/// Watches a queue directory for as long as it lives.
#[derive(Debug)]
pub struct QueueWatcher {
    _watcher: RecommendedWatcher,
}

impl QueueWatcher {
    /// Starts watching the queue at `tasks_dir`; each relevant event calls
    /// `wake.notify_one()`. An error (no inotify instances left, unsupported mount…) is
    /// for the caller to log: the engine's rescans still find every task.
    pub fn start(tasks_dir: impl AsRef<Path>, wake: Arc<Notify>) -> Result<Self, QueueError> {
        let layout = Layout::new(tasks_dir.as_ref());
        Ok(Self {
            _watcher: watch(&layout, wake)?,
        })
    }
}

/// The whole queue directory, recursively: a `queued/` deleted and made again (SPEC §4
/// "Missing queue directories") is watched again at once. Changes elsewhere (`complete/`,
/// `in_progress/`) are filtered out by name before they wake anyone.
fn watch(layout: &Layout, wake: Arc<Notify>) -> notify::Result<RecommendedWatcher> {
    crate::fswatch::watch_dirs(
        &[layout.root()],
        RecursiveMode::Recursive,
        wake,
        relevant_path,
    )
}

/// Creations, removals, renames, writes of `queued/*`, `tasks.json`, `PAUSED`.
/// Paths are compared by name, not in full: FSEvents reports canonical paths
/// (`/private/var/…` for `/var/…`).
fn relevant_path(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name == TASKS_JSON || name == PAUSED || name == TaskState::Queued.dir_name() {
        return true;
    }
    let parent = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str());
    parent == Some(TaskState::Queued.dir_name()) && !name.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};
    use notify::{Event, EventKind};

    fn is_relevant(event: &Event) -> bool {
        crate::fswatch::wakes(event, relevant_path)
    }

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(path.into())
    }

    #[test]
    fn only_queue_changes_wake() {
        let create = EventKind::Create(CreateKind::File);
        assert!(is_relevant(&event(create, "/q/queued/a-rip.json")));
        assert!(is_relevant(&event(create, "/q/PAUSED")));
        assert!(is_relevant(&event(
            EventKind::Modify(ModifyKind::Any),
            "/q/tasks.json"
        )));
        assert!(!is_relevant(&event(create, "/q/queued/.amphigory.x.tmp")));
        assert!(!is_relevant(&event(create, "/q/complete/a-rip.json")));
        let open = EventKind::Access(AccessKind::Open(AccessMode::Read));
        assert!(!is_relevant(&event(open, "/q/queued/a-rip.json")));
        let closed = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert!(is_relevant(&event(closed, "/q/tasks.json")));
    }
}
