//! The seed-protocol messages (SPEC §7.1) made from the daemon's events and status: the
//! WebSocket server and the control socket send them. Here rather than in `core`, so the
//! core stays below the wire protocol's server side (issue 15).

use amphigory_wire::drive::DriveState;
use amphigory_wire::ws::{DaemonEventKind, ServerMessage, SyncDisc, SyncTask, TaskStatusKind};

use crate::core::{DaemonEvent, StatusSnapshot};

/// The `sync` message of SPEC §7.1.
pub fn sync(status: &StatusSnapshot, timestamp: String) -> ServerMessage {
    let disc_drive = status
        .current()
        .filter(|d| d.state != DriveState::Empty)
        .or_else(|| status.drives.iter().find(|d| d.state != DriveState::Empty));
    ServerMessage::Sync {
        timestamp,
        disc: SyncDisc {
            inserted: disc_drive.is_some(),
            device: disc_drive.map(|d| d.device.clone()),
            volume_name: disc_drive.and_then(|d| d.disc_volume.clone()),
        },
        current_task: status.running.first().map(|t| SyncTask {
            id: t.task_id.clone(),
            percent: t.percent,
            eta_seconds: t.eta_seconds,
        }),
        paused: status.paused,
        queue_depth: status.queue_depth,
        drives: status.drives.clone(),
        discs_needed: status.discs_needed.clone(),
    }
}

/// The `heartbeat` message of SPEC §7.1.
pub fn heartbeat(status: &StatusSnapshot, timestamp: String) -> ServerMessage {
    ServerMessage::Heartbeat {
        timestamp,
        queue_depth: status.queue_depth,
        current_task: status.running.first().map(|t| t.task_id.clone()),
        paused: status.paused,
    }
}

/// The seed-protocol message (SPEC §7.1) for an event, if it has one.
pub fn event_message(event: &DaemonEvent) -> Option<ServerMessage> {
    Some(match event {
        DaemonEvent::TaskStarted { task_id, .. } => task_status(task_id, TaskStatusKind::Started),
        DaemonEvent::TaskFinished { task_id, error, .. } => {
            let kind = if error.is_some() {
                TaskStatusKind::Failed
            } else {
                TaskStatusKind::Completed
            };
            task_status(task_id, kind)
        }
        DaemonEvent::TaskProgress { .. } => ServerMessage::Progress(event.progress()?),
        DaemonEvent::Paused => daemon(DaemonEventKind::Paused, None),
        DaemonEvent::Resumed => daemon(DaemonEventKind::Resumed, None),
        DaemonEvent::Error { reason } => daemon(DaemonEventKind::Error, Some(reason.clone())),
        DaemonEvent::ClaimLost { task_id, reason } => daemon(
            DaemonEventKind::Error,
            Some(format!("claim lost: task {task_id}: {reason}")),
        ),
        DaemonEvent::Disc {
            event,
            drive_id,
            device,
            volume_name,
            fingerprint,
        } => ServerMessage::Disc {
            event: *event,
            device: device.clone(),
            volume_name: volume_name.clone(),
            fingerprint: fingerprint.clone(),
            drive_id: drive_id.clone(),
        },
        DaemonEvent::DiscNeeded { disc } => ServerMessage::DiscNeeded(disc.clone()),
        DaemonEvent::TaskRequeued { .. } | DaemonEvent::QueueChanged { .. } => return None,
    })
}

fn task_status(task_id: &str, status: TaskStatusKind) -> ServerMessage {
    ServerMessage::Status {
        task_id: task_id.to_owned(),
        status,
    }
}

fn daemon(event: DaemonEventKind, reason: Option<String>) -> ServerMessage {
    ServerMessage::Daemon { event, reason }
}

#[cfg(test)]
mod tests {
    use amphigory_wire::TaskError;
    use amphigory_wire::task::TaskType;
    use amphigory_wire::ws::NeededDisc;

    use super::*;
    use crate::core::FinishedFacts;

    #[test]
    fn disc_needed_is_sent_as_it_is() {
        let disc = NeededDisc {
            fingerprint: "br-1".into(),
            volume_name: None,
            waiting: 2,
            rips: 2,
        };
        let event = DaemonEvent::DiscNeeded { disc: disc.clone() };
        assert_eq!(event_message(&event), Some(ServerMessage::DiscNeeded(disc)));
    }

    #[test]
    fn finished_maps_to_status_by_error() {
        let ok = DaemonEvent::TaskFinished {
            task_id: "a".into(),
            task_type: TaskType::Rip,
            error: None,
            facts: FinishedFacts::default(),
        };
        assert_eq!(
            event_message(&ok),
            Some(task_status("a", TaskStatusKind::Completed))
        );
        let failed = DaemonEvent::TaskFinished {
            task_id: "a".into(),
            task_type: TaskType::Rip,
            error: Some(TaskError::new(
                amphigory_wire::ErrorCode::DiscEjected,
                "x",
                None,
            )),
            facts: FinishedFacts::default(),
        };
        assert_eq!(
            event_message(&failed),
            Some(task_status("a", TaskStatusKind::Failed))
        );
    }
}
