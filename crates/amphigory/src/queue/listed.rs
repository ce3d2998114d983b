//! The ids `tasks.json` lists, as selection sees them: read again only when the file
//! changed (its inode, size or mtime, or an event on it), and, when the webapp appended
//! to it (its usual write: one id at the end), only the new tail is decoded. A queue of
//! 10,000 tasks costs a `stat` per pass, not a parse.
//!
//! A `tasks.json` caught half written (the webapp rewrites it in place) does not make
//! selection stall nor lose the order: the previous ids stay in force and the file is read
//! again on the next pass, until it parses or has stayed broken for
//! [`INCOMPLETE_GRACE`]; then, with a warning, tasks run oldest first until it is mended.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::SystemTime;

use super::order::ListedIds;
use super::{INCOMPLETE_GRACE, Queue};
use crate::fsio;

/// Inode, size and mtime: what tells a changed `tasks.json` from an unchanged one.
type Stamp = (u64, u64, SystemTime);

/// The ids of `tasks.json` as last read, and the file they were read from.
#[derive(Debug, Default)]
pub(crate) struct OrderCache {
    stamp: Option<Stamp>,
    ids: Arc<Vec<Arc<str>>>,
    /// The bytes the ids came from (to recognise an append), when they parsed.
    bytes: Option<Vec<u8>>,
    /// An event said the file changed: read it again whatever its stamp says.
    pub stale: bool,
    /// Read at least once.
    primed: bool,
}

impl Queue {
    /// The ids `tasks.json` lists (safe ids, in order; an id listed twice keeps its
    /// first place), read again only when the file changed since the last call.
    pub(crate) fn listed_ids(&self) -> Arc<Vec<Arc<str>>> {
        let now = file_stamp(&self.layout.tasks_json());
        let mut cache = self.order_cache();
        if cache.primed && !cache.stale && now == cache.stamp {
            return cache.ids.clone();
        }
        cache.stale = false;
        cache.primed = true;
        let bytes = match self.tasks_json_bytes() {
            Ok(Some(bytes)) => bytes,
            Ok(None) | Err(()) => {
                cache.settle(now, Vec::new(), None);
                return cache.ids.clone();
            }
        };
        if let Some(tail) = cache.appended(&bytes) {
            let mut ids = Vec::with_capacity(cache.ids.len() + tail.len());
            ids.extend(cache.ids.iter().cloned());
            ids.extend(tail);
            cache.settle(now, ids, Some(bytes));
        } else if let Ok(ListedIds(ids)) = serde_json::from_slice(&bytes) {
            cache.settle(now, ids, Some(bytes));
        } else if now.is_some_and(|(_, _, mtime)| fsio::changed_within(mtime, INCOMPLETE_GRACE)) {
            // Probably being written: keep the order in force, read again next pass.
            cache.stamp = None;
        } else {
            tracing::warn!("tasks.json is not a JSON array; using queued files oldest first");
            cache.settle(now, Vec::new(), None);
        }
        cache.ids.clone()
    }

    fn order_cache(&self) -> MutexGuard<'_, OrderCache> {
        self.order.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl OrderCache {
    /// A cache primed with the `tasks.json` bytes `bytes`, when they are a JSON array: what
    /// [`Queue::listed_ids`] keeps after a successful read.
    pub(crate) fn primed_with(bytes: &[u8]) -> Option<Self> {
        let ListedIds(ids) = serde_json::from_slice(bytes).ok()?;
        let mut cache = Self::default();
        cache.settle(None, ids, Some(bytes.to_vec()));
        cache.primed = true;
        Some(cache)
    }

    /// The ids as last read.
    pub(crate) fn ids(&self) -> &[Arc<str>] {
        &self.ids
    }

    fn settle(&mut self, stamp: Option<Stamp>, ids: Vec<Arc<str>>, bytes: Option<Vec<u8>>) {
        self.stamp = stamp;
        self.ids = Arc::new(ids);
        self.bytes = bytes;
    }

    /// The ids `new` adds at the end of the array last read, if `new` is exactly that
    /// array with elements appended.
    pub(crate) fn appended(&self, new: &[u8]) -> Option<Vec<Arc<str>>> {
        let old = self.bytes.as_deref()?;
        let body = json_trim_end(json_trim_end(old).strip_suffix(b"]")?);
        let rest = json_trim_start(new.strip_prefix(body)?);
        if json_trim_end(rest) == b"]" {
            return Some(Vec::new());
        }
        let elements = if body.ends_with(b"[") {
            rest
        } else {
            // A comma and then the end (`["a", "b",]`) is not an append but broken JSON:
            // `[` and the rest would read as an empty array (issue 19).
            let after = rest.strip_prefix(b",")?;
            if json_trim_start(after).starts_with(b"]") {
                return None;
            }
            after
        };
        let mut array = Vec::with_capacity(elements.len() + 1);
        array.push(b'[');
        array.extend_from_slice(elements);
        serde_json::from_slice::<ListedIds>(&array)
            .ok()
            .map(|l| l.0)
    }
}

/// JSON's white space: space, tab, line feed, carriage return. (`trim_ascii` also takes
/// form feed, which JSON does not: `["a"\x0c, "b"]` passed for an append, issue 19.)
fn is_json_space(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn json_trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !is_json_space(b))
        .unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

fn json_trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !is_json_space(b))
        .map_or(0, |i| i + 1);
    bytes.get(..end).unwrap_or_default()
}

/// Inode, size and mtime of a file (`None` when it cannot be examined).
fn file_stamp(path: &Path) -> Option<Stamp> {
    let meta = fs::metadata(path).ok()?;
    Some((meta.ino(), meta.len(), meta.modified().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_of(json: &str) -> OrderCache {
        OrderCache::primed_with(json.as_bytes()).unwrap()
    }

    fn strs(ids: &[Arc<str>]) -> Vec<&str> {
        ids.iter().map(|id| &**id).collect()
    }

    #[test]
    fn an_append_is_decoded_from_the_tail_alone() {
        let cache = cache_of(r#"["a-rip", "b-rip"]"#);
        let tail = cache
            .appended(br#"["a-rip", "b-rip", "c-rip", 7]"#)
            .unwrap();
        assert_eq!(strs(&tail), ["c-rip"]);
        assert!(cache.appended(br#"["a-rip", "b-rip"]"#).unwrap().is_empty());
        // Anything but an append is decoded whole.
        assert!(cache.appended(br#"["b-rip", "a-rip"]"#).is_none());
        assert!(cache.appended(br#"["a-rip", "b-rip", "c-r"#).is_none());
        assert!(
            cache
                .appended(br#"["a-rip", "b-rip", "c-rip"] x"#)
                .is_none()
        );
        // Found by fuzzing (issue 19): a trailing comma is broken JSON, not an append.
        assert!(cache.appended(br#"["a-rip", "b-rip",]"#).is_none());
        assert!(cache.appended(br#"["a-rip", "b-rip" , ]"#).is_none());
        assert!(
            cache
                .appended(b"[\"a-rip\", \"b-rip\"\x0c, \"c-rip\"]")
                .is_none()
        );
        let empty = cache_of("[]\n");
        assert_eq!(strs(&empty.appended(br#"["x-rip"]"#).unwrap()), ["x-rip"]);
        let pretty = cache_of("[\n  \"a-rip\"\n]\n");
        let tail = pretty
            .appended(b"[\n  \"a-rip\",\n  \"b-rip\"\n]\n")
            .unwrap();
        assert_eq!(strs(&tail), ["b-rip"]);
    }
}
