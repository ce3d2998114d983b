//! Listing for the CLI and status: tasks in queue order with their state and type, and
//! the queue depth.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use amphigory_wire::task::{TaskType, type_from_id};
use serde::Serialize;
use serde_json::Value;

use super::layout::{TaskState, is_safe_id, stem_of};
use super::{MAX_TASK_BYTES, Queue, QueueError};
use crate::fsio;

/// One task as `amphigory queue` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskEntry {
    /// Task id.
    pub id: String,
    /// Its type (from the id suffix, else from the file).
    #[serde(rename = "type")]
    pub task_type: TaskType,
    /// Where it is.
    pub state: TaskState,
    /// True for daemon tasks (`scan`, `rip`).
    pub owned: bool,
    /// True when `tasks.json` lists it.
    pub listed: bool,
}

impl Queue {
    /// Every task in queue order: those `tasks.json` lists (in any state; listed ids
    /// with no file anywhere are left out), then unlisted ones in progress, then
    /// unlisted queued ones oldest first. Queued tasks come from the index; only tasks
    /// in other states are looked for on disk.
    pub fn list(&self) -> Result<Vec<TaskEntry>, QueueError> {
        let index = self.synced_index()?;
        let listed = index.listed_ids.clone();
        let listed_set: HashSet<Arc<str>> = listed.iter().cloned().collect();
        let queued_unlisted: Vec<Arc<str>> = index
            .ranked()
            .into_iter()
            .filter(|rank| !listed_set.contains(&rank.id))
            .map(|rank| rank.id.clone())
            .collect();
        let in_progress = self.unlisted(TaskState::InProgress, &listed_set)?;
        let all = listed
            .iter()
            .map(|id| (id.clone(), true))
            .chain(in_progress.into_iter().map(|id| (Arc::from(id), false)))
            .chain(queued_unlisted.into_iter().map(|id| (id, false)));
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (id, is_listed) in all {
            if !seen.insert(id.clone()) {
                continue;
            }
            let queued = index.entries.contains_key(&id);
            let found = if queued {
                Some((TaskState::Queued, self.layout.file(TaskState::Queued, &id)))
            } else {
                self.locate(&id)
            };
            let Some((state, path)) = found else {
                continue;
            };
            let task_type = type_from_id(&id)
                .or_else(|| type_in_file(&path))
                .unwrap_or_else(|| TaskType::Other("unknown".to_owned()));
            out.push(TaskEntry {
                owned: task_type.is_daemon_owned(),
                id: id.to_string(),
                task_type,
                state,
                listed: is_listed,
            });
        }
        Ok(out)
    }

    /// Number of daemon tasks in `queued/` (valid or not: invalid ones are still work,
    /// they get failed when selection reaches them). 0 when `queued/` cannot be read
    /// (logged).
    pub fn queue_depth(&self) -> usize {
        match self.synced_index() {
            Ok(index) => index.owned,
            Err(e) => {
                tracing::warn!(error = %e, "cannot count queued tasks");
                0
            }
        }
    }

    /// Task files in `state`'s directory not in `listed`, oldest first (mtime, then
    /// name); names that are not safe ids are left out. A missing directory holds
    /// nothing (the next pass makes it again).
    pub(crate) fn unlisted(
        &self,
        state: TaskState,
        listed: &HashSet<Arc<str>>,
    ) -> Result<Vec<String>, QueueError> {
        let dir = self.layout.dir(state);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(QueueError::io("list", &dir, e)),
        };
        let mut found: Vec<(SystemTime, String)> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name();
                let stem = name.to_str().and_then(stem_of).filter(|s| is_safe_id(s))?;
                if listed.contains(stem) {
                    return None;
                }
                // DirEntry::metadata does not follow symbolic links.
                let mtime = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                Some((mtime, stem.to_owned()))
            })
            .collect();
        found.sort();
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }

    /// Where `id` is: in progress, queued, failed or complete (a `complete/` result with
    /// `status: failed` counts as failed).
    fn locate(&self, id: &str) -> Option<(TaskState, std::path::PathBuf)> {
        for state in [TaskState::InProgress, TaskState::Queued, TaskState::Failed] {
            let path = self.layout.file(state, id);
            if fsio::exists(&path) {
                return Some((state, path));
            }
        }
        let path = self.layout.file(TaskState::Complete, id);
        if !fsio::exists(&path) {
            return None;
        }
        let failed = fsio::read_task_file(&path, MAX_TASK_BYTES)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .is_some_and(|v| v.get("status").and_then(Value::as_str) == Some("failed"));
        let state = if failed {
            TaskState::Failed
        } else {
            TaskState::Complete
        };
        Some((state, path))
    }
}

/// The `type` a task or result file declares, read leniently (`None` when unreadable).
fn type_in_file(path: &Path) -> Option<TaskType> {
    let bytes = fsio::read_task_file(path, MAX_TASK_BYTES).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value
        .get("type")
        .and_then(Value::as_str)
        .map(TaskType::from_name)
}
