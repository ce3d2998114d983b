//! `amphigory watch [--task ID]`: subscribes on the control socket and, until interrupted
//! (or the daemon stops), either prints every event envelope as one JSON line (`--json`,
//! for scripts and status bars: the line is written the moment it arrives) or draws
//! indicatif bars — one per running task with percent, size, speed and ETA — under a
//! queue line and a disc line.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use amphigory_wire::control::{ControlRequest, Envelope, RunningTask, SubscribeReply};
use amphigory_wire::drive::{DriveState, DriveStatus};
use amphigory_wire::ws::{DaemonEventKind, DiscEventKind, Progress, ServerMessage, TaskStatusKind};
use indicatif::ProgressBar;

use super::client::{Client, ClientError};
use super::progress_view::{ProgressView, progress_message};

/// Options of `watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// Only this task's events (and daemon-wide ones).
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// With --json: first replay the daemon's recent events (up to 100).
    #[arg(long)]
    pub replay: bool,
    /// Print each event envelope as one line of JSON instead of drawing bars.
    #[arg(long)]
    pub json: bool,
}

/// Runs `watch` against the daemon at `path`.
pub(crate) async fn run(path: &Path, args: &WatchArgs) -> Result<(), ClientError> {
    let mut client = Client::connect(path).await?;
    let request = ControlRequest::Subscribe {
        task_id: args.task.clone(),
        replay: args.json && args.replay,
    };
    if args.json {
        // The `ok` line itself is not an event: only the envelopes after it are printed.
        client.request_line(&request).await?;
        return print_lines(&mut client).await;
    }
    let reply: SubscribeReply = client.request(&request).await?;
    let mut view = WatchView::new(&reply, args.task.clone());
    loop {
        let line = tokio::select! {
            line = client.next_line() => line?,
            _ = tokio::signal::ctrl_c() => break,
        };
        let Some(line) = line else {
            view.view.println("The daemon has stopped.");
            break;
        };
        if let Ok(envelope) = serde_json::from_str::<Envelope>(&line) {
            view.apply(envelope.data);
        }
    }
    Ok(())
}

/// Copies envelope lines to stdout, flushing each, until interrupted, the daemon stops,
/// or stdout is closed.
async fn print_lines(client: &mut Client) -> Result<(), ClientError> {
    let stdout = std::io::stdout();
    loop {
        let line = tokio::select! {
            line = client.next_line() => line?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Some(line) = line else {
            eprintln!("amphigory watch: the daemon has stopped");
            return Ok(());
        };
        let mut out = stdout.lock();
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            return Ok(());
        }
    }
}

/// The bars, the queue line and the disc line, kept in step with the events.
struct WatchView {
    view: ProgressView,
    filter: Option<String>,
    queue_line: Option<ProgressBar>,
    disc_line: Option<ProgressBar>,
    depth: u64,
    paused: bool,
    /// Device → what is in it.
    discs: BTreeMap<String, String>,
    shown: (String, String),
}

impl WatchView {
    /// Starts from the status snapshot the `subscribe` answer carries.
    fn new(reply: &SubscribeReply, filter: Option<String>) -> Self {
        let view = ProgressView::new();
        let disc_line = view.add_line();
        let queue_line = view.add_line();
        let mut this = Self {
            view,
            filter,
            queue_line,
            disc_line,
            depth: 0,
            paused: false,
            discs: BTreeMap::new(),
            shown: Default::default(),
        };
        let status = &reply.status;
        this.queue(status.queue_depth, status.paused);
        this.set_drives(&status.drives);
        for task in &status.running {
            this.apply_running(task);
        }
        this.render();
        this
    }

    fn wanted(&self, task_id: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| f == task_id)
    }

    fn bar(&mut self, task_id: &str) -> bool {
        if !self.wanted(task_id) {
            return false;
        }
        if !self.view.has(task_id) {
            self.view.add(task_id, task_id);
        }
        true
    }

    fn apply_running(&mut self, task: &RunningTask) {
        if self.bar(&task.task_id) {
            let message = progress_message(
                task.eta_seconds,
                task.current_size_bytes,
                task.speed.as_deref(),
            );
            self.view.set_progress(&task.task_id, task.percent, message);
        }
    }

    fn apply(&mut self, message: ServerMessage) {
        match message {
            ServerMessage::Progress(Progress {
                task_id,
                percent,
                eta_seconds,
                current_size_bytes,
                speed,
            }) => {
                if self.bar(&task_id) {
                    let text = progress_message(eta_seconds, current_size_bytes, speed.as_deref());
                    self.view.set_progress(&task_id, percent, text);
                }
            }
            ServerMessage::Status { task_id, status } => self.task_status(&task_id, status),
            ServerMessage::Disc {
                event,
                device,
                volume_name,
                ..
            } => {
                let what = match event {
                    DiscEventKind::Ejected => "no disc".to_owned(),
                    _ => volume_name.unwrap_or_else(|| "a disc".to_owned()),
                };
                self.discs.insert(device, what);
            }
            ServerMessage::Heartbeat {
                queue_depth,
                paused,
                ..
            } => self.queue(queue_depth, paused),
            ServerMessage::Daemon { event, reason } => self.daemon_event(event, reason),
            ServerMessage::Sync {
                current_task,
                paused,
                queue_depth,
                drives,
                ..
            } => {
                self.queue(queue_depth, paused);
                self.set_drives(&drives);
                if let Some(task) = current_task.filter(|t| self.bar(&t.id)) {
                    let text = progress_message(task.eta_seconds, None, None);
                    self.view.set_progress(&task.id, task.percent, text);
                }
            }
            ServerMessage::DiscNeeded(disc) if disc.waiting > 0 => {
                self.view
                    .println(&format!("Disc needed: {}", disc.sentence()));
            }
            ServerMessage::DiscNeeded(_) => {}
            ServerMessage::Lagged { missed } => {
                let note = format!("(missed {missed} events; resynchronising)");
                self.view.println(&note);
            }
        }
        self.render();
    }

    fn task_status(&mut self, task_id: &str, status: TaskStatusKind) {
        match status {
            TaskStatusKind::Started => {
                self.bar(task_id);
            }
            TaskStatusKind::Completed => self.view.finish(task_id, "done".into()),
            TaskStatusKind::Failed => self.view.finish(task_id, "failed".into()),
        }
    }

    fn queue(&mut self, depth: usize, paused: bool) {
        self.depth = u64::try_from(depth).unwrap_or(u64::MAX);
        self.paused = paused;
    }

    fn daemon_event(&mut self, event: DaemonEventKind, reason: Option<String>) {
        match event {
            DaemonEventKind::Paused => self.paused = true,
            DaemonEventKind::Resumed => self.paused = false,
            DaemonEventKind::Error => {
                let reason = reason.unwrap_or_default();
                self.view.println(&format!("Daemon error: {reason}"));
            }
            DaemonEventKind::Connected => {}
        }
    }

    fn set_drives(&mut self, drives: &[DriveStatus]) {
        self.discs = drives
            .iter()
            .map(|d| {
                let what = match (&d.state, &d.disc_volume) {
                    (DriveState::Empty, _) => "no disc".to_owned(),
                    (_, Some(volume)) => volume.clone(),
                    (_, None) => "a disc".to_owned(),
                };
                (d.device.clone(), what)
            })
            .collect();
    }

    fn render(&mut self) {
        let queue = format!(
            "Queue: {} task{} waiting, {}",
            self.depth,
            if self.depth == 1 { "" } else { "s" },
            if self.paused { "paused" } else { "running" }
        );
        let discs: Vec<String> = self
            .discs
            .iter()
            .map(|(device, what)| format!("{what} in {device}"))
            .collect();
        let disc = if discs.is_empty() {
            "Disc: no drives".to_owned()
        } else {
            format!("Disc: {}", discs.join(", "))
        };
        show(
            &self.view,
            self.queue_line.as_ref(),
            &mut self.shown.0,
            queue,
        );
        show(&self.view, self.disc_line.as_ref(), &mut self.shown.1, disc);
    }
}

/// Updates a line in place on a terminal; elsewhere prints it when it changed.
fn show(view: &ProgressView, line: Option<&ProgressBar>, shown: &mut String, text: String) {
    if *shown == text {
        return;
    }
    match line {
        Some(line) => line.set_message(text.clone()),
        None => view.println(&text),
    }
    *shown = text;
}
