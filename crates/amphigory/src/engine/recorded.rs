//! What the engine writes to the rip history (SPEC §11.2) when a task finishes, and what
//! it reads back from it: the drive's usual read speed, for the ETA before MakeMKV's
//! first progress.

use amphigory_wire::result::{ResultStatus, TaskResult};
use amphigory_wire::scan::DiscType;

use super::EngineContext;
use super::job::Job;
use super::results::{RunClock, now_rfc3339};
use crate::history::HistoryEntry;
use crate::queue::TaskKind;

/// The disc's type as history keys it: from its scan, else from its fingerprint.
pub(super) fn disc_type(job: &Job) -> Option<&'static str> {
    match job.cached_scan.as_deref().map(|s| s.disc_type) {
        Some(DiscType::Dvd) => Some("dvd"),
        Some(DiscType::Bluray) => Some("bluray"),
        Some(DiscType::Uhd) => Some("uhd"),
        Some(DiscType::Unknown) | None => {
            let fingerprint = job.disc_fingerprint.as_deref()?;
            let (prefix, _) = fingerprint.split_once('-')?;
            match prefix {
                "dvd" => Some("dvd"),
                "br" => Some("bluray"),
                "uhd" => Some("uhd"),
                "cd" => Some("cd"),
                _ => None,
            }
        }
    }
}

/// The drive's usual read speed for this disc's type, bytes per second.
pub(super) fn usual_rate(ctx: &EngineContext, job: &Job) -> Option<f64> {
    let history = ctx.history.as_ref()?;
    history.usual_rate(&job.drive.drive_id, disc_type(job)?)
}

/// Appends the finished task to the history; a failure to write is logged, never more.
pub(super) fn record(ctx: &EngineContext, job: &Job, clock: &RunClock, result: &TaskResult) {
    let Some(history) = ctx.history.as_ref() else {
        return;
    };
    let task = job.claim.task();
    let seconds = clock.elapsed_seconds();
    let bytes = result
        .result
        .as_ref()
        .filter(|_| result.error.is_none())
        .and_then(|r| r.get("size_bytes"))
        .and_then(serde_json::Value::as_u64);
    let title = match &task.kind {
        TaskKind::Rip(spec) => Some(spec.track),
        TaskKind::Scan => None,
    };
    let is_rip = matches!(task.kind, TaskKind::Rip(_));
    let entry = HistoryEntry {
        finished_at: now_rfc3339(),
        task: task.id.clone(),
        task_type: task.task_type(),
        drive: job.drive.drive_id.clone(),
        disc_type: disc_type(job).map(str::to_owned),
        disc: job
            .cached_scan
            .as_deref()
            .map(|s| s.disc_name.clone())
            .or_else(|| job.disc_volume.clone()),
        fingerprint: task
            .disc_fingerprint
            .clone()
            .or_else(|| job.disc_fingerprint.clone()),
        title,
        bytes: bytes.filter(|_| is_rip),
        seconds,
        mb_per_s: bytes
            .filter(|_| is_rip && seconds > 0.0)
            .map(|b| b as f64 / 1e6 / seconds),
        outcome: match result.status {
            ResultStatus::Success => "success".into(),
            ResultStatus::Failed => "failed".into(),
        },
        code: result.error.as_ref().map(|e| e.code),
    };
    if let Err(e) = history.append(&entry) {
        tracing::warn!(task = %task.id, "cannot add the task to {}: {e}", history.path().display());
    }
}
