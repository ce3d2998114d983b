//! Adding a task exactly as the webapp does: id `YYYYMMDDTHHMMSS.ffffff-<type>`, the file
//! written atomically into `queued/`, then `tasks.json` rewritten atomically with the id
//! appended. Used by `amphigory enqueue` and the control socket (headless use).

use std::cmp::max;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, PoisonError};

use chrono::{Local, TimeZone};
use serde_json::{Map, Value, json};

use super::layout::{TASKS_JSON, TaskState};
use super::order::Order;
use super::state::json_bytes;
use super::task::{RipSpec, TaskInput, TaskKind};
use super::validate::{Verdict, examine};
use super::{Queue, QueueError};
use crate::fsio;

/// Ids tried before giving up (another writer taking the same microsecond).
const ID_TRIES: u32 = 16;

/// A task to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    /// Scan or rip (with its destination).
    pub kind: TaskKind,
    /// Target drive, for multi-drive setups.
    pub drive: Option<String>,
    /// What must exist first.
    pub input: Option<TaskInput>,
    /// The disc it is for.
    pub disc_fingerprint: Option<String>,
}

impl NewTask {
    /// A scan of whatever disc is in the (only, or named) drive.
    pub fn scan() -> Self {
        Self::of(TaskKind::Scan)
    }

    /// A rip.
    pub fn rip(spec: RipSpec) -> Self {
        Self::of(TaskKind::Rip(spec))
    }

    fn of(kind: TaskKind) -> Self {
        Self {
            kind,
            drive: None,
            input: None,
            disc_fingerprint: None,
        }
    }
}

impl Queue {
    /// Writes a new task into `queued/` and appends it to `tasks.json`; returns its id. A task that would not validate (relative directory, bad file name…) is
    /// refused with [`QueueError::Invalid`] and nothing is written. If `tasks.json` is
    /// unreadable it is rebuilt from the queued files, oldest first.
    pub fn enqueue(&self, new: &NewTask) -> Result<String, QueueError> {
        let type_name = match new.kind {
            TaskKind::Scan => "scan",
            TaskKind::Rip(_) => "rip",
        };
        self.ensure_folders()?;
        let queued = self.layout.dir(TaskState::Queued);
        for _ in 0..ID_TRIES {
            let id = new_task_id(type_name);
            if self.id_taken(&id) {
                continue;
            }
            let bytes = json_bytes(&task_json(&id, new)?)?;
            match examine(&id, Ok(&bytes)) {
                Verdict::Valid(_) => {}
                Verdict::Invalid(poison) => return Err(QueueError::Invalid(poison.message)),
                Verdict::NotOurs(t) => {
                    return Err(QueueError::Invalid(format!(
                        "{} is not a daemon task",
                        t.as_str()
                    )));
                }
            };
            match fsio::write_atomic(&queued, &format!("{id}.json"), &bytes, false) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(QueueError::io("write task in", queued, e)),
            }
            self.append_to_order(&id)?;
            return Ok(id);
        }
        Err(QueueError::Invalid("no free task id found".to_owned()))
    }

    fn id_taken(&self, id: &str) -> bool {
        [
            TaskState::Queued,
            TaskState::InProgress,
            TaskState::Complete,
            TaskState::Failed,
        ]
        .into_iter()
        .any(|state| fsio::exists(&self.layout.file(state, id)))
    }

    fn append_to_order(&self, id: &str) -> Result<(), QueueError> {
        // Serialises this process's read-modify-write of tasks.json (a short synchronous
        // section); the webapp's own writes can still race, which is why unlisted queued
        // files are always processed too.
        static ORDER_LOCK: Mutex<()> = Mutex::new(());
        let _guard = ORDER_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        let mut entries = match self.read_order() {
            Order::Listed(entries) => entries,
            Order::Missing => Vec::new(),
            Order::Invalid => {
                tracing::warn!("rebuilding an unreadable tasks.json from the queued files");
                self.unlisted(TaskState::Queued, &std::collections::HashSet::new())?
                    .into_iter()
                    .map(Value::String)
                    .collect()
            }
        };
        if !entries.iter().any(|e| e.as_str() == Some(id)) {
            entries.push(Value::String(id.to_owned()));
        }
        fsio::write_atomic(self.layout.root(), TASKS_JSON, &json_bytes(&entries)?, true)
            .map_err(|e| QueueError::io("write", self.layout.tasks_json(), e))
    }
}

/// The task object the webapp would write (its rip shape: `output` path string,
/// `output_info`, `track`, `input`, `disc_fingerprint`).
fn task_json(id: &str, new: &NewTask) -> Result<Value, QueueError> {
    let input = match &new.input {
        None => Value::Null,
        Some(TaskInput::Task(id)) => Value::String(id.clone()),
        Some(TaskInput::Path(path)) => Value::String(utf8(path)?.to_owned()),
    };
    let mut task = Map::new();
    task.insert("id".into(), json!(id));
    task.insert("created_at".into(), json!(Local::now().to_rfc3339()));
    task.insert("input".into(), input);
    task.insert("disc_fingerprint".into(), json!(new.disc_fingerprint));
    if let Some(drive) = &new.drive {
        task.insert("drive".into(), json!(drive));
    }
    match &new.kind {
        TaskKind::Scan => {
            task.insert("type".into(), json!("scan"));
        }
        TaskKind::Rip(rip) => {
            let mut directory = utf8(&rip.directory)?.to_owned();
            if !directory.ends_with('/') {
                directory.push('/');
            }
            task.insert("type".into(), json!("rip"));
            task.insert(
                "output".into(),
                json!(format!("{directory}{}", rip.filename)),
            );
            task.insert(
                "track".into(),
                json!({"number": rip.track, "expected_size_bytes": rip.expected_size_bytes,
                       "expected_duration": rip.expected_duration}),
            );
            task.insert(
                "output_info".into(),
                json!({"directory": directory, "filename": rip.filename}),
            );
        }
    }
    Ok(Value::Object(task))
}

fn utf8(path: &std::path::Path) -> Result<&str, QueueError> {
    path.to_str()
        .ok_or_else(|| QueueError::Invalid(format!("path {} is not UTF-8", path.display())))
}

/// `YYYYMMDDTHHMMSS.ffffff-<type>` in local time, as the webapp names tasks; strictly
/// increasing within this process, so two calls in one microsecond still differ.
pub(crate) fn new_task_id(type_name: &str) -> String {
    static LAST: AtomicI64 = AtomicI64::new(i64::MIN);
    let now = Local::now().timestamp_micros();
    let next = |last: i64| max(last.saturating_add(1), now);
    let prev = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(next(last)))
        .unwrap_or_else(|last| last);
    let stamp = Local
        .timestamp_micros(next(prev))
        .single()
        .unwrap_or_else(Local::now);
    format!("{}-{type_name}", stamp.format("%Y%m%dT%H%M%S%.6f"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use amphigory_wire::task::type_from_id;

    #[test]
    fn ids_look_like_the_webapps_and_never_repeat() {
        let ids: Vec<String> = (0..1000).map(|_| new_task_id("rip")).collect();
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        let first = &ids[0];
        assert_eq!(first.len(), "20251227T143052.123456-rip".len(), "{first}");
        assert_eq!(&first[8..9], "T");
        assert_eq!(&first[15..16], ".");
        assert_eq!(
            type_from_id(first),
            Some(amphigory_wire::task::TaskType::Rip)
        );
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, ids);
    }
}
