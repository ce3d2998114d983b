//! The text of the menu's information lines and of the tooltip (pure).

use std::fmt::Write as _;

use amphigory_wire::drive::{DriveState, DriveStatus};
use amphigory_wire::task::TaskType;
use amphigory_wire::ws::NeededDisc;

use crate::core::StatusSnapshot;
use crate::core::status::RunningTask;

/// Cells of the text progress bar.
const BAR_CELLS: usize = 10;

/// `Disc: NAME` / `No disc inserted`; with several drives one line per drive naming it.
pub(super) fn disc_lines(drives: &[DriveStatus]) -> Vec<String> {
    match drives {
        [] => vec!["No drive found".to_owned()],
        [drive] => vec![match disc_name(drive) {
            Some(name) => format!("Disc: {name}"),
            None => "No disc inserted".to_owned(),
        }],
        several => several
            .iter()
            .map(|d| match disc_name(d) {
                Some(name) => format!("Disc in {}: {name}", drive_name(d)),
                None => format!("No disc in {}", drive_name(d)),
            })
            .collect(),
    }
}

/// The disc's volume name; `None` when the drive is empty.
fn disc_name(drive: &DriveStatus) -> Option<String> {
    if drive.state == DriveState::Empty {
        return None;
    }
    let volume = drive.disc_volume.as_deref().map(str::trim);
    Some(match volume {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ if drive.state == DriveState::Scanning => "(reading…)".to_owned(),
        _ => "(unnamed)".to_owned(),
    })
}

/// A drive's label, else its device without `/dev/`.
fn drive_name(drive: &DriveStatus) -> String {
    match drive.label.as_deref() {
        Some(label) if !label.trim().is_empty() => label.trim().to_owned(),
        _ => drive
            .device
            .strip_prefix("/dev/")
            .unwrap_or(&drive.device)
            .to_owned(),
    }
}

pub(super) fn drive_name_of(drives: &[DriveStatus], drive_id: &str) -> String {
    drives
        .iter()
        .find(|d| d.drive_id == drive_id)
        .map_or_else(|| drive_id.to_owned(), drive_name)
}

/// `Ripping on sr0: █████░░░░░ 50% · ETA 12 min`.
pub(super) fn task_line(task: &RunningTask, drive: Option<&str>) -> String {
    let verb = match &task.task_type {
        TaskType::Scan => "Scanning",
        TaskType::Rip => "Ripping",
        _ => "Working",
    };
    let mut line = verb.to_owned();
    if let Some(drive) = drive {
        let _ = write!(line, " on {drive}");
    }
    let percent = task.percent.min(100);
    let _ = write!(line, ": {} {percent}%", progress_bar(percent));
    if let Some(eta) = task.eta_seconds {
        let _ = write!(line, " · ETA {}", eta_text(eta));
    }
    line
}

/// Ten cells, filled in proportion (rounded down: 100% only when done).
pub fn progress_bar(percent: u8) -> String {
    let filled = usize::from(percent.min(100)) * BAR_CELLS / 100;
    let mut bar = "█".repeat(filled);
    bar.push_str(&"░".repeat(BAR_CELLS - filled));
    bar
}

/// `<1 min`, `12 min`, `1 h 05 min`.
pub fn eta_text(seconds: u64) -> String {
    let minutes = seconds.div_ceil(60);
    match minutes {
        0 => "<1 min".to_owned(),
        m if m < 60 => format!("{m} min"),
        m => format!("{} h {:02} min", m / 60, m % 60),
    }
}

/// `Queue: 3 tasks`, `Queue: 1 task · paused`.
pub(super) fn queue_line(depth: usize, paused: bool) -> String {
    let noun = if depth == 1 { "task" } else { "tasks" };
    let paused = if paused { " · paused" } else { "" };
    format!("Queue: {depth} {noun}{paused}")
}

/// The latest needed disc: `⏏ Insert MATRIX — 3 rips wait for it`, with `(+1 more
/// disc)` when others are needed too (all are in `amphigory status`).
pub(super) fn disc_needed_line(needed: &[NeededDisc]) -> Option<String> {
    let latest = needed.last()?;
    let mut line = format!("⏏ {}", latest.sentence());
    match needed.len() - 1 {
        0 => {}
        1 => line.push_str(" (+1 more disc)"),
        more => {
            let _ = write!(line, " (+{more} more discs)");
        }
    }
    Some(line)
}

/// `Amphigory — Ripping 45%`, `Amphigory — idle, 2 queued (paused)`.
pub(super) fn tooltip(status: &StatusSnapshot) -> String {
    let mut text = "Amphigory — ".to_owned();
    match status.running.first() {
        Some(task) if status.running.len() == 1 => {
            let verb = match task.task_type {
                TaskType::Scan => "Scanning",
                _ => "Ripping",
            };
            let _ = write!(text, "{verb} {}%", task.percent.min(100));
        }
        Some(_) => {
            let _ = write!(text, "{} tasks running", status.running.len());
        }
        None => text.push_str("idle"),
    }
    if status.queue_depth > 0 {
        let _ = write!(text, ", {} queued", status.queue_depth);
    }
    if status.paused {
        text.push_str(" (paused)");
    }
    text
}
