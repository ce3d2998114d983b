//! The shared file-system task queue (SPEC §4): selection, claims, leases, results, crash
//! recovery, pause, listing, enqueueing and wake-ups.
//!
//! The webapp and any number of daemons share one directory; every move between its
//! sub-directories is an atomic `rename`, so whoever renames first owns the move and the
//! others see `NotFound` and move on. The daemon-private state directory holds what must
//! not go into the webapp's files: claim records, attempt counts and the "run first" list.
//!
//! All methods are synchronous and do small amounts of file I/O (a few `stat`s and reads
//! per queued task); an async caller runs them on a blocking thread or accepts the short
//! stall. A [`Queue`] is a cheap handle: clones share the same state lock.
//!
//! # Using it (the engine)
//! 1. [`Queue::open`], then [`Queue::recover`] once, before the first claim: kill the
//!    `orphan_children` it reports before using a drive; publish its `failed` results;
//!    retry its `pending` results (tasks that finished but whose results could not be
//!    written before the daemon stopped).
//! 2. [`QueueWatcher::start`] (on failure, log and rely on rescans); then loop:
//!    [`Queue::next`] with a `can_run` predicate (drive free, makemkvcon found…), run the
//!    claim, publish [`Queue::take_rejected`], show [`Queue::problems`]; wait for the
//!    watcher's wake-up or [`RESCAN_INTERVAL`], whichever comes first.
//! 3. While a task runs: [`Queue::touch`] at least every [`TOUCH_INTERVAL`] (it renews
//!    the lease on the claim's sidecar); [`QueueError::ClaimLost`] → stop the run, then
//!    [`Queue::abandon`]; [`Queue::record_child_pid`] once `makemkvcon` runs.
//! 4. At the end: [`Queue::finish`] (or [`Queue::fail`]). An I/O error there means the
//!    result could not be written: the claim is kept and the result recorded with it;
//!    keep touching it and call `finish` again later. Pause-now and shutdown stop the
//!    child first, then [`Queue::requeue`].
//! 5. About once a minute: [`Queue::recover_expired`], for claims of daemons that died.
//!
//! # Layout
//! - [`layout`]: directory names, task states, safe ids.
//! - [`task`]: the validated, typed [`Task`]; `validate` turns a file into a task or
//!   an `INVALID_TASK` reason.
//! - `select`: [`Queue::next`], the selection walk, poison handling; `quarantine`:
//!   queued files whose names are no task ids.
//! - `claim`: [`Claim`], claim records, ownership sidecars.
//! - `lease`: renewing a claim's lease, [`Queue::touch`], and proving it is still ours.
//! - `results`: [`Queue::finish`], [`Queue::requeue`], [`Queue::abandon`], atomic result
//!   files.
//! - `recovery`: [`Queue::recover`], attempts; `resume`: finished claims whose results
//!   wait; `partial`: rip temp directories and partial output ([`rip_temp_dir`]);
//!   `sweep`: leftover temp files.
//! - `pause`, `listing`, `enqueue`: the `PAUSED` marker, [`Queue::list`],
//!   [`Queue::enqueue`].
//! - [`watch`]: [`QueueWatcher`], file-system notifications as wake-up hints.
//! - `order` (`tasks.json` and the candidate order), `problems` (missing folders, an
//!   oversized `tasks.json`), `state` (the state directory), `fsio` (atomic writes,
//!   no-follow reads, leases).

mod claim;
mod enqueue;
mod index;
mod invalid_task;
pub mod layout;
mod lease;
mod listed;
mod listing;
mod order;
mod partial;
mod pause;
mod problems;
mod quarantine;
mod recovery;
mod result_files;
mod resume;
mod select;
pub mod space;
mod state;
mod sweep;
pub mod task;
mod validate;
pub mod watch;

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use claim::Claim;
pub use enqueue::NewTask;
pub use layout::{Layout, TaskState, is_safe_id};
pub use listing::TaskEntry;
pub use partial::rip_temp_dir;
pub use problems::QueueProblems;
pub use recovery::{OrphanChild, PendingResult, RecoveryReport};
pub use result_files::failure_result;
pub use select::Rejected;
pub use space::{QueuedRip, VolumeSpace};
pub use task::{RipSpec, Task, TaskInput, TaskKind};
pub use watch::{QueueWatcher, RESCAN_INTERVAL};

pub(crate) use listed::OrderCache;
pub(crate) use order::ListedIds;
pub(crate) use validate::{Verdict, examine};

use state::StateStore;

/// A claim whose lease was renewed within this long is live: nobody else may move it.
/// [`Queue::with_lease`] shortens it (tests, through the daemon's hidden `--lease-ms`).
pub const LEASE: Duration = Duration::from_secs(5 * 60);

/// How often the engine must [`Queue::touch`] a running task (at most).
pub const TOUCH_INTERVAL: Duration = Duration::from_secs(30);

/// A task interrupted this many times is failed with `RETRIES_EXHAUSTED`.
pub const MAX_ATTEMPTS: u32 = 3;

/// A queued file whose JSON ends early is left alone while it is younger than this (it may
/// still be being written); after that it is `INVALID_TASK`.
pub const INCOMPLETE_GRACE: Duration = Duration::from_secs(2);

/// Largest task file accepted; bigger ones are `INVALID_TASK`.
pub const MAX_TASK_BYTES: u64 = 1024 * 1024;

/// Largest `tasks.json` read (SPEC §4 "Bounded reads"); a bigger one is a status problem
/// and the order falls back to oldest first.
pub const MAX_ORDER_BYTES: u64 = 16 * 1024 * 1024;

/// What can go wrong while working the queue. Problems with one task file never surface
/// here: they become `INVALID_TASK` results. These are problems with the directories
/// themselves, or with a claim that is no longer ours.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// A file-system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "create directory".
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The claim was taken over (lease expired and another daemon recovered it) or the
    /// task file vanished; the result must not be written and the run should stop.
    #[error("task {id} is no longer claimed by this daemon: {reason}")]
    ClaimLost {
        /// Task id.
        id: String,
        /// What was found instead.
        reason: String,
    },
    /// The task belongs to the webapp (`transcode`, `insert`, unknown types).
    #[error("task {id} is not a daemon task (type {task_type})")]
    NotOwned {
        /// Task id.
        id: String,
        /// Its type.
        task_type: String,
    },
    /// File-system notifications cannot be set up (rescans still work).
    #[error("cannot watch the queue directory: {0}")]
    Watch(#[from] notify::Error),
    /// A task to enqueue, or a result to write, does not hold together.
    #[error("invalid task: {0}")]
    Invalid(String),
}

impl QueueError {
    /// Wraps an I/O error with what was being done and where.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// A handle on one queue directory, as one daemon (one state directory) sees it.
#[derive(Debug, Clone)]
pub struct Queue {
    layout: Layout,
    state: StateStore,
    daemon_id: String,
    /// `tasks.json` as last read; read again only when it changed.
    order: Arc<Mutex<listed::OrderCache>>,
    /// What is in `queued/`, read once per change (see `index`).
    index: Arc<Mutex<index::Index>>,
    /// What changed since the last pass, from the watcher and from our own moves.
    changes: Arc<Mutex<index::Changes>>,
    /// A watcher feeds `changes` (else every pass lists `queued/`).
    watched: Arc<AtomicBool>,
    /// Invalid tasks failed by selection, until the engine takes them.
    rejected: Arc<Mutex<VecDeque<Rejected>>>,
    /// How long a claim stays live without a renewal ([`LEASE`] unless shortened).
    lease: Duration,
    /// What is wrong with the queue directory itself right now, for the status.
    problems: Arc<Mutex<QueueProblems>>,
}

impl Queue {
    /// Opens the queue at `tasks_dir` (creating `queued/`, `in_progress/`, `complete/`
    /// and `failed/` if missing: see [`Queue::ensure_folders`]) with private state under
    /// `state_dir/queue/`. Only an unusable state directory is an error.
    pub fn open(
        tasks_dir: impl Into<PathBuf>,
        state_dir: &Path,
        daemon_id: impl Into<String>,
    ) -> Result<Self, QueueError> {
        let state = StateStore::open(state_dir)?;
        let queue = Self {
            layout: Layout::new(tasks_dir),
            state,
            daemon_id: daemon_id.into(),
            order: Arc::default(),
            index: Arc::default(),
            changes: Arc::default(),
            watched: Arc::default(),
            rejected: Arc::new(Mutex::new(VecDeque::new())),
            lease: LEASE,
            problems: Arc::new(Mutex::new(QueueProblems::default())),
        };
        // A queue folder that cannot be made (a file in its place, a read-only mount) is
        // a status problem, re-checked on every pass: no reason not to start, and
        // finished tasks whose results wait must be able to start again.
        if let Err(e) = queue.ensure_folders() {
            tracing::warn!("{e}");
        }
        Ok(queue)
    }

    /// The same queue with another lease length (the renewal period must stay well
    /// under it). For tests that need a lease to expire in seconds, not minutes.
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a claim stays live without a renewal.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// The directory layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// This daemon's id, as written into ownership sidecars.
    pub fn daemon_id(&self) -> &str {
        &self.daemon_id
    }

    /// How many interrupted runs the state directory records for `id`.
    pub fn attempts(&self, id: &str) -> u32 {
        self.state.attempts(id)
    }
}

// Here, not in `space`, so `space` stays a model the index uses and never reads it.
impl Queue {
    /// The queued daemon rips, from the index (no file is read).
    pub fn queued_rips(&self) -> Result<Vec<QueuedRip>, QueueError> {
        let index = self.synced_index()?;
        Ok(index
            .entries
            .values()
            .filter_map(|e| match &e.cached {
                index::Cached::Task(facts) => facts.rip_need.clone(),
                _ => None,
            })
            .collect())
    }
}
