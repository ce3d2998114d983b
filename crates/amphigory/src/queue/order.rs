//! The order tasks are considered in: the "run first" list, then `tasks.json`, then
//! queued files nobody listed, oldest first.
//!
//! `tasks.json` is written by the webapp non-atomically, so a read can catch it half
//! written: it is read again a couple of times quickly, then treated as "no listed order"
//! (unlisted files still run, oldest first: a lost `tasks.json` must not strand work).

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;
use std::thread;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::layout::{TaskState, is_safe_id, stem_of};
use super::{Queue, QueueError};

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
    /// Reads `tasks.json`, retrying briefly while it is not a JSON array.
    pub(crate) fn read_order(&self) -> Order {
        let path = self.layout.tasks_json();
        let mut stamp = None;
        for attempt in 0..ORDER_READS {
            match fs::read(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Order::Missing,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot read tasks.json");
                }
                Ok(bytes) => {
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
    /// then unlisted queued files oldest first. Listed ids may have no file.
    pub(crate) fn candidates(&self) -> Result<Vec<String>, QueueError> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let front = self.state.front();
        let listed = self.read_order().ids();
        for id in front.into_iter().chain(listed) {
            if is_safe_id(&id) && seen.insert(id.clone()) {
                out.push(id);
            }
        }
        for id in self.unlisted(TaskState::Queued, &seen)? {
            out.push(id);
        }
        Ok(out)
    }

    /// Task files in `state`'s directory not in `listed`, oldest first (mtime, then name).
    /// Stems may be unsafe ids: selection fails those files.
    pub(crate) fn unlisted(
        &self,
        state: TaskState,
        listed: &HashSet<String>,
    ) -> Result<Vec<String>, QueueError> {
        let dir = self.layout.dir(state);
        let entries = fs::read_dir(&dir).map_err(|e| QueueError::io("list", &dir, e))?;
        let mut found: Vec<(SystemTime, String)> = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                tracing::debug!(?name, "ignoring a non-UTF-8 name in the queue");
                continue;
            };
            let Some(stem) = stem_of(name) else { continue };
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
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }
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
