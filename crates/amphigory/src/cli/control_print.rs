//! Human renderings of the control socket's answers: short sentences for actions, plain
//! aligned tables for lists. Each takes the reply type of its action (read leniently
//! where a daemon may leave fields out), missing values shown as `-`.

use amphigory_wire::control::{
    DrivesReply, EjectReply, KeepAwakeStatus, LabelReply, PauseReply, ResumeReply, RunningTask,
    StatusReply, TaskIdReply, TaskRow, TasksReply, VolumeSpace,
};
use amphigory_wire::drive::DriveStatus;

use super::progress_view::{human_bytes, human_duration, progress_message};

/// Columns padded to their widest cell, two spaces apart.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let render = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut lines = vec![render(headers.to_vec())];
    lines.extend(
        rows.iter()
            .map(|r| render(r.iter().map(String::as_str).collect())),
    );
    lines.join("\n")
}

/// One drive's disc, e.g. `DEMO_BLURAY (bluray)`.
pub(crate) fn disc(drive: &DriveStatus) -> String {
    match (&drive.disc_volume, &drive.disc_type) {
        _ if drive.state == amphigory_wire::drive::DriveState::Empty => "-".to_owned(),
        (Some(volume), Some(kind)) => format!("{volume} ({kind})"),
        (Some(volume), None) => volume.clone(),
        (None, Some(kind)) => format!("({kind})"),
        (None, None) => "disc".to_owned(),
    }
}

fn state_name(drive: &DriveStatus) -> &'static str {
    drive.state.as_str()
}

/// `amphigory status`.
pub(crate) fn status(reply: &StatusReply) -> String {
    let status = &reply.status;
    let depth = status.queue_depth;
    let mut out = vec![
        format!(
            "Daemon   {} (amphigory {})",
            or_dash(&status.daemon_id),
            or_dash(&status.version),
        ),
        format!(
            "Queue    {depth} task{} waiting, {}",
            if depth == 1 { "" } else { "s" },
            if status.paused { "paused" } else { "running" }
        ),
    ];
    if status.running.is_empty() {
        out.push("Task     none running".to_owned());
    }
    out.extend(
        status
            .running
            .iter()
            .map(|t| format!("Task     {}", running_task(t))),
    );
    if status.drives.is_empty() {
        out.push("Drives   none".to_owned());
    }
    out.extend(status.drives.iter().map(drive_line));
    out.extend(
        reply
            .space
            .iter()
            .map(|v| format!("Space    {}", describe_volume(v))),
    );
    out.extend(status.keep_awake.as_ref().map(keep_awake));
    out.extend(status.problems.iter().map(|p| format!("Problem  {p}")));
    out.join("\n")
}

/// An empty text (a field the daemon left out) as `-`.
fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

/// `Drive    ID "Label"  DEVICE  STATE  DISC`.
fn drive_line(d: &DriveStatus) -> String {
    let label = d
        .label
        .as_deref()
        .map(|l| format!(" \"{l}\""))
        .unwrap_or_default();
    format!(
        "Drive    {}{label}  {}  {}  {}",
        d.drive_id,
        d.device,
        state_name(d),
        disc(d)
    )
}

/// `Awake    held (logind)`: the keep-awake line (SPEC §11.1); none from an older daemon.
fn keep_awake(state: &KeepAwakeStatus) -> String {
    let line = match (state.enabled, state.held, &state.problem) {
        (false, _, _) => "off (keep_awake: false)".to_owned(),
        (true, true, _) => format!("held ({}): the machine will not sleep", state.backend),
        (true, false, Some(problem)) => format!("not held: {problem}"),
        (true, false, None) => format!("not held ({}): no task runs", state.backend),
    };
    format!("Awake    {line}")
}

/// `/media: 3 queued rips need 80.0 GB, 40.0 GB free (12.0 GB more held by running
/// rips) — NOT ENOUGH SPACE`.
pub(crate) fn describe_volume(v: &VolumeSpace) -> String {
    let rips = if v.queued_rips == 1 {
        "rip needs"
    } else {
        "rips need"
    };
    let mut line = format!(
        "{}: {} queued {rips} {}, {} free",
        v.volume,
        v.queued_rips,
        human_bytes(v.queued_bytes),
        human_bytes(v.free_bytes)
    );
    if v.held_bytes > 0 {
        line.push_str(&format!(
            " ({} more held by running rips)",
            human_bytes(v.held_bytes)
        ));
    }
    if v.estimated_rips > 0 {
        line.push_str(&format!(
            "; {} of unknown size counted at 50 GB (Blu-ray) / 9 GB (DVD)",
            v.estimated_rips
        ));
    }
    if !v.fits() {
        line.push_str(" — NOT ENOUGH SPACE");
    }
    line
}

/// `ID  TYPE  on DRIVE  45%  12.3 GB  42.3 MB/s  ETA 1:02`.
fn running_task(t: &RunningTask) -> String {
    let progress = progress_message(t.eta_seconds, t.current_size_bytes, t.speed.as_deref());
    format!(
        "{}  {}  on {}  {}%  {progress}",
        t.task_id,
        t.task_type.as_str(),
        t.drive_id,
        t.percent,
    )
    .trim_end()
    .to_owned()
}

/// `amphigory queue`.
pub(crate) fn tasks(reply: &TasksReply) -> String {
    if reply.tasks.is_empty() {
        return "No tasks in the queue.".to_owned();
    }
    let rows: Vec<Vec<String>> = reply.tasks.iter().map(task_cells).collect();
    table(&["ID", "TYPE", "STATE", "OWNER", "PROGRESS"], &rows)
}

fn task_cells(t: &TaskRow) -> Vec<String> {
    let progress = match &t.run {
        Some(run) => {
            let eta = run
                .eta_seconds
                .map(|e| format!("  ETA {}", human_duration(e)));
            format!("{}%{}", run.percent, eta.unwrap_or_default())
        }
        None => String::new(),
    };
    let owner = if t.owned { "daemon" } else { "webapp" };
    vec![
        t.id.clone(),
        t.task_type.as_str().to_owned(),
        t.state.as_str().to_owned(),
        owner.to_owned(),
        progress,
    ]
}

/// `amphigory drives`.
pub(crate) fn drives(reply: &DrivesReply) -> String {
    if reply.drives.is_empty() {
        return "No drives.".to_owned();
    }
    let rows: Vec<Vec<String>> = reply
        .drives
        .iter()
        .map(|d| {
            vec![
                d.drive_id.clone(),
                d.device.clone(),
                d.label.clone().unwrap_or_else(|| "-".to_owned()),
                state_name(d).to_owned(),
                disc(d),
            ]
        })
        .collect();
    table(&["DRIVE", "DEVICE", "LABEL", "STATE", "DISC"], &rows)
}

/// `amphigory pause`.
pub(crate) fn paused(reply: &PauseReply) -> String {
    let head = if reply.changed {
        "Queue paused"
    } else {
        "Queue was already paused"
    };
    match (reply.now, reply.requeued.is_empty()) {
        (true, false) => format!(
            "{head}; stopped and put back at the head of the queue: {}",
            reply.requeued.join(", ")
        ),
        (true, true) => format!("{head}; nothing was running."),
        (false, _) => format!("{head}; a running task finishes first."),
    }
}

/// `amphigory resume`.
pub(crate) fn resumed(reply: &ResumeReply) -> String {
    if reply.changed {
        "Queue resumed.".to_owned()
    } else {
        "Queue was not paused.".to_owned()
    }
}

/// `amphigory cancel`.
pub(crate) fn cancelled(reply: &TaskIdReply) -> String {
    format!("Cancelled {}.", reply.task_id)
}

/// `amphigory label`.
pub(crate) fn labelled(reply: &LabelReply) -> String {
    let drive = &reply.drive_id;
    match &reply.label {
        Some(label) => format!("Drive {drive} is now labelled \"{label}\"."),
        None => format!("Drive {drive} has no label now."),
    }
}

/// `amphigory eject`.
pub(crate) fn ejected(reply: &EjectReply) -> String {
    format!("Ejected the disc in {} ({}).", reply.device, reply.drive_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn body(v: Value) -> StatusReply {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn tables_align_their_columns() {
        let t = table(
            &["A", "LONG"],
            &[
                vec!["x".into(), "1".into()],
                vec!["yyy".into(), "22".into()],
            ],
        );
        assert_eq!(t, "A    LONG\nx    1\nyyy  22");
    }

    #[test]
    fn status_reads_the_snapshot() {
        let text = status(&body(json!({
            "daemon_id": "u@h", "version": "0.1.0", "paused": true, "queue_depth": 2,
            "running": [{"task_id": "t-rip", "task_type": "rip", "drive_id": "u@h:sim0",
                         "percent": 45, "eta_seconds": 62, "speed": "40.0 MB/s"}],
            "drives": [{"drive_id": "u@h:sim0", "daemon_id": "u@h", "device": "/dev/sim0",
                        "label": "Left", "state": "ripping", "disc_volume": "DEMO"}],
            "problems": ["makemkvcon not found"]
        })));
        assert!(text.contains("2 tasks waiting, paused"), "{text}");
        assert!(
            text.contains("t-rip  rip  on u@h:sim0  45%  40.0 MB/s  ETA 1:02"),
            "{text}"
        );
        assert!(
            text.contains("u@h:sim0 \"Left\"  /dev/sim0  ripping  DEMO"),
            "{text}"
        );
        assert!(text.contains("Problem  makemkvcon not found"), "{text}");
        assert!(
            !text.contains("Awake"),
            "an older daemon says nothing: {text}"
        );
    }

    #[test]
    fn status_shows_whether_the_machine_is_kept_awake() {
        let line = |v: Value| status(&body(json!({ "keep_awake": v })));
        let held = line(json!({"enabled": true, "held": true, "backend": "logind"}));
        assert!(held.contains("Awake    held (logind)"), "{held}");
        let off = line(json!({"enabled": false, "held": false, "backend": "iokit"}));
        assert!(off.contains("Awake    off"), "{off}");
        let refused = line(json!({"enabled": true, "held": false, "backend": "logind",
                                  "problem": "no D-Bus system bus: x"}));
        assert!(
            refused.contains("Awake    not held: no D-Bus system bus: x"),
            "{refused}"
        );
    }
}
