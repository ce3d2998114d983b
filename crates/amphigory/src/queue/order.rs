//! The order tasks are considered in: the "run first" list, then `tasks.json`, then
//! queued files nobody listed, oldest first.
//!
//! `tasks.json` is written by the webapp non-atomically, so a read can catch it half
//! written: it is read again a couple of times quickly, then treated as "no listed order"
//! (unlisted files still run, oldest first: a lost `tasks.json` must not strand work).
//! A `tasks.json` over [`MAX_ORDER_BYTES`] is never read (SPEC §4 "Bounded reads"): it is
//! a status problem, and the order is oldest first until it shrinks.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::thread;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::layout::{TaskState, is_safe_id, stem_of};
use super::{MAX_ORDER_BYTES, Queue, QueueError};

/// Reads of an invalid `tasks.json` before giving up on it.
const ORDER_READS: u32 = 3;

/// What `tasks.json` holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Order {
    /// No file.
    Missing,
    /// A JSON array (entries as written; only strings are ids).
    Listed(Vec<Value>),
    /// Still not a JSON array after the retries.
    Invalid,
}

impl Order {
    /// The listed ids, in order, without duplicates and without unusable entries.
    pub fn ids(&self) -> Vec<String> {
        let Self::Listed(entries) = self else {
            return Vec::new();
        };
        let mut seen = HashSet::new();
        entries
            .iter()
            .filter_map(Value::as_str)
            .filter(|id| is_safe_id(id) && seen.insert(*id))
            .map(str::to_owned)
            .collect()
    }
}

impl Queue {
    /// Reads `tasks.json`, retrying briefly while it is not a JSON array. A file over
    /// [`MAX_ORDER_BYTES`] is never read: it is a status problem and [`Order::Invalid`].
    pub(crate) fn read_order(&self) -> Order {
        let path = self.layout.tasks_json();
        let mut stamp = None;
        for attempt in 0..ORDER_READS {
            match read_bounded(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.problem_slots().order = None;
                    return Order::Missing;
                }
                Err(e) => {
                    let problem = format!(
                        "cannot read {}: {e}; tasks run oldest first",
                        path.display()
                    );
                    if self.problem_slots().order.as_ref() != Some(&problem) {
                        tracing::warn!("{problem}");
                    }
                    self.problem_slots().order = Some(problem);
                    return Order::Invalid;
                }
                Ok(bytes) => {
                    self.problem_slots().order = None;
                    if let Ok(entries) = serde_json::from_slice::<Vec<Value>>(&bytes) {
                        return Order::Listed(entries);
                    }
                }
            }
            stamp = file_stamp(&path);
            if stamp.is_some() && stamp == *self.bad_order_stamp() {
                // Known broken and unchanged since: no point waiting for it again.
                return Order::Invalid;
            }
            if attempt + 1 < ORDER_READS {
                thread::sleep(Duration::from_millis(2 << attempt));
            }
        }
        tracing::warn!(path = %path.display(), "tasks.json is not a JSON array; using queued files oldest first");
        *self.bad_order_stamp() = stamp;
        Order::Invalid
    }

    fn bad_order_stamp(&self) -> std::sync::MutexGuard<'_, Option<(SystemTime, u64)>> {
        self.bad_order
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ids to consider for selection, best first: the "run first" list, `tasks.json`,
    /// then unlisted queued files oldest first. Listed ids may have no file. Also the
    /// queued files whose names can never be task ids, for [`Queue::quarantine`].
    pub(crate) fn candidates(&self) -> Result<Candidates, QueueError> {
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        let front = self.state.front();
        let listed = self.read_order().ids();
        for id in front.into_iter().chain(listed) {
            if is_safe_id(&id) && seen.insert(id.clone()) {
                ids.push(id);
            }
        }
        let scan = self.scan_dir(TaskState::Queued, &seen)?;
        ids.extend(scan.stems);
        Ok(Candidates {
            ids,
            odd_names: scan.odd_names,
        })
    }

    /// Task files in `state`'s directory not in `listed`, oldest first (mtime, then name).
    /// Names that are not safe ids are left out (see [`Candidates::odd_names`]). A missing
    /// directory holds nothing (it is recreated by the next pass).
    pub(crate) fn unlisted(
        &self,
        state: TaskState,
        listed: &HashSet<String>,
    ) -> Result<Vec<String>, QueueError> {
        Ok(self.scan_dir(state, listed)?.stems)
    }

    fn scan_dir(&self, state: TaskState, listed: &HashSet<String>) -> Result<DirScan, QueueError> {
        let dir = self.layout.dir(state);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(DirScan::default()),
            Err(e) => return Err(QueueError::io("list", &dir, e)),
        };
        let mut found: Vec<(SystemTime, String)> = Vec::new();
        let mut odd_names = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(stem_of) else {
                if is_odd_task_name(&name) {
                    odd_names.push(name);
                }
                continue;
            };
            if !is_safe_id(stem) {
                odd_names.push(name);
                continue;
            }
            if listed.contains(stem) {
                continue;
            }
            // DirEntry::metadata does not follow symbolic links.
            let mtime = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            found.push((mtime, stem.to_owned()));
        }
        found.sort();
        Ok(DirScan {
            stems: found.into_iter().map(|(_, id)| id).collect(),
            odd_names,
        })
    }
}

/// What selection walks.
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    /// Ids, best first.
    pub ids: Vec<String>,
    /// Queued `*.json` files whose names are not valid UTF-8 or not safe ids.
    pub odd_names: Vec<OsString>,
}

/// One directory listing.
#[derive(Debug, Default)]
struct DirScan {
    stems: Vec<String>,
    odd_names: Vec<OsString>,
}

/// A name that is not UTF-8 but otherwise looks like a task file (`*.json`, not hidden).
fn is_odd_task_name(name: &OsStr) -> bool {
    let bytes = name.as_bytes();
    name.to_str().is_none() && bytes.ends_with(b".json") && !bytes.starts_with(b".")
}

/// The whole of `path` if it holds at most [`MAX_ORDER_BYTES`] (checked before reading,
/// and again while reading, since the webapp may be writing it); `FileTooLarge` otherwise.
fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
    let file = fs::File::open(path)?;
    let len = file.metadata()?.len();
    let too_big = || {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("it is over the {} MiB limit", MAX_ORDER_BYTES >> 20),
        )
    };
    if len > MAX_ORDER_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(MAX_ORDER_BYTES + 1).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_ORDER_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

/// `(mtime, length)` of a file, to recognise an unchanged one.
fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_ids_skip_junk_and_duplicates() {
        let order = Order::Listed(
            serde_json::from_str(r#"["a-rip", 3, "../x-rip", "a-rip", "b-scan"]"#).unwrap(),
        );
        assert_eq!(order.ids(), vec!["a-rip", "b-scan"]);
        assert!(Order::Invalid.ids().is_empty());
    }
}
