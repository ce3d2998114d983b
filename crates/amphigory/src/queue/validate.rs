//! Task file → [`Task`], or the reason it is `INVALID_TASK`, or "not ours".
//!
//! Fields are checked one by one on the raw JSON so the reason names the field and what
//! was found ("`track.number` must be a non-negative integer, found \"0\""), instead of a
//! serde message. The rip destination then goes through [`TaskFile::destination`] so the
//! precedence rules (`output_info` over `output`, a string `output` is a full path) live
//! in one place.

use std::path::{Component, Path, PathBuf};

use amphigory_wire::task::{OutputInfo, TaskFile, TaskType, type_from_id};
use serde_json::{Map, Value};

use super::MAX_TASK_BYTES;
use super::invalid_task::InvalidTask;
use super::layout::is_safe_id;
use super::task::{IdOwner, RipSpec, Task, TaskInput, TaskKind, owner_by_id};
use crate::fsio::{self, ReadProblem};

/// What a task file turned out to be.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// A daemon task, ready to run.
    Valid(Task),
    /// Someone else's task (`transcode`, `insert`, or a seed-style id of an unknown type):
    /// never touched.
    NotOurs(TaskType),
    /// A task the daemon must fail with `INVALID_TASK`.
    Invalid(Poison),
}

/// Why a task is `INVALID_TASK`, and what to write about it.
#[derive(Debug, Clone)]
pub(crate) struct Poison {
    /// What is wrong, for a person.
    pub message: String,
    /// The `type` to put in the result (`type` is mandatory there).
    pub task_type: TaskType,
    /// The task object as read, when it was a JSON value at all.
    pub raw: Option<Value>,
    /// The JSON ended early: possibly a file still being written (see
    /// [`INCOMPLETE_GRACE`](super::INCOMPLETE_GRACE)).
    pub incomplete: bool,
}

/// Judges the task file at `path` (named `<stem>.json`); `None` when it is gone. A
/// webapp-owned id is judged by its name alone: the file is not even opened.
pub(crate) fn examine_path(stem: &str, path: &Path) -> Option<Verdict> {
    if owner_by_id(stem) == IdOwner::Webapp {
        return Some(examine(stem, Err("")));
    }
    match fsio::read_task_file(path, MAX_TASK_BYTES) {
        Ok(bytes) => Some(examine(stem, Ok(&bytes))),
        Err(ReadProblem::Gone) => None,
        Err(ReadProblem::Unusable(why)) => Some(examine(stem, Err(&why))),
    }
}

/// Judges the file `<stem>.json` from its bytes, or from why they could not be read.
pub(crate) fn examine(stem: &str, bytes: Result<&[u8], &str>) -> Verdict {
    let suffix_type = match owner_by_id(stem) {
        IdOwner::Webapp => {
            let t = type_from_id(stem).unwrap_or_else(|| TaskType::Other(String::new()));
            return Verdict::NotOurs(t);
        }
        IdOwner::Daemon(t) => Some(t),
        IdOwner::Unknown => None,
    };
    let fallback_type = suffix_type
        .clone()
        .unwrap_or_else(|| TaskType::Other("unknown".to_owned()));
    let poison = |message: String, task_type: TaskType, raw: Option<Value>| {
        Verdict::Invalid(Poison {
            message,
            task_type,
            raw,
            incomplete: false,
        })
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(why) => return poison(why.to_owned(), fallback_type, None),
    };
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            return Verdict::Invalid(Poison {
                message: format!("task file is not valid JSON ({e})"),
                task_type: fallback_type,
                raw: None,
                incomplete: e.is_eof(),
            });
        }
    };
    let declared = match declared_type(&value) {
        Ok(t) => t,
        Err(invalid) => return poison(invalid.to_string(), fallback_type, Some(value)),
    };
    match &suffix_type {
        None if !declared.is_daemon_owned() => return Verdict::NotOurs(declared),
        Some(t) if *t != declared => {
            let msg = format!(
                "`type` is {:?} but the id ends in \"-{}\"",
                declared.as_str(),
                t.as_str()
            );
            return poison(msg, declared, Some(value));
        }
        _ => {}
    }
    match build(stem, &declared, &value) {
        Ok(task) => Verdict::Valid(task),
        Err(invalid) => poison(invalid.to_string(), declared, Some(value)),
    }
}

/// The `type` of a JSON object.
fn declared_type(value: &Value) -> Result<TaskType, InvalidTask> {
    let Some(obj) = value.as_object() else {
        return Err(InvalidTask::Holds(kind(value)));
    };
    match obj.get("type") {
        None | Some(Value::Null) => Err(InvalidTask::Missing("type")),
        Some(Value::String(s)) => Ok(TaskType::from_name(s)),
        Some(other) => Err(InvalidTask::wrong("type", "a string", kind(other))),
    }
}

/// Checks everything but ownership and builds the task.
fn build(stem: &str, declared: &TaskType, value: &Value) -> Result<Task, InvalidTask> {
    let obj = value.as_object().ok_or(InvalidTask::NotAnObject)?;
    if !is_safe_id(stem) {
        return Err(InvalidTask::UnsafeName(format!("{stem}.json")));
    }
    check_id(stem, obj)?;
    let created_at = opt_string(obj, "created_at", "created_at")?;
    let drive = opt_string(obj, "drive", "drive")?;
    let disc_fingerprint = opt_string(obj, "disc_fingerprint", "disc_fingerprint")?;
    let input = check_input(obj)?;
    let kind = match declared {
        TaskType::Scan => TaskKind::Scan,
        TaskType::Rip => TaskKind::Rip(check_rip(value, obj)?),
        other => return Err(InvalidTask::NotDaemonTask(other.as_str().to_owned())),
    };
    Ok(Task {
        id: stem.to_owned(),
        kind,
        created_at,
        drive,
        input,
        disc_fingerprint,
        raw: value.clone(),
    })
}

fn check_id(stem: &str, obj: &Map<String, Value>) -> Result<(), InvalidTask> {
    match obj.get("id") {
        None | Some(Value::Null) => Err(InvalidTask::Missing("id")),
        Some(Value::String(id)) if id == stem => Ok(()),
        Some(Value::String(id)) => Err(InvalidTask::IdMismatch {
            id: id.clone(),
            file: format!("{stem}.json"),
        }),
        Some(other) => Err(InvalidTask::wrong("id", "a string", kind(other))),
    }
}

fn check_input(obj: &Map<String, Value>) -> Result<Option<TaskInput>, InvalidTask> {
    let Some(input) = opt_string(obj, "input", "input")? else {
        return Ok(None);
    };
    if input.is_empty() {
        Ok(None)
    } else if input.contains('\0') {
        Err(InvalidTask::Nul("`input`".to_owned()))
    } else if input.starts_with('/') {
        Ok(Some(TaskInput::Path(PathBuf::from(input))))
    } else if is_safe_id(&input) {
        Ok(Some(TaskInput::Task(input)))
    } else {
        Err(InvalidTask::BadInput(input))
    }
}

fn check_rip(value: &Value, obj: &Map<String, Value>) -> Result<RipSpec, InvalidTask> {
    let track = match obj.get("track") {
        None | Some(Value::Null) => return Err(InvalidTask::RipMissing("track")),
        Some(Value::Object(t)) => t,
        Some(other) => return Err(InvalidTask::wrong("track", "an object", kind(other))),
    };
    let number = match track.get("number") {
        None | Some(Value::Null) => return Err(InvalidTask::RipMissing("track.number")),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| InvalidTask::wrong("track.number", "a non-negative integer", v))?,
    };
    let expected_size_bytes = match track.get("expected_size_bytes") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| {
            InvalidTask::wrong(
                "track.expected_size_bytes",
                "a non-negative integer or null",
                v,
            )
        })?),
    };
    let expected_duration = opt_string(track, "expected_duration", "track.expected_duration")?;
    check_output_shapes(obj)?;
    let file: TaskFile = serde_json::from_value(value.clone()).map_err(InvalidTask::Fields)?;
    let (label, dest) = match file.destination() {
        Some(dest) if file.output_info.is_some() => ("output_info", dest),
        Some(dest) => ("output", dest),
        None => return Err(InvalidTask::NoDestination),
    };
    let (directory, filename) = check_destination(label, &dest, obj.get("output"))?;
    Ok(RipSpec {
        track: number,
        expected_size_bytes,
        expected_duration,
        directory,
        filename,
    })
}

/// `output_info` must be an object (or null); `output` an object or a path string (or
/// null); their `directory` and `filename`, strings (or null).
fn check_output_shapes(obj: &Map<String, Value>) -> Result<(), InvalidTask> {
    for key in ["output_info", "output"] {
        match obj.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(_)) if key == "output" => {}
            Some(Value::Object(m)) => {
                opt_string(m, "directory", &format!("{key}.directory"))?;
                opt_string(m, "filename", &format!("{key}.filename"))?;
            }
            Some(other) => {
                let want = if key == "output" {
                    "an object or a path string"
                } else {
                    "an object"
                };
                return Err(InvalidTask::wrong(key, want, kind(other)));
            }
        }
    }
    Ok(())
}

/// The destination's rules: an absolute directory without `..` or NUL; a plain file name.
fn check_destination(
    label: &str,
    dest: &OutputInfo,
    output: Option<&Value>,
) -> Result<(PathBuf, String), InvalidTask> {
    let as_path = label == "output" && matches!(output, Some(Value::String(_)));
    let (dir_label, file_label) = if as_path {
        ("`output` path".to_owned(), "`output` file name".to_owned())
    } else {
        (
            format!("`{label}.directory`"),
            format!("`{label}.filename`"),
        )
    };
    let directory = match dest.directory.as_deref() {
        None if as_path => {
            let path = dest.filename.as_deref().unwrap_or_default();
            return Err(InvalidTask::Relative {
                field: dir_label,
                path: path.to_owned(),
            });
        }
        None => return Err(InvalidTask::MissingOrNull(dir_label)),
        Some("") => return Err(InvalidTask::Empty(dir_label)),
        Some(d) if d.contains('\0') => return Err(InvalidTask::Nul(dir_label)),
        Some(d) if !d.starts_with('/') => {
            return Err(InvalidTask::Relative {
                field: dir_label,
                path: d.to_owned(),
            });
        }
        Some(d) if Path::new(d).components().any(|c| c == Component::ParentDir) => {
            return Err(InvalidTask::ParentDir {
                field: dir_label,
                path: d.to_owned(),
            });
        }
        Some(d) => PathBuf::from(d),
    };
    let filename = match dest.filename.as_deref() {
        None => return Err(InvalidTask::MissingOrNull(file_label)),
        Some("") => return Err(InvalidTask::Empty(file_label)),
        Some(f @ ("." | "..")) => {
            return Err(InvalidTask::NotAFileName {
                field: file_label,
                name: f.to_owned(),
            });
        }
        Some(f) if f.contains('\0') => return Err(InvalidTask::Nul(file_label)),
        Some(f) if f.contains('/') => {
            return Err(InvalidTask::Slash {
                field: file_label,
                name: f.to_owned(),
            });
        }
        Some(f) => f.to_owned(),
    };
    Ok((directory, filename))
}

/// An optional string field (absent and `null` are `None`).
fn opt_string(
    obj: &Map<String, Value>,
    key: &str,
    label: &str,
) -> Result<Option<String>, InvalidTask> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(InvalidTask::wrong(label, "a string", kind(other))),
    }
}

/// "a number", "an array", … for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(stem: &str, text: &str) -> Verdict {
        examine(stem, Ok(text.as_bytes()))
    }

    #[test]
    fn both_rip_shapes_validate() {
        let seed = r#"{"id":"a-rip","type":"rip","track":{"number":2,"expected_size_bytes":5,"expected_duration":"1:00:00"},
            "output":{"directory":"/m/T (2004)/","filename":"T (2004).mkv"}}"#;
        let Verdict::Valid(t) = judge("a-rip", seed) else {
            panic!()
        };
        let rip = t.rip().unwrap();
        assert_eq!((rip.track, rip.expected_size_bytes), (2, Some(5)));
        assert_eq!(rip.output_path(), PathBuf::from("/m/T (2004)/T (2004).mkv"));
        let webapp = r#"{"id":"b-rip","type":"rip","input":null,"output":"/h/M/Other.mkv",
            "track":{"number":0,"expected_size_bytes":null,"expected_duration":null},
            "output_info":{"directory":"/h/M/","filename":"M.mkv"},"disc_fingerprint":"br-1"}"#;
        let Verdict::Valid(t) = judge("b-rip", webapp) else {
            panic!()
        };
        assert_eq!(t.rip().unwrap().filename, "M.mkv");
        assert_eq!(t.disc_fingerprint.as_deref(), Some("br-1"));
    }

    #[test]
    fn ownership_comes_from_the_suffix_then_the_type() {
        assert!(matches!(
            judge("a-transcode", "garbage"),
            Verdict::NotOurs(TaskType::Transcode)
        ));
        assert!(matches!(
            judge(
                "20251221-143045-001",
                r#"{"id":"20251221-143045-001","type":"insert"}"#
            ),
            Verdict::NotOurs(TaskType::Insert)
        ));
        assert!(matches!(
            judge(
                "20251221-143045-001",
                r#"{"id":"20251221-143045-001","type":"scan"}"#
            ),
            Verdict::Valid(_)
        ));
        assert!(matches!(
            judge("20251221-143045-001", "garbage"),
            Verdict::Invalid(_)
        ));
        let Verdict::Invalid(p) = judge("x-rip", r#"{"id":"x-rip","type":"transcode"}"#) else {
            panic!()
        };
        assert!(p.message.contains("ends in \"-rip\""), "{}", p.message);
    }

    #[test]
    fn inputs_are_ids_or_absolute_paths() {
        let Verdict::Valid(t) = judge("a-scan", r#"{"id":"a-scan","type":"scan","input":"b-rip"}"#)
        else {
            panic!()
        };
        assert_eq!(t.input, Some(TaskInput::Task("b-rip".into())));
        let Verdict::Valid(t) = judge("a-scan", r#"{"id":"a-scan","type":"scan","input":"/x"}"#)
        else {
            panic!()
        };
        assert_eq!(t.input, Some(TaskInput::Path("/x".into())));
        let Verdict::Invalid(p) =
            judge("a-scan", r#"{"id":"a-scan","type":"scan","input":"../x"}"#)
        else {
            panic!()
        };
        assert!(p.message.contains("neither a task id"));
    }
}
