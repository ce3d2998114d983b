//! The in-memory index of `queued/` (issue 16: the queue at any depth). Every task file
//! is read once, when it appears or changes, not on every pass: selection, the queue
//! depth and listings work from here.
//!
//! - What changed comes from the file-system events themselves ([`Changes`], fed by the
//!   queue's watcher, and by this daemon's own moves), so a wake-up touches only those
//!   names. Without a watcher feeding it, every pass lists the folder and compares each
//!   file's inode, size and mtime: still no re-read of unchanged files.
//! - The safety rescan (events get lost on shared mounts) is a directory listing compared
//!   by name and inode with the index: a few hundred µs for 10,000 entries.
//! - Valid daemon tasks are kept in groups by target (drive, disc fingerprint, type),
//!   each ordered by rank (the "run first" list, then `tasks.json` order, then unlisted
//!   files oldest first), so matching tasks to free drives costs one decision per group,
//!   not one per task.
//!
//! The raw JSON of a task is not kept (10,000 of them would weigh megabytes): the claimed
//! file is read again, whole, at claim time.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use super::layout::{TaskState, is_safe_id, stem_of};
use super::task::{Task, TaskInput, TaskKind};
use super::validate::{Verdict, examine_path};
use super::{Queue, QueueError};
use crate::fsio;

/// What the watcher (and this daemon's own moves) report between passes.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// Names in `queued/` that changed.
    pub names: HashSet<OsString>,
    /// A full listing is due (start-up, safety rescan, lost events, a folder made again).
    pub all: bool,
}

/// Where a task stands in the selection order: the "run first" list, then `tasks.json`,
/// then unlisted files oldest first; the id breaks ties.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Rank {
    tier: u8,
    position: usize,
    mtime: SystemTime,
    pub id: Arc<str>,
}

/// What routing looks at: tasks with equal targets go to the same drive (or none).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    drive: Option<String>,
    disc_fingerprint: Option<String>,
    scan: bool,
}

impl Target {
    fn of(task: &Task) -> Self {
        Self {
            drive: task.drive.clone(),
            disc_fingerprint: task.disc_fingerprint.clone(),
            scan: matches!(task.kind, TaskKind::Scan),
        }
    }
}

/// The valid daemon tasks of one target, in rank order, and one of them whole (routing
/// asks about the group with it: the answer is the same for every member).
#[derive(Debug)]
pub(crate) struct Group {
    pub sample: Task,
    pub members: BTreeSet<Rank>,
}

/// What selection needs of a valid task beyond its target (its JSON is read again, whole,
/// when it is claimed).
#[derive(Debug)]
pub(crate) struct TaskFacts {
    target: Arc<Target>,
    pub input: Option<TaskInput>,
    /// A rip's output directory (the claim records it before the claim's rename).
    pub output_dir: Option<PathBuf>,
    /// A rip's expected size and disc kind, for what queued rips need (`status`).
    pub rip_need: Option<super::space::QueuedRip>,
}

/// What a queued file turned out to be, as far as selection cares.
#[derive(Debug)]
pub(crate) enum Cached {
    /// A valid daemon task.
    Task(TaskFacts),
    /// Someone else's (`transcode`, `insert`…): left alone.
    NotOurs,
    /// A daemon task to fail with `INVALID_TASK`, or one still being written: judged
    /// again, from the file, each pass.
    Unsettled,
}

/// One file in `queued/`.
#[derive(Debug)]
pub(crate) struct Entry {
    ino: u64,
    len: u64,
    mtime: SystemTime,
    pub cached: Cached,
    pub rank: Rank,
    /// The listing that last saw it (entries no listing saw are gone).
    seen: u64,
}

impl Entry {
    fn daemon_owned(&self) -> bool {
        !matches!(self.cached, Cached::NotOurs)
    }
}

/// Inode, mtime and ctime of `queued/` when it was last listed: unchanged means no file
/// was added, removed or renamed since.
type DirStamp = (u64, SystemTime, i64, i64);

/// How often a watched queue is listed in full even when the folder looks unchanged
/// (attribute caches of shared mounts can hide a change for a while).
const FULL_LISTING_EVERY: Duration = Duration::from_secs(60);
/// A folder changed this recently may change again within the same timestamp tick.
const SETTLED: Duration = Duration::from_secs(2);

/// The index; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub entries: HashMap<Arc<str>, Entry>,
    /// Valid daemon tasks by target.
    pub groups: HashMap<Arc<Target>, Group>,
    /// Daemon tasks to judge again each pass (invalid, or still being written).
    pub unsettled: BTreeSet<Rank>,
    /// `*.json` files whose names can never be task ids.
    pub odd_names: Vec<OsString>,
    /// Position of each id in the "run first" list and in `tasks.json`.
    front: HashMap<Arc<str>, usize>,
    listed: HashMap<Arc<str>, usize>,
    /// The ids `tasks.json` lists, in order (ids with no queued file included).
    pub listed_ids: Arc<Vec<Arc<str>>>,
    /// Entries that are daemon tasks (valid or not): the queue depth.
    pub owned: usize,
    /// The folder as of the last full listing, and when that was.
    listed_dir: Option<(DirStamp, Instant)>,
    listings: u64,
}

impl Index {
    /// Brings the index up to date with `queued/`. Without a watcher feeding it
    /// (`watched` false) every call lists the folder and compares each file's inode,
    /// size and mtime; with one, only the changed names are read, and `changes.all` (the
    /// safety rescan) lists the folder only if it changed since its last listing.
    pub fn sync(&mut self, dir: &Path, changes: Changes, watched: bool) -> Result<(), QueueError> {
        if !watched || (changes.all && self.folder_changed(dir)) {
            self.list_all(dir, watched)?;
        }
        for name in changes.names {
            if let Some(stem) = name.to_str().and_then(stem_of).filter(|s| is_safe_id(s)) {
                self.refresh(dir, stem);
            } else if is_task_like(&name)
                && !self.odd_names.contains(&name)
                && fs::symlink_metadata(dir.join(&name)).is_ok()
            {
                self.odd_names.push(name);
            }
        }
        Ok(())
    }

    /// Whether a full listing is due: never listed, the folder's stamp moved (or is too
    /// recent to trust: coarse timestamps), or the last one is over a minute old.
    fn folder_changed(&self, dir: &Path) -> bool {
        let Some((stamp, at)) = &self.listed_dir else {
            return true;
        };
        at.elapsed() >= FULL_LISTING_EVERY || dir_stamp(dir).as_ref() != Some(stamp)
    }

    /// Lists `queued/`: new and replaced files (another inode) are read, removed ones
    /// dropped. Without a watcher, files whose size or mtime changed are read again too.
    fn list_all(&mut self, dir: &Path, watched: bool) -> Result<(), QueueError> {
        let stamp = dir_stamp(dir);
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.clear_files();
                return Ok(());
            }
            Err(e) => return Err(QueueError::io("list", dir, e)),
        };
        self.listings += 1;
        let listing = self.listings;
        self.odd_names.clear();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(stem_of).filter(|s| is_safe_id(s)) else {
                if is_task_like(&name) {
                    self.odd_names.push(name);
                }
                continue;
            };
            match self.entries.get_mut(stem) {
                Some(known) if watched && known.ino == entry.ino() => known.seen = listing,
                _ => {
                    self.refresh(dir, stem);
                    if let Some(known) = self.entries.get_mut(stem) {
                        known.seen = listing;
                    }
                }
            }
        }
        let gone: Vec<Arc<str>> = self
            .entries
            .iter()
            .filter(|(_, e)| e.seen != listing)
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            self.remove(&id);
        }
        // A stamp taken within the timestamps' granularity of a change may not show the
        // next one: only a settled folder is trusted to say "unchanged".
        self.listed_dir = stamp
            .filter(|(_, mtime, _, _)| !fsio::changed_within(*mtime, SETTLED))
            .map(|s| (s, Instant::now()));
        Ok(())
    }

    /// Reads `queued/<stem>.json` again if it is new or changed (by inode, size, mtime)
    /// or unsettled; drops it when gone.
    pub fn refresh(&mut self, dir: &Path, stem: &str) {
        let path = dir.join(format!("{stem}.json"));
        let Ok(meta) = fs::symlink_metadata(&path) else {
            self.remove(stem);
            return;
        };
        let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if let Some(entry) = self.entries.get(stem) {
            let same = entry.ino == meta.ino() && entry.len == meta.len() && entry.mtime == mtime;
            if same && !matches!(entry.cached, Cached::Unsettled) {
                return;
            }
        }
        let verdict = examine_path(stem, &path);
        self.remove(stem);
        let id: Arc<str> = Arc::from(stem);
        let cached = match verdict {
            None => return,
            Some(Verdict::Valid(task)) => Cached::Task(self.facts_of(task)),
            Some(Verdict::NotOurs(_)) => Cached::NotOurs,
            Some(Verdict::Invalid(_)) => Cached::Unsettled,
        };
        let entry = Entry {
            ino: meta.ino(),
            len: meta.len(),
            mtime,
            cached,
            rank: self.rank_of(&id, mtime),
            seen: self.listings,
        };
        self.place(&entry);
        self.owned += usize::from(entry.daemon_owned());
        self.entries.insert(id, entry);
    }

    /// What to keep of a valid task; a new target's group gets it as its sample.
    fn facts_of(&mut self, mut task: Task) -> TaskFacts {
        task.raw = Value::Null;
        let input = task.input.clone();
        let output_dir = task.rip().map(|r| r.directory.clone());
        let rip_need = super::space::QueuedRip::of(&task);
        let target = Target::of(&task);
        let target = match self.groups.get_key_value(&target) {
            Some((shared, _)) => shared.clone(),
            None => {
                let shared = Arc::new(target);
                let group = Group {
                    sample: task,
                    members: BTreeSet::new(),
                };
                self.groups.insert(shared.clone(), group);
                shared
            }
        };
        TaskFacts {
            target,
            input,
            output_dir,
            rip_need,
        }
    }

    /// Drops `id` (its file left `queued/`).
    pub fn remove(&mut self, id: &str) {
        if let Some(entry) = self.entries.remove(id) {
            self.owned = self.owned.saturating_sub(usize::from(entry.daemon_owned()));
            self.unplace(&entry);
        }
    }

    fn clear_files(&mut self) {
        self.owned = 0;
        self.entries.clear();
        self.groups.clear();
        self.unsettled.clear();
        self.odd_names.clear();
        self.listed_dir = None;
    }

    /// Puts an entry into its group (or the unsettled set) under its rank.
    fn place(&mut self, entry: &Entry) {
        match &entry.cached {
            Cached::Task(facts) => {
                if let Some(group) = self.groups.get_mut(&facts.target) {
                    group.members.insert(entry.rank.clone());
                }
            }
            Cached::Unsettled => {
                self.unsettled.insert(entry.rank.clone());
            }
            Cached::NotOurs => {}
        }
    }

    /// Takes an entry out of its group (dropping the group when it empties).
    fn unplace(&mut self, entry: &Entry) {
        match &entry.cached {
            Cached::Task(facts) => {
                if let Some(group) = self.groups.get_mut(&facts.target) {
                    group.members.remove(&entry.rank);
                    if group.members.is_empty() {
                        self.groups.remove(&facts.target);
                    }
                }
            }
            Cached::Unsettled => {
                self.unsettled.remove(&entry.rank);
            }
            Cached::NotOurs => {}
        }
    }

    fn rank_of(&self, id: &Arc<str>, mtime: SystemTime) -> Rank {
        let (tier, position, mtime) = if let Some(&p) = self.front.get(id) {
            (0, p, SystemTime::UNIX_EPOCH)
        } else if let Some(&p) = self.listed.get(id) {
            (1, p, SystemTime::UNIX_EPOCH)
        } else {
            (2, 0, mtime)
        };
        Rank {
            tier,
            position,
            mtime,
            id: id.clone(),
        }
    }

    /// Takes a new "run first" list and `tasks.json` order; ranks are recomputed only
    /// for ids whose place changed (appending to `tasks.json`, the webapp's usual write,
    /// touches just the new ids).
    pub fn set_order(&mut self, front: &[String], listed: &Arc<Vec<Arc<str>>>) {
        let mut moved: HashSet<Arc<str>> = HashSet::new();
        let new_front: HashMap<Arc<str>, usize> = front
            .iter()
            .enumerate()
            .map(|(i, id)| (Arc::<str>::from(id.as_str()), i))
            .collect();
        if new_front != self.front {
            moved.extend(self.front.keys().cloned());
            moved.extend(new_front.keys().cloned());
            self.front = new_front;
        }
        if !Arc::ptr_eq(listed, &self.listed_ids) {
            // An append shares the old ids' allocations: compare those first.
            let appended = listed.len() >= self.listed_ids.len()
                && listed
                    .iter()
                    .zip(self.listed_ids.iter())
                    .all(|(new, old)| Arc::ptr_eq(new, old) || new == old);
            if appended {
                let start = self.listed_ids.len();
                for (i, id) in listed.iter().enumerate().skip(start) {
                    self.listed.entry(id.clone()).or_insert(i);
                    moved.insert(id.clone());
                }
            } else {
                moved.extend(self.listed.keys().cloned());
                self.listed.clear();
                for (i, id) in listed.iter().enumerate() {
                    self.listed.entry(id.clone()).or_insert(i);
                }
                moved.extend(self.listed.keys().cloned());
            }
        }
        self.listed_ids = listed.clone();
        for id in moved {
            self.rerank(&id);
        }
    }

    /// Moves `id` to the place its rank says now (within its group: a group is never
    /// emptied by a move).
    fn rerank(&mut self, id: &Arc<str>) {
        let Some(entry) = self.entries.get(id) else {
            return;
        };
        let rank = self.rank_of(id, entry.mtime);
        if rank == entry.rank {
            return;
        }
        let old = entry.rank.clone();
        match &entry.cached {
            Cached::Task(facts) => {
                if let Some(group) = self.groups.get_mut(&facts.target) {
                    group.members.remove(&old);
                    group.members.insert(rank.clone());
                }
            }
            Cached::Unsettled => {
                self.unsettled.remove(&old);
                self.unsettled.insert(rank.clone());
            }
            Cached::NotOurs => {}
        }
        if let Some(entry) = self.entries.get_mut(id) {
            entry.rank = rank;
        }
    }

    /// Every entry in selection order.
    pub fn ranked(&self) -> Vec<&Rank> {
        let mut all: Vec<&Rank> = self.entries.values().map(|e| &e.rank).collect();
        all.sort();
        all
    }
}

/// The folder's stamp, `None` when it cannot be examined.
fn dir_stamp(dir: &Path) -> Option<DirStamp> {
    let meta = fs::metadata(dir).ok()?;
    Some((
        meta.ino(),
        meta.modified().ok()?,
        meta.ctime(),
        meta.ctime_nsec(),
    ))
}

/// A `*.json` name, not hidden, that cannot be a task id (not UTF-8, or not a safe id).
fn is_task_like(name: &std::ffi::OsStr) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let bytes = name.as_bytes();
    bytes.ends_with(b".json") && !bytes.starts_with(b".") && bytes.len() > ".json".len()
}

impl Queue {
    /// The index, brought up to date with what changed since the last pass (and with the
    /// "run first" list and `tasks.json`). Held while a pass selects and claims.
    pub(crate) fn synced_index(&self) -> Result<MutexGuard<'_, Index>, QueueError> {
        let mut index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
        let changes = std::mem::take(&mut *self.lock_changes());
        let watched = self.watched.load(Ordering::Acquire);
        index.sync(&self.layout.dir(TaskState::Queued), changes, watched)?;
        let listed = self.listed_ids();
        index.set_order(&self.state.front(), &listed);
        Ok(index)
    }

    pub(crate) fn lock_changes(&self) -> MutexGuard<'_, Changes> {
        self.changes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `queued/<id>.json` changed under this daemon's own hands (put back, enqueued):
    /// the next pass reads it again, events or not.
    pub(crate) fn note_change(&self, id: &str) {
        self.lock_changes()
            .names
            .insert(OsString::from(format!("{id}.json")));
    }

    /// Asks the next pass for a full listing of `queued/` (the safety rescan: events may
    /// have been lost).
    pub fn request_rescan(&self) {
        self.lock_changes().all = true;
    }
}
