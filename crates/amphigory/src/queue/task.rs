//! The validated, typed task the engine runs. Only `validate` builds one, so holding a
//! [`Task`] means its paths are safe and its required fields are there.

use std::path::PathBuf;

use amphigory_wire::task::{TaskType, type_from_id};
use serde_json::Value;

/// A daemon task (`scan` or `rip`) that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Task id (equals the file name without `.json`; a safe id).
    pub id: String,
    /// What to do.
    pub kind: TaskKind,
    /// When the webapp created it, as written (with or without an offset).
    pub created_at: Option<String>,
    /// Target drive (drive id or device), when the task names one.
    pub drive: Option<String>,
    /// What must exist before the task may run.
    pub input: Option<TaskInput>,
    /// Fingerprint of the disc the task is for.
    pub disc_fingerprint: Option<String>,
    /// The file as read, merged under the result in `failed/<id>.json`.
    pub raw: Value,
}

impl Task {
    /// `scan` or `rip`.
    pub fn task_type(&self) -> TaskType {
        match self.kind {
            TaskKind::Scan => TaskType::Scan,
            TaskKind::Rip(_) => TaskType::Rip,
        }
    }

    /// The rip details, for rip tasks.
    pub fn rip(&self) -> Option<&RipSpec> {
        match &self.kind {
            TaskKind::Rip(spec) => Some(spec),
            TaskKind::Scan => None,
        }
    }
}

/// What a task asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskKind {
    /// Scan the disc.
    Scan,
    /// Rip one title.
    Rip(RipSpec),
}

/// A rip: which title, what to expect, and where the file goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RipSpec {
    /// MakeMKV title index.
    pub track: u32,
    /// Expected output size, when the webapp knows it.
    pub expected_size_bytes: Option<u64>,
    /// Expected duration `H:MM:SS`, when known.
    pub expected_duration: Option<String>,
    /// Absolute destination directory without `..` or NUL (as written, possibly ending in `/`).
    pub directory: PathBuf,
    /// File name: no `/`, no NUL, not empty, `.` or `..`.
    pub filename: String,
}

impl RipSpec {
    /// `directory/filename`.
    pub fn output_path(&self) -> PathBuf {
        self.directory.join(&self.filename)
    }
}

/// A task's `input`: what must exist before it may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskInput {
    /// Another task's id: its result `complete/<id>.json` must exist.
    Task(String),
    /// An absolute path that must exist.
    Path(PathBuf),
}

/// Who runs a task, as far as its id tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdOwner {
    /// `-scan` / `-rip`: ours.
    Daemon(TaskType),
    /// `-transcode` / `-insert`: never touched.
    Webapp,
    /// Seed-style id or unknown suffix: the file's `type` decides.
    Unknown,
}

/// Ownership by id suffix.
pub(crate) fn owner_by_id(id: &str) -> IdOwner {
    match type_from_id(id) {
        Some(t) if t.is_daemon_owned() => IdOwner::Daemon(t),
        Some(_) => IdOwner::Webapp,
        None => IdOwner::Unknown,
    }
}
