//! The daemon-private queue state, under `<state dir>/queue/`:
//!
//! ```text
//! queue/
//!   state.json        {"attempts": {"<id>": n, …}, "front": ["<id>", …]}
//!   claims/<id>.json  {"task_id","daemon_id","nonce","pid","claimed_at","child_pid","output_dir","finished"?}
//! ```
//!
//! `attempts` counts interrupted runs per task (never written into the webapp's files);
//! `front` lists tasks put back by a pause-now, shutdown or crash recovery, which run
//! before anything else. A claim record is written *before* the claim's rename, so a
//! daemon killed at any moment finds every claim it may have made. Claim records are
//! replaced atomically but not fsynced (they must not slow a pick-up down): after a power
//! cut a lost record only means the lease rules recover that task instead.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use amphigory_wire::result::TaskResult;
use serde::{Deserialize, Serialize};

use super::QueueError;
use super::layout::is_safe_id;
use crate::fsio;

/// One claim this daemon made (or was about to make).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ClaimRecord {
    pub task_id: String,
    pub daemon_id: String,
    /// Random per claim; also in the ownership sidecar.
    pub nonce: String,
    /// Pid of the daemon that claimed.
    pub pid: u32,
    /// RFC 3339.
    pub claimed_at: String,
    /// The `makemkvcon` child working on it, once started.
    #[serde(default)]
    pub child_pid: Option<u32>,
    /// A rip's output directory, so recovery can remove the partial output.
    #[serde(default)]
    pub output_dir: Option<PathBuf>,
    /// The task finished, but its result could not be written yet (SPEC §4 "A result
    /// that cannot be written"): this is the result, to be written, never run again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<TaskResult>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct QueueState {
    #[serde(default)]
    attempts: BTreeMap<String, u32>,
    #[serde(default)]
    front: Vec<String>,
}

/// Access to the state directory. Clones share one lock, which serialises the
/// read-modify-write of `state.json` between threads of one daemon (held only around
/// short synchronous file operations).
#[derive(Debug, Clone)]
pub(crate) struct StateStore {
    dir: PathBuf,
    lock: Arc<Mutex<()>>,
    /// Temp files made ahead for claim records (see [`fsio::Spares`]).
    pub spares: Arc<fsio::Spares>,
}

impl StateStore {
    /// Opens (creating, mode 0700) `<state_dir>/queue/` and its `claims/`.
    pub fn open(state_dir: &Path) -> Result<Self, QueueError> {
        let dir = state_dir.join("queue");
        let claims = dir.join("claims");
        fs::create_dir_all(&claims).map_err(|e| QueueError::io("create directory", &claims, e))?;
        for d in [&dir, &claims] {
            fs::set_permissions(d, fs::Permissions::from_mode(0o700))
                .map_err(|e| QueueError::io("set permissions of", d, e))?;
        }
        Ok(Self {
            dir,
            lock: Arc::new(Mutex::new(())),
            spares: Arc::default(),
        })
    }

    /// The directories this store writes files into (for the leftover sweep).
    pub fn dirs(&self) -> [PathBuf; 2] {
        [self.dir.clone(), self.claims_dir()]
    }

    pub fn claims_dir(&self) -> PathBuf {
        self.dir.join("claims")
    }

    fn claim_path(&self, id: &str) -> PathBuf {
        self.claims_dir().join(format!("{id}.json"))
    }

    fn guard(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes (or rewrites) a claim record.
    pub fn write_claim(&self, record: &ClaimRecord) -> Result<(), QueueError> {
        let bytes = json_bytes(record)?;
        let dir = self.claims_dir();
        fsio::replace_file_with(
            &self.spares,
            &dir,
            &format!("{}.json", record.task_id),
            &bytes,
        )
        .map_err(|e| QueueError::io("write claim record in", dir, e))
    }

    /// The claim record for `id`, if any (`None` too when it is unreadable).
    pub fn read_claim(&self, id: &str) -> Option<ClaimRecord> {
        let bytes = fs::read(self.claim_path(id)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// True when there is a claim record for `id` (or it cannot be told: a claim that may
    /// be ours is never treated as someone else's).
    pub fn has_claim(&self, id: &str) -> bool {
        !matches!(fs::symlink_metadata(self.claim_path(id)), Err(e) if e.kind() == io::ErrorKind::NotFound)
    }

    /// Removes the claim record for `id` (fine if there is none).
    pub fn remove_claim(&self, id: &str) -> Result<(), QueueError> {
        let path = self.claim_path(id);
        fsio::remove_any(&path)
            .map(|_| ())
            .map_err(|e| QueueError::io("remove claim record", path, e))
    }

    /// Ids of every claim record, with the record when it is readable.
    pub fn claims(&self) -> Result<Vec<(String, Option<ClaimRecord>)>, QueueError> {
        let dir = self.claims_dir();
        let entries = fs::read_dir(&dir).map_err(|e| QueueError::io("list", &dir, e))?;
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if is_safe_id(id) {
                out.push((id.to_owned(), self.read_claim(id)));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Interrupted runs recorded for `id`.
    pub fn attempts(&self, id: &str) -> u32 {
        let _guard = self.guard();
        self.load().attempts.get(id).copied().unwrap_or(0)
    }

    /// Records one more interrupted run of `id`; returns the new count.
    pub fn bump_attempts(&self, id: &str) -> Result<u32, QueueError> {
        self.update(|s| {
            let n = s.attempts.entry(id.to_owned()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        })
    }

    /// Puts `id` at the head of the "run first" list.
    pub fn push_front(&self, id: &str) -> Result<(), QueueError> {
        self.update(|s| {
            s.front.retain(|f| f != id);
            s.front.insert(0, id.to_owned());
        })
    }

    /// The "run first" list, first first.
    pub fn front(&self) -> Vec<String> {
        let _guard = self.guard();
        self.load().front
    }

    /// Drops `id` from the "run first" list (it was claimed or is gone).
    pub fn remove_front(&self, id: &str) -> Result<(), QueueError> {
        if !self.front().iter().any(|f| f == id) {
            return Ok(());
        }
        self.update(|s| s.front.retain(|f| f != id))
    }

    /// Forgets everything about a finished task.
    pub fn forget(&self, id: &str) -> Result<(), QueueError> {
        let _ = self.remove_front(id);
        if self.attempts(id) == 0 {
            return Ok(());
        }
        self.update(|s| {
            s.attempts.remove(id);
        })
    }

    fn update<T>(&self, change: impl FnOnce(&mut QueueState) -> T) -> Result<T, QueueError> {
        let _guard = self.guard();
        let mut state = self.load();
        let out = change(&mut state);
        let bytes = json_bytes(&state)?;
        fsio::write_atomic(&self.dir, "state.json", &bytes, true)
            .map_err(|e| QueueError::io("write", self.dir.join("state.json"), e))?;
        Ok(out)
    }

    /// Reads `state.json`; a missing or corrupt file is an empty state (logged), never a
    /// reason to stop working the queue.
    fn load(&self) -> QueueState {
        let path = self.dir.join("state.json");
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "corrupt queue state; starting afresh");
                QueueState::default()
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => QueueState::default(),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read queue state");
                QueueState::default()
            }
        }
    }
}

/// Pretty JSON with a trailing newline.
pub(crate) fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, QueueError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| QueueError::Invalid(format!("cannot encode JSON: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_and_front_persist() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        assert_eq!(s.bump_attempts("a-rip").unwrap(), 1);
        assert_eq!(s.bump_attempts("a-rip").unwrap(), 2);
        s.push_front("b-rip").unwrap();
        s.push_front("a-rip").unwrap();
        let again = StateStore::open(dir.path()).unwrap();
        assert_eq!(again.attempts("a-rip"), 2);
        assert_eq!(again.front(), vec!["a-rip", "b-rip"]);
        again.forget("a-rip").unwrap();
        assert_eq!(again.attempts("a-rip"), 0);
        assert_eq!(again.front(), vec!["b-rip"]);
    }

    #[test]
    fn claim_records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        let rec = ClaimRecord {
            task_id: "a-rip".into(),
            daemon_id: "me@host".into(),
            nonce: "n".into(),
            pid: 1,
            claimed_at: "t".into(),
            child_pid: Some(42),
            output_dir: Some("/x/".into()),
            finished: None,
        };
        s.write_claim(&rec).unwrap();
        fs::write(s.claims_dir().join("junk-rip.json"), b"{").unwrap();
        let all = s.claims().unwrap();
        assert_eq!(
            all,
            vec![("a-rip".into(), Some(rec)), ("junk-rip".into(), None)]
        );
        s.remove_claim("a-rip").unwrap();
        s.remove_claim("a-rip").unwrap();
        assert_eq!(s.claims().unwrap().len(), 1);
    }
}
