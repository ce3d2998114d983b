//! The tray's menu model (pure): the items, their actions, and the text of the
//! information lines and of the tooltip.

use std::fmt::Write as _;

use amphigory_wire::drive::{DriveState, DriveStatus};
use amphigory_wire::task::TaskType;
use amphigory_wire::ws::NeededDisc;

use super::{IconName, TrayConfig, icon_for};
use crate::core::status::{RunningTask, disc_needed_problem};
use crate::core::{Problem, StatusSnapshot};

/// At most this many problem lines in the menu (the rest are in `amphigory status`).
const MAX_PROBLEM_LINES: usize = 3;

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

/// What a menu item does when clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrayAction {
    /// Pause after the current task.
    PauseAfterTrack,
    /// Resume the queue.
    Resume,
    /// Stop the running task now and put it back at the head of the queue.
    PauseNow,
    /// Open the webapp in the browser.
    OpenWebapp,
    /// Open `wiki_url`.
    Help,
    /// Open `{webapp_url}/config`.
    Preferences,
    /// Shut down gracefully, then start the same binary with the same arguments.
    Restart,
    /// Shut down gracefully.
    Quit,
}

impl TrayAction {
    /// Every action.
    pub const ALL: [Self; 8] = [
        Self::PauseAfterTrack,
        Self::Resume,
        Self::PauseNow,
        Self::OpenWebapp,
        Self::Help,
        Self::Preferences,
        Self::Restart,
        Self::Quit,
    ];

    /// A stable id (menu item ids on macOS).
    pub fn id(self) -> &'static str {
        match self {
            Self::PauseAfterTrack => "pause-after-track",
            Self::Resume => "resume",
            Self::PauseNow => "pause-now",
            Self::OpenWebapp => "open-webapp",
            Self::Help => "help",
            Self::Preferences => "preferences",
            Self::Restart => "restart",
            Self::Quit => "quit",
        }
    }

    /// The action with this [`id`](Self::id).
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.id() == id)
    }

    /// The menu title (SPEC §10).
    pub fn title(self) -> &'static str {
        match self {
            Self::PauseAfterTrack => "Pause After Track",
            Self::Resume => "Resume",
            Self::PauseNow => "Pause Now",
            Self::OpenWebapp => "Open Webapp…",
            Self::Help => "Help & Documentation…",
            Self::Preferences => "Preferences…",
            Self::Restart => "Restart Daemon",
            Self::Quit => "Quit",
        }
    }
}

/// One line of the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuItem {
    /// A line of information (always disabled).
    Info(String),
    /// A clickable item.
    Action {
        /// What it does.
        action: TrayAction,
        /// Can it be clicked now?
        enabled: bool,
    },
    /// A separator.
    Separator,
}

impl MenuItem {
    /// Its title (empty for a separator).
    pub fn title(&self) -> &str {
        match self {
            Self::Info(text) => text,
            Self::Action { action, .. } => action.title(),
            Self::Separator => "",
        }
    }

    /// Can it be clicked?
    pub fn enabled(&self) -> bool {
        matches!(self, Self::Action { enabled: true, .. })
    }

    /// The action, for a clickable item.
    pub fn action(&self) -> Option<TrayAction> {
        match self {
            Self::Action { action, .. } => Some(*action),
            _ => None,
        }
    }
}

/// Everything the tray shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayMenu {
    /// The icon.
    pub icon: IconName,
    /// A one-line summary (hover text).
    pub tooltip: String,
    /// The menu, top to bottom.
    pub items: Vec<MenuItem>,
}

impl TrayMenu {
    /// The menu for this state (SPEC §10).
    pub fn new(status: &StatusSnapshot, config: &TrayConfig) -> Self {
        let several = status.drives.len() > 1;
        let mut items: Vec<MenuItem> = Vec::new();
        items.extend(disc_lines(&status.drives).into_iter().map(MenuItem::Info));
        if status.running.is_empty() {
            let idle = if status.paused { "Paused" } else { "Idle" };
            items.push(MenuItem::Info(idle.to_owned()));
        }
        for task in &status.running {
            let drive = several.then(|| drive_name_of(&status.drives, &task.drive_id));
            items.push(MenuItem::Info(task_line(task, drive.as_deref())));
        }
        items.push(MenuItem::Info(queue_line(
            status.queue_depth,
            status.paused,
        )));
        if let Some(line) = disc_needed_line(&status.discs_needed) {
            items.push(MenuItem::Info(line));
        }
        // A needed disc has its own line above; its problem line would only repeat it.
        let needed: Vec<Problem> = status
            .discs_needed
            .iter()
            .map(disc_needed_problem)
            .collect();
        let problems = status.problems.iter().filter(|p| !needed.contains(p));
        let problems = problems.take(MAX_PROBLEM_LINES);
        items.extend(problems.map(|p| MenuItem::Info(format!("⚠ {p}"))));
        let action = |action, enabled| MenuItem::Action { action, enabled };
        let has_webapp = config.webapp_url.is_some();
        let pause = match status.paused {
            true => TrayAction::Resume,
            false => TrayAction::PauseAfterTrack,
        };
        items.extend([
            MenuItem::Separator,
            action(TrayAction::OpenWebapp, has_webapp),
            action(TrayAction::Help, config.wiki_url.is_some()),
            MenuItem::Separator,
            action(pause, true),
            action(TrayAction::PauseNow, !status.running.is_empty()),
            MenuItem::Separator,
            action(TrayAction::Restart, true),
            action(TrayAction::Preferences, has_webapp),
            action(TrayAction::Quit, true),
        ]);
        Self {
            icon: icon_for(status, config),
            tooltip: tooltip(status),
            items,
        }
    }

    /// The item titled `title`, if any.
    pub fn item(&self, title: &str) -> Option<&MenuItem> {
        self.items.iter().find(|i| i.title() == title)
    }
}
