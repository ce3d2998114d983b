//! The daemon's status snapshot as the control socket's wire types: what `status` and
//! `subscribe` send, built field by field so the reply's shape is the wire type's.

use amphigory_wire::control::{self as wire, DaemonStatus};

use crate::core::StatusSnapshot;
use crate::queue::TaskState;

/// `snapshot` as the wire's [`DaemonStatus`].
pub(super) fn daemon_status(snapshot: StatusSnapshot) -> DaemonStatus {
    let StatusSnapshot {
        daemon_id,
        version,
        paused,
        queue_depth,
        drives,
        running,
        problems,
        webapp_link,
        current_drive,
        keep_awake,
        discs_needed,
    } = snapshot;
    DaemonStatus {
        daemon_id,
        version,
        paused,
        queue_depth,
        drives,
        running,
        // On the wire a problem is its line.
        problems: problems.iter().map(ToString::to_string).collect(),
        webapp_link,
        current_drive,
        keep_awake,
        discs_needed,
    }
}

/// A queue folder as the wire names it.
pub(super) fn task_state(state: TaskState) -> wire::TaskState {
    match state {
        TaskState::Queued => wire::TaskState::Queued,
        TaskState::InProgress => wire::TaskState::InProgress,
        TaskState::Complete => wire::TaskState::Complete,
        TaskState::Failed => wire::TaskState::Failed,
    }
}
