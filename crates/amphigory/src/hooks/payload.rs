//! What a hook is told: which daemon events call which hook, and the facts of the event
//! as JSON (on the hook's stdin) and as `AMPHIGORY_*` environment variables. Pure.

use amphigory_wire::TaskError;
use amphigory_wire::task::TaskType;
use amphigory_wire::ws::DiscEventKind;
use serde::Serialize;

use crate::config::hooks::HookEvent;
use crate::core::{DaemonEvent, StatusSnapshot};

/// The event's JSON, as a hook reads it from stdin. Unknown facts are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HookPayload {
    /// `rip_complete`, `task_failed`… (the hook's key without `on_`).
    pub event: &'static str,
    /// The daemon that ran the hook.
    pub daemon_id: String,
    /// When the event was handled, RFC 3339.
    pub timestamp: String,
    /// The task, for task events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// `scan` or `rip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_type: Option<String>,
    /// The drive, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drive_id: Option<String>,
    /// The drive's device (`/dev/sr0`), for disc events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The file a rip wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_path: Option<String>,
    /// The size of that file, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// The title (track number) a rip read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<u32>,
    /// The disc's fingerprint, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disc_fingerprint: Option<String>,
    /// The disc's volume name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    /// Why a task failed: `{code, message, detail}` as in its result file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
}

impl HookPayload {
    /// The environment a hook gets besides the daemon's own: `AMPHIGORY_EVENT` always,
    /// the others only when known.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("AMPHIGORY_EVENT", self.event.to_owned()),
            ("AMPHIGORY_DAEMON_ID", self.daemon_id.clone()),
        ];
        let known = [
            ("AMPHIGORY_TASK_ID", self.task_id.clone()),
            ("AMPHIGORY_TASK_TYPE", self.task_type.clone()),
            ("AMPHIGORY_DRIVE_ID", self.drive_id.clone()),
            ("AMPHIGORY_DEVICE", self.device.clone()),
            ("AMPHIGORY_OUTPUT_PATH", self.output_path.clone()),
            (
                "AMPHIGORY_SIZE_BYTES",
                self.size_bytes.map(|b| b.to_string()),
            ),
            ("AMPHIGORY_TITLE", self.title.map(|t| t.to_string())),
            ("AMPHIGORY_DISC_FINGERPRINT", self.disc_fingerprint.clone()),
            ("AMPHIGORY_VOLUME", self.volume.clone()),
            (
                "AMPHIGORY_ERROR_CODE",
                self.error.as_ref().map(|e| e.code.to_string()),
            ),
            (
                "AMPHIGORY_ERROR_MESSAGE",
                self.error.as_ref().map(|e| e.message.clone()),
            ),
        ];
        env.extend(known.into_iter().filter_map(|(k, v)| Some((k, v?))));
        env
    }
}

/// Decides which hook an event calls. Keeps the one bit of state the `queue_empty` rule
/// needs: a task finished since the queue was last empty.
#[derive(Debug, Default)]
pub struct Matcher {
    worked: bool,
}

impl Matcher {
    /// The hooks `event` calls (at most two: a finished task can empty the queue), given
    /// the snapshot as it is now (its running tasks and queue depth).
    pub fn on_event(
        &mut self,
        event: &DaemonEvent,
        now: &StatusSnapshot,
    ) -> Vec<(HookEvent, HookPayload)> {
        let base = |hook: HookEvent| HookPayload {
            event: hook.name(),
            daemon_id: now.daemon_id.clone(),
            timestamp: crate::units::now_rfc3339(),
            ..HookPayload::default()
        };
        let mut calls = Vec::new();
        match event {
            DaemonEvent::Disc {
                event: DiscEventKind::Inserted,
                drive_id,
                device,
                volume_name,
                fingerprint,
            } => calls.push((
                HookEvent::DiscInserted,
                HookPayload {
                    drive_id: Some(drive_id.clone()),
                    device: Some(device.clone()),
                    volume: volume_name.clone(),
                    disc_fingerprint: fingerprint.clone(),
                    ..base(HookEvent::DiscInserted)
                },
            )),
            DaemonEvent::TaskFinished {
                task_id,
                task_type,
                error,
                facts,
                ..
            } => {
                self.worked = true;
                let hook = match (error, task_type) {
                    (Some(_), _) => HookEvent::TaskFailed,
                    (None, TaskType::Rip) => HookEvent::RipComplete,
                    (None, _) => HookEvent::ScanComplete,
                };
                calls.push((
                    hook,
                    HookPayload {
                        task_id: Some(task_id.clone()),
                        task_type: Some(task_type.as_str().to_owned()),
                        drive_id: facts.drive_id.clone(),
                        output_path: facts.output_path.clone(),
                        size_bytes: facts.size_bytes,
                        title: facts.title,
                        disc_fingerprint: facts.disc_fingerprint.clone(),
                        volume: facts.volume.clone(),
                        error: error.clone(),
                        ..base(hook)
                    },
                ));
            }
            DaemonEvent::QueueChanged { .. } => {}
            _ => return calls,
        }
        if self.worked && now.running.is_empty() && now.queue_depth == 0 {
            self.worked = false;
            calls.push((HookEvent::QueueEmpty, base(HookEvent::QueueEmpty)));
        }
        calls
    }
}

#[cfg(test)]
mod tests {
    use amphigory_wire::ErrorCode;

    use super::*;
    use crate::core::FinishedFacts;

    fn finished(error: Option<TaskError>) -> DaemonEvent {
        DaemonEvent::TaskFinished {
            task_id: "t1".into(),
            task_type: TaskType::Rip,
            error,
            facts: FinishedFacts {
                drive_id: Some("me@h:sr0".into()),
                output_path: Some("/out/a.mkv".into()),
                title: Some(3),
                ..FinishedFacts::default()
            },
        }
    }

    #[test]
    fn a_finished_rip_calls_rip_complete_then_queue_empty() {
        let mut matcher = Matcher::default();
        let idle = StatusSnapshot::default();
        let calls = matcher.on_event(&finished(None), &idle);
        let hooks: Vec<HookEvent> = calls.iter().map(|(h, _)| *h).collect();
        assert_eq!(hooks, [HookEvent::RipComplete, HookEvent::QueueEmpty]);
        let env = calls[0].1.env();
        assert!(env.contains(&("AMPHIGORY_OUTPUT_PATH", "/out/a.mkv".into())));
        assert!(env.contains(&("AMPHIGORY_TITLE", "3".into())));
        assert!(!env.iter().any(|(k, _)| *k == "AMPHIGORY_ERROR_CODE"));
        // Empty once per stretch of work.
        assert!(
            matcher
                .on_event(&DaemonEvent::QueueChanged { depth: 0 }, &idle)
                .is_empty()
        );
    }

    #[test]
    fn a_failure_carries_its_code() {
        let mut matcher = Matcher::default();
        let busy = StatusSnapshot {
            queue_depth: 2,
            ..StatusSnapshot::default()
        };
        let error = TaskError::new(ErrorCode::DiscEjected, "the disc was ejected", None);
        let calls = matcher.on_event(&finished(Some(error)), &busy);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].0, HookEvent::TaskFailed);
        let env = calls[0].1.env();
        assert!(env.contains(&("AMPHIGORY_ERROR_CODE", "DISC_EJECTED".into())));
        let json = serde_json::to_value(&calls[0].1).unwrap();
        assert_eq!(json["error"]["code"], "DISC_EJECTED");
        assert_eq!(json["event"], "task_failed");
    }
}
