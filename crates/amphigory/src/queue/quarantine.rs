//! Queued files whose names can never be task ids (SPEC §4 "Bounded reads"): a name that
//! is not valid UTF-8, or not a safe id (`my rip.json`). Left in `queued/` they would wait
//! forever; failed under their own name they would put an unsafe name into `complete/`.
//! So each is moved to `failed/` under a sanitised name, with an `INVALID_TASK` result
//! in `complete/` saying which file it was.
//!
//! The move out of `queued/` is one `rename` straight into `failed/`, which is also the
//! claim: of two daemons, one renames and the other finds nothing. The file is never run,
//! whatever happens afterwards.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;

use amphigory_wire::task::{TaskType, type_from_id};
use amphigory_wire::{ErrorCode, TaskError};
use serde_json::Value;

use super::layout::{MAX_ID_LEN, TaskState};
use super::result_files::failure_result;
use super::select::Rejected;
use super::{MAX_TASK_BYTES, Queue, QueueError};
use crate::fsio;

/// Longest sanitised stem, leaving room for a `-N` to make it unique.
const MAX_STEM: usize = MAX_ID_LEN - 8;

impl Queue {
    /// Moves `queued/<name>` to `failed/<sanitised>.json` and writes its `INVALID_TASK`
    /// result. `Ok(None)` when the file is gone (another daemon took it, the webapp
    /// removed it).
    pub(crate) fn quarantine(&self, name: &OsStr) -> Result<Option<Rejected>, QueueError> {
        let src = self.layout.dir(TaskState::Queued).join(name);
        let id = self.unused_id(&sanitised_stem(name));
        let dst = self.layout.file(TaskState::Failed, &id);
        match fs::rename(&src, &dst) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound && !fsio::exists(&src) => {
                return Ok(None);
            }
            Err(e) => return Err(QueueError::io("move aside", src, e)),
        }
        let raw = fsio::read_task_file(&dst, MAX_TASK_BYTES)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        let task_type = type_from_id(&id)
            .or_else(|| {
                raw.as_ref()
                    .and_then(|v| v.get("type"))
                    .and_then(Value::as_str)
                    .map(TaskType::from_name)
            })
            .unwrap_or_else(|| TaskType::Other("unknown".to_owned()));
        let shown = name.to_string_lossy();
        let error = TaskError::new(
            ErrorCode::InvalidTask,
            format!(
                "Invalid task: the file name {shown:?} is not a usable task id (only \
                 letters, digits, '.', '_' and '-'); moved to failed/{id}.json"
            ),
            Some(format!("queued file name as bytes: {:?}", name.as_bytes())),
        );
        let result = failure_result(&id, task_type, None, error);
        tracing::warn!(file = %shown, task_id = %id, "a queued file name is not a task id; failed it");
        self.write_result(raw.as_ref(), &result)?;
        Ok(Some(Rejected::new(result)))
    }

    /// `stem`, or `stem-2`, `stem-3`… : the first with no file in any queue folder.
    fn unused_id(&self, stem: &str) -> String {
        let taken = |id: &str| {
            [
                TaskState::Queued,
                TaskState::InProgress,
                TaskState::Complete,
                TaskState::Failed,
            ]
            .iter()
            .any(|state| fsio::exists(&self.layout.file(*state, id)))
        };
        let mut id = stem.to_owned();
        let mut n = 1u32;
        while taken(&id) {
            n = n.saturating_add(1);
            id = format!("{stem}-{n}");
        }
        id
    }
}

/// A safe id made from a file name: `.json` dropped, every byte but ASCII letters,
/// digits, `.`, `_` and `-` replaced by `_` (so a type suffix like `-rip` survives),
/// leading dots replaced, at most [`MAX_STEM`] bytes.
fn sanitised_stem(name: &OsStr) -> String {
    let bytes = name.as_bytes();
    let stem = bytes.strip_suffix(b".json").unwrap_or(bytes);
    let mut out: String = stem
        .iter()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
                char::from(*b)
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with('.') || out.is_empty() {
        out.insert(0, '_');
    }
    if out.len() > MAX_STEM {
        // Keep the end: it carries the type suffix.
        out = out.split_off(out.len() - MAX_STEM);
        out.replace_range(..1, "_");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::is_safe_id;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn sanitised_stems_are_safe_ids_that_keep_the_type() {
        for (name, want) in [
            (&b"my rip-rip.json"[..], "my_rip-rip"),
            (b"caf\xe9-scan.json", "caf_-scan"),
            (b"..x.json", "_..x"),
            (b".json", "_"),
        ] {
            let stem = sanitised_stem(&OsString::from_vec(name.to_vec()));
            assert_eq!(stem, want);
            assert!(is_safe_id(&stem), "{stem}");
        }
        let long = OsString::from_vec([&[b'x'; 400][..], b"-rip.json"].concat());
        let stem = sanitised_stem(&long);
        assert!(is_safe_id(&stem) && stem.ends_with("-rip"), "{stem}");
    }
}
