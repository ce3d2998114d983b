//! The daemon's status snapshot as the control socket's wire types: what `status` and
//! `subscribe` send, built field by field so the reply's shape is the wire type's.

use amphigory_wire::control::DaemonStatus;

use crate::core::StatusSnapshot;

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
