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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notify::{Event, RecommendedWatcher, RecursiveMode};
use tokio::sync::Notify;

use super::index::Changes;
use super::layout::{Layout, PAUSED, TASKS_JSON, TaskState};
use super::listed::OrderCache;
use super::{Queue, QueueError};

/// The safety rescan period: the engine looks at the queue at least this often.
pub const RESCAN_INTERVAL: Duration = Duration::from_secs(5);

/// Watches a queue directory for as long as it lives.
#[derive(Debug)]
pub struct QueueWatcher {
    _watcher: RecommendedWatcher,
    /// The `watched` flag of the queue this watcher feeds, cleared when it is dropped
    /// (the queue then lists `queued/` on every pass again).
    feeding: Option<Arc<AtomicBool>>,
}

impl Drop for QueueWatcher {
    fn drop(&mut self) {
        if let Some(flag) = &self.feeding {
            flag.store(false, Ordering::Release);
        }
    }
}

impl QueueWatcher {
    /// Starts watching the queue at `tasks_dir`; each relevant event calls
    /// `wake.notify_one()`. An error (no inotify instances left, unsupported mount…) is
    /// for the caller to log: the engine's rescans still find every task. This watcher
    /// only wakes; [`Queue::watch`] also tells the queue what changed.
    pub fn start(tasks_dir: impl AsRef<Path>, wake: Arc<Notify>) -> Result<Self, QueueError> {
        let layout = Layout::new(tasks_dir.as_ref());
        let watcher = crate::fswatch::watch_dirs(
            &[layout.root()],
            RecursiveMode::Recursive,
            wake,
            relevant_path,
        )?;
        Ok(Self {
            _watcher: watcher,
            feeding: None,
        })
    }
}

impl Queue {
    /// Watches this queue's directory: each relevant event wakes `wake` and tells the
    /// queue which names changed, so a pass reads only those (see `index`). Events are
    /// still hints: call [`Queue::request_rescan`] every [`RESCAN_INTERVAL`].
    pub fn watch(&self, wake: Arc<Notify>) -> Result<QueueWatcher, QueueError> {
        self.watch_lossy(wake, 0)
    }

    /// [`Queue::watch`], losing about `loss_percent` % of the events on purpose, the way
    /// shared mounts lose them: for tests of the safety rescan.
    #[doc(hidden)]
    pub fn watch_lossy(
        &self,
        wake: Arc<Notify>,
        loss_percent: u8,
    ) -> Result<QueueWatcher, QueueError> {
        let feed = Feed {
            changes: self.changes.clone(),
            order: self.order.clone(),
            wake: wake.clone(),
            loss: Loss::new(loss_percent),
        };
        let watcher = crate::fswatch::watch_with(
            &[self.layout.root()],
            RecursiveMode::Recursive,
            move |event| feed.take(event),
        )?;
        // Whatever happened before the watch began was not seen.
        self.request_rescan();
        self.watched.store(true, Ordering::Release);
        wake.notify_one();
        Ok(QueueWatcher {
            _watcher: watcher,
            feeding: Some(self.watched.clone()),
        })
    }
}

/// Where a feeding watcher's events go.
struct Feed {
    changes: Arc<Mutex<Changes>>,
    order: Arc<Mutex<OrderCache>>,
    wake: Arc<Notify>,
    loss: Loss,
}

impl Feed {
    fn take(&self, event: notify::Result<Event>) {
        if self.loss.drops() {
            return;
        }
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                tracing::debug!(error = %e, "file watcher error; listing the queue again");
                self.lock_changes().all = true;
                self.wake.notify_one();
                return;
            }
        };
        if !crate::fswatch::wakes(&event, relevant_path) {
            return;
        }
        if event.need_rescan() {
            self.lock_changes().all = true;
        }
        for path in &event.paths {
            self.note(path);
        }
        self.wake.notify_one();
    }

    /// Records what a changed `path` means for the next pass.
    fn note(&self, path: &Path) {
        let Some(name) = path.file_name() else {
            return;
        };
        let in_queued = path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|p| p == TaskState::Queued.as_str());
        if in_queued {
            self.lock_changes().names.insert(name.to_owned());
        } else if name == TaskState::Queued.as_str() {
            self.lock_changes().all = true;
        } else if name == TASKS_JSON {
            self.order
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .stale = true;
        }
    }

    fn lock_changes(&self) -> std::sync::MutexGuard<'_, Changes> {
        self.changes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Drops about `percent` % of events (a small deterministic generator: tests replay).
struct Loss {
    percent: u64,
    state: AtomicU64,
}

impl Loss {
    fn new(percent: u8) -> Self {
        Self {
            percent: u64::from(percent.min(100)),
            state: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
        }
    }

    fn drops(&self) -> bool {
        if self.percent == 0 {
            return false;
        }
        // SplitMix64 step; relaxed is enough for a test knob.
        let z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % 100 < self.percent
    }
}

/// Creations, removals, renames, writes of `queued/*`, `tasks.json`, `PAUSED`.
/// Paths are compared by name, not in full: FSEvents reports canonical paths
/// (`/private/var/…` for `/var/…`).
fn relevant_path(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Some(name) = path.file_name() else {
        return false;
    };
    if name == TASKS_JSON || name == PAUSED || name == TaskState::Queued.as_str() {
        return true;
    }
    let parent = path.parent().and_then(Path::file_name);
    // Names need not be UTF-8: a badly named task file must be noticed too.
    parent.is_some_and(|p| p == TaskState::Queued.as_str()) && !name.as_bytes().starts_with(b".")
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
