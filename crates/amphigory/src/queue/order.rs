//! The order tasks are considered in: the "run first" list, then `tasks.json`, then
//! queued files nobody listed, oldest first.
//!
//! `tasks.json` is written by the webapp non-atomically, so a read can catch it half
//! written: it is read again a couple of times quickly, then treated as "no listed order"
//! (unlisted files still run, oldest first: a lost `tasks.json` must not strand work).
//! A `tasks.json` over [`MAX_ORDER_BYTES`] is never read (SPEC §4 "Bounded reads"): it is
//! a status problem, and the order is oldest first until it shrinks.
//!
//! Selection does not come here on every pass: `listed` keeps the ids, reading the file
//! again only when it changed.

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::Value;

use super::layout::is_safe_id;
use super::{MAX_ORDER_BYTES, Queue};

/// Reads of an invalid `tasks.json` before giving up on it.
const ORDER_READS: u32 = 3;

/// What `tasks.json` holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Order {
    /// No file.
    Missing,
    /// A JSON array (entries as written; only strings are ids).
    Listed(Vec<Value>),
    /// Still not a JSON array after the retries, or not readable.
    Invalid,
}

/// The safe-id strings of a JSON array, in order, decoded straight from the bytes (no
/// JSON value per entry: `tasks.json` may list 10,000 ids and change with every task).
/// Duplicates stay: the first place of an id is its rank.
#[derive(Debug, Default)]
pub(crate) struct ListedIds(pub Vec<Arc<str>>);

impl<'de> Deserialize<'de> for ListedIds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ids;
        impl<'de> Visitor<'de> for Ids {
            type Value = ListedIds;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ListedIds, A::Error> {
                let mut ids = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(MaybeId(id)) = seq.next_element()? {
                    ids.extend(id);
                }
                Ok(ListedIds(ids))
            }
        }
        deserializer.deserialize_seq(Ids)
    }
}

/// One entry of the array: a safe id, or anything else (skipped).
struct MaybeId(Option<Arc<str>>);

impl<'de> Deserialize<'de> for MaybeId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entry = Entry::deserialize(deserializer)?;
        Ok(Self(match entry {
            Entry::Id(id) if is_safe_id(&id) => Some(Arc::from(&*id)),
            _ => None,
        }))
    }
}

/// An array entry as written: borrowed when it has no escapes.
#[derive(Deserialize)]
#[serde(untagged)]
enum Entry<'a> {
    Id(#[serde(borrow)] std::borrow::Cow<'a, str>),
    Other(serde::de::IgnoredAny),
}

impl Queue {
    /// Reads `tasks.json`, retrying briefly while it is not a JSON array. A file over
    /// [`MAX_ORDER_BYTES`] is never read: it is a status problem and [`Order::Invalid`].
    pub(crate) fn read_order(&self) -> Order {
        for attempt in 0..ORDER_READS {
            match self.tasks_json_bytes() {
                Ok(None) => return Order::Missing,
                Err(()) => return Order::Invalid,
                Ok(Some(bytes)) => {
                    if let Ok(entries) = serde_json::from_slice::<Vec<Value>>(&bytes) {
                        return Order::Listed(entries);
                    }
                }
            }
            if attempt + 1 < ORDER_READS {
                thread::sleep(Duration::from_millis(2 << attempt));
            }
        }
        tracing::warn!("tasks.json is not a JSON array; using queued files oldest first");
        Order::Invalid
    }

    /// The bytes of `tasks.json`: `Ok(None)` when there is none, `Err` when it cannot be
    /// read or is over [`MAX_ORDER_BYTES`] (a status problem, warned once).
    pub(crate) fn tasks_json_bytes(&self) -> Result<Option<Vec<u8>>, ()> {
        let path = self.layout.tasks_json();
        let read = read_bounded(&path);
        let problem = match &read {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Some(format!(
                "cannot read {}: {e}; tasks run oldest first",
                path.display()
            )),
            _ => None,
        };
        let mut slots = self.problem_slots();
        if problem.is_some() && slots.order != problem {
            tracing::warn!("{}", problem.as_deref().unwrap_or_default());
        }
        slots.order = problem;
        match read {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(_) => Err(()),
        }
    }
}

/// The whole of `path` if it holds at most [`MAX_ORDER_BYTES`] (checked before reading,
/// and again while reading, since the webapp may be writing it); `FileTooLarge` otherwise.
pub(crate) fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_ids_keep_safe_strings_in_order() {
        let json = r#"["a-rip", 3, {"x": ["b-rip"]}, "../x-rip", "a-rip", "b\u002dscan", null]"#;
        let ListedIds(ids) = serde_json::from_str(json).unwrap();
        let ids: Vec<&str> = ids.iter().map(|id| &**id).collect();
        assert_eq!(ids, ["a-rip", "a-rip", "b-scan"]);
        assert!(serde_json::from_str::<ListedIds>(r#"{"a": 1}"#).is_err());
        assert!(serde_json::from_str::<ListedIds>(r#"["a-rip""#).is_err());
    }
}
