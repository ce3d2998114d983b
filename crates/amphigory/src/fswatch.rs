//! File-system wake-ups (inotify / FSEvents through notify), shared by the queue watcher
//! and the simulated drives' monitor: a [`Notify`] is signalled for every change whose
//! path a filter accepts. A signal is a stored permit, so a burst of events costs one
//! re-read; events are hints, and each user re-reads what it watches.

use std::path::Path;
use std::sync::Arc;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::Notify;

/// Watches `dirs` for as long as the returned watcher lives, calling `wake.notify_one()`
/// for changes [`wakes`] accepts, and on watcher errors (an overflow may have hidden a
/// change). `Recursive` also watches sub-directories made later, which is how a watch
/// survives a sub-directory deleted and made again.
pub(crate) fn watch_dirs(
    dirs: &[&Path],
    mode: RecursiveMode,
    wake: Arc<Notify>,
    relevant: fn(&Path) -> bool,
) -> notify::Result<RecommendedWatcher> {
    watch_with(dirs, mode, move |res: notify::Result<Event>| match res {
        Ok(event) if wakes(&event, relevant) => wake.notify_one(),
        Ok(_) => {}
        Err(e) => {
            tracing::debug!(error = %e, "file watcher error; waking to re-read");
            wake.notify_one();
        }
    })
}

/// Watches `dirs` for as long as the returned watcher lives, handing every event (and
/// error) to `handler` on the watcher's thread.
pub(crate) fn watch_with(
    dirs: &[&Path],
    mode: RecursiveMode,
    handler: impl Fn(notify::Result<Event>) + Send + 'static,
) -> notify::Result<RecommendedWatcher> {
    let mut watcher = notify::recommended_watcher(handler)?;
    for dir in dirs {
        watcher.watch(dir, mode)?;
    }
    Ok(watcher)
}

/// Whether `event` is a change of a path `relevant` accepts. Opens and reads are not
/// (the watcher's user reading the files would otherwise wake itself forever), except a
/// close after writing; a rescan request always is.
pub(crate) fn wakes(event: &Event, relevant: fn(&Path) -> bool) -> bool {
    if event.need_rescan() {
        return true;
    }
    if let EventKind::Access(kind) = event.kind {
        if kind != AccessKind::Close(AccessMode::Write) {
            return false;
        }
    }
    event.paths.iter().any(|p| relevant(p))
}
