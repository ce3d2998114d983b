//! The task queue's files: task files in `queued/`, and `tasks.json`.

use std::path::{Component, Path};
use std::sync::Arc;

use serde_json::Value;

use super::{Violation, ensure, split_first_line};
use crate::queue::{ListedIds, OrderCache, Task, TaskInput, Verdict, examine, is_safe_id};

const TASK: &str = "task file";
const ORDER: &str = "tasks.json";

/// The first line of `data` is the file's stem (`<stem>.json`), the rest its bytes, judged
/// by [`examine`] as the queue judges every queued file. A task it accepts must carry the
/// file's (safe) id, and a rip must write exactly `directory/filename`: an absolute
/// directory without `..`, and one plain name in it.
pub fn task_file(data: &[u8]) -> Result<(), Violation> {
    let (stem, bytes) = split_first_line(data);
    match examine(&stem, Ok(bytes)) {
        Verdict::Valid(task) => check_task(&stem, &task),
        Verdict::Invalid(poison) => ensure(!poison.message.is_empty(), TASK, || {
            format!("an invalid task with no reason: {poison:?}")
        }),
        Verdict::NotOurs(_) => Ok(()),
    }
}

fn check_task(stem: &str, task: &Task) -> Result<(), Violation> {
    ensure(task.id == stem && is_safe_id(stem), TASK, || {
        format!("accepted id {:?} from the file {stem:?}", task.id)
    })?;
    if let Some(TaskInput::Task(id)) = &task.input {
        ensure(is_safe_id(id), TASK, || {
            format!("unsafe input task id {id:?}")
        })?;
    }
    let Some(rip) = task.rip() else {
        return Ok(());
    };
    let dir = rip.directory.as_path();
    let path = rip.output_path();
    let plain = |p: &Path| {
        p.components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
    };
    let name_is_one_component = {
        let mut parts = Path::new(&rip.filename).components();
        matches!(parts.next(), Some(Component::Normal(n)) if n == rip.filename.as_str())
            && parts.next().is_none()
    };
    let inside = dir.is_absolute()
        && plain(dir)
        && plain(&path)
        && name_is_one_component
        && path.parent() == Some(dir)
        && path.file_name().is_some_and(|n| n == rip.filename.as_str());
    ensure(inside, TASK, || {
        format!(
            "rip accepted with output {} outside its folder {}",
            path.display(),
            dir.display()
        )
    })
}

/// Bytes before the first NUL are a `tasks.json` as last read, the rest the file now
/// (without a NUL, the whole input is the file now). Selection decodes it with
/// [`ListedIds`] (only the appended tail when the webapp appended), `enqueue` as JSON
/// values: the three must agree.
pub fn tasks_json(data: &[u8]) -> Result<(), Violation> {
    let (before, now) = match data.iter().position(|b| *b == 0) {
        Some(i) => (data.get(..i), data.get(i + 1..).unwrap_or_default()),
        None => (None, data),
    };
    let listed = serde_json::from_slice::<ListedIds>(now).map(|l| l.0);
    let values = serde_json::from_slice::<Vec<Value>>(now);
    match (&listed, &values) {
        (Ok(ids), Ok(values)) => {
            let strings: Vec<&str> = values
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| is_safe_id(s))
                .collect();
            let ids: Vec<&str> = ids.iter().map(|id| &**id).collect();
            ensure(ids == strings, ORDER, || {
                format!("selection reads {ids:?}, enqueue {strings:?}")
            })?;
        }
        (Err(_), Err(_)) => {}
        _ => {
            return Err(Violation {
                decoder: ORDER,
                property: format!(
                    "selection and enqueue disagree on whether it is an array: \
                     {listed:?} / {:?}",
                    values.as_ref().map(Vec::len)
                ),
            });
        }
    }
    if let Some(cache) = before.and_then(OrderCache::primed_with) {
        check_append(&cache, now, listed.as_deref().ok())?;
    }
    Ok(())
}

/// When [`OrderCache::appended`] takes `now` for an append, the old ids and the tail are
/// what a full decode gives.
fn check_append(
    cache: &OrderCache,
    now: &[u8],
    full: Option<&[Arc<str>]>,
) -> Result<(), Violation> {
    let Some(tail) = cache.appended(now) else {
        return Ok(());
    };
    let joined: Vec<&str> = cache.ids().iter().chain(&tail).map(|id| &**id).collect();
    let full: Option<Vec<&str>> = full.map(|ids| ids.iter().map(|id| &**id).collect());
    ensure(full.as_ref() == Some(&joined), ORDER, || {
        format!("appended decode gives {joined:?}, a full decode {full:?}")
    })
}
