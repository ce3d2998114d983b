//! Listing for the CLI and status: tasks in queue order with their state and type, and
//! the queue depth.

use std::collections::HashSet;
use std::path::Path;

use amphigory_wire::task::{TaskType, type_from_id};
use serde::Serialize;
use serde_json::Value;

use super::layout::TaskState;
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
    /// unlisted queued ones oldest first.
    pub fn list(&self) -> Result<Vec<TaskEntry>, QueueError> {
        let listed = self.read_order().ids();
        let listed_set: HashSet<String> = listed.iter().cloned().collect();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let unlisted = self
            .unlisted(TaskState::InProgress, &listed_set)?
            .into_iter()
            .chain(self.unlisted(TaskState::Queued, &listed_set)?);
        let all = listed
            .into_iter()
            .map(|id| (id, true))
            .chain(unlisted.map(|id| (id, false)));
        for (id, is_listed) in all {
            if !seen.insert(id.clone()) {
                continue;
            }
            let Some((state, path)) = self.locate(&id) else {
                continue;
            };
            let task_type = type_from_id(&id)
                .or_else(|| type_in_file(&path))
                .unwrap_or_else(|| TaskType::Other("unknown".to_owned()));
            out.push(TaskEntry {
                owned: task_type.is_daemon_owned(),
                id,
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
        let stems = match self.unlisted(TaskState::Queued, &HashSet::new()) {
            Ok(stems) => stems,
            Err(e) => {
                tracing::warn!(error = %e, "cannot count queued tasks");
                return 0;
            }
        };
        stems
            .iter()
            .filter(|id| match type_from_id(id) {
                Some(t) => t.is_daemon_owned(),
                None => type_in_file(&self.layout.file(TaskState::Queued, id))
                    .is_none_or(|t| t.is_daemon_owned()),
            })
            .count()
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
