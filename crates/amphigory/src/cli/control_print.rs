//! Human renderings of the control socket's answers: short sentences for actions, plain
//! aligned tables for lists. Fields are read leniently from the JSON (a newer daemon may
//! add some), missing ones shown as `-`.

use amphigory_wire::control::KeepAwakeStatus;
use amphigory_wire::drive::DriveStatus;
use serde_json::{Map, Value};

use super::progress_view::{human_bytes, human_duration, progress_message};
use crate::queue::VolumeSpace;

type Body = Map<String, Value>;

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn field(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".to_owned(),
        Some(other) => other.to_string(),
    }
}

fn drives_of(body: &Body) -> Vec<DriveStatus> {
    body.get("drives")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

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

fn state_name(drive: &DriveStatus) -> String {
    serde_json::to_value(drive.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `amphigory status`.
pub(crate) fn status(body: &Body) -> String {
    let paused = body.get("paused").and_then(Value::as_bool).unwrap_or(false);
    let depth = body.get("queue_depth").and_then(Value::as_u64).unwrap_or(0);
    let mut out = vec![
        format!(
            "Daemon   {} (amphigory {})",
            body.get("daemon_id").and_then(Value::as_str).unwrap_or("-"),
            body.get("version").and_then(Value::as_str).unwrap_or("-"),
        ),
        format!(
            "Queue    {depth} task{} waiting, {}",
            if depth == 1 { "" } else { "s" },
            if paused { "paused" } else { "running" }
        ),
    ];
    let running = body.get("running").and_then(Value::as_array);
    match running.filter(|r| !r.is_empty()) {
        None => out.push("Task     none running".to_owned()),
        Some(tasks) => out.extend(
            tasks
                .iter()
                .map(|t| format!("Task     {}", running_task(t))),
        ),
    }
    let drives = drives_of(body);
    if drives.is_empty() {
        out.push("Drives   none".to_owned());
    }
    for d in &drives {
        let label = d
            .label
            .as_deref()
            .map(|l| format!(" \"{l}\""))
            .unwrap_or_default();
        out.push(format!(
            "Drive    {}{label}  {}  {}  {}",
            d.drive_id,
            d.device,
            state_name(d),
            disc(d)
        ));
    }
    let space: Vec<VolumeSpace> = body
        .get("space")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    out.extend(
        space
            .iter()
            .map(|v| format!("Space    {}", describe_volume(v))),
    );
    out.extend(keep_awake(body));
    let problems = body.get("problems").and_then(Value::as_array);
    for p in problems.into_iter().flatten() {
        out.push(format!("Problem  {}", p.as_str().unwrap_or_default()));
    }
    out.join("\n")
}

/// `Awake    held (logind)`: the keep-awake line (SPEC §11.1); none from an older daemon.
fn keep_awake(body: &Body) -> Option<String> {
    let state: KeepAwakeStatus = serde_json::from_value(body.get("keep_awake")?.clone()).ok()?;
    let line = match (state.enabled, state.held, &state.problem) {
        (false, _, _) => "off (keep_awake: false)".to_owned(),
        (true, true, _) => format!("held ({}): the machine will not sleep", state.backend),
        (true, false, Some(problem)) => format!("not held: {problem}"),
        (true, false, None) => format!("not held ({}): no task runs", state.backend),
    };
    Some(format!("Awake    {line}"))
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
fn running_task(t: &Value) -> String {
    let percent = t.get("percent").and_then(Value::as_u64).unwrap_or(0);
    let progress = progress_message(
        t.get("eta_seconds").and_then(Value::as_u64),
        t.get("current_size_bytes").and_then(Value::as_u64),
        text(t, "speed"),
    );
    format!(
        "{}  {}  on {}  {percent}%  {progress}",
        field(t, "task_id"),
        field(t, "task_type"),
        field(t, "drive_id"),
    )
    .trim_end()
    .to_owned()
}

/// `amphigory queue`.
pub(crate) fn tasks(body: &Body) -> String {
    let tasks = body.get("tasks").and_then(Value::as_array);
    let Some(tasks) = tasks.filter(|t| !t.is_empty()) else {
        return "No tasks in the queue.".to_owned();
    };
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|t| {
            let progress = match t.get("percent").and_then(Value::as_u64) {
                Some(p) => {
                    let eta = t.get("eta_seconds").and_then(Value::as_u64);
                    let eta = eta.map(|e| format!("  ETA {}", human_duration(e)));
                    format!("{p}%{}", eta.unwrap_or_default())
                }
                None => String::new(),
            };
            let owner = if t.get("owned").and_then(Value::as_bool) == Some(false) {
                "webapp"
            } else {
                "daemon"
            };
            vec![
                field(t, "id"),
                field(t, "type"),
                field(t, "state"),
                owner.to_owned(),
                progress,
            ]
        })
        .collect();
    table(&["ID", "TYPE", "STATE", "OWNER", "PROGRESS"], &rows)
}

/// `amphigory drives`.
pub(crate) fn drives(body: &Body) -> String {
    let drives = drives_of(body);
    if drives.is_empty() {
        return "No drives.".to_owned();
    }
    let rows: Vec<Vec<String>> = drives
        .iter()
        .map(|d| {
            vec![
                d.drive_id.clone(),
                d.device.clone(),
                d.label.clone().unwrap_or_else(|| "-".to_owned()),
                state_name(d),
                disc(d),
            ]
        })
        .collect();
    table(&["DRIVE", "DEVICE", "LABEL", "STATE", "DISC"], &rows)
}

/// `amphigory pause`.
pub(crate) fn paused(body: &Body) -> String {
    let changed = body.get("changed").and_then(Value::as_bool).unwrap_or(true);
    let requeued: Vec<&str> = body
        .get("requeued")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let now = body.get("now").and_then(Value::as_bool).unwrap_or(false);
    let head = if changed {
        "Queue paused"
    } else {
        "Queue was already paused"
    };
    match (now, requeued.is_empty()) {
        (true, false) => format!(
            "{head}; stopped and put back at the head of the queue: {}",
            requeued.join(", ")
        ),
        (true, true) => format!("{head}; nothing was running."),
        (false, _) => format!("{head}; a running task finishes first."),
    }
}

/// `amphigory resume`.
pub(crate) fn resumed(body: &Body) -> String {
    match body.get("changed").and_then(Value::as_bool) {
        Some(false) => "Queue was not paused.".to_owned(),
        _ => "Queue resumed.".to_owned(),
    }
}

/// `amphigory cancel`.
pub(crate) fn cancelled(body: &Body) -> String {
    format!(
        "Cancelled {}.",
        body.get("task_id")
            .and_then(Value::as_str)
            .unwrap_or("the task")
    )
}

/// `amphigory label`.
pub(crate) fn labelled(body: &Body) -> String {
    let drive = body.get("drive_id").and_then(Value::as_str).unwrap_or("-");
    match body.get("label").and_then(Value::as_str) {
        Some(label) => format!("Drive {drive} is now labelled \"{label}\"."),
        None => format!("Drive {drive} has no label now."),
    }
}

/// `amphigory eject`.
pub(crate) fn ejected(body: &Body) -> String {
    format!(
        "Ejected the disc in {} ({}).",
        body.get("device").and_then(Value::as_str).unwrap_or("-"),
        body.get("drive_id").and_then(Value::as_str).unwrap_or("-"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Body {
        v.as_object().cloned().unwrap()
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
