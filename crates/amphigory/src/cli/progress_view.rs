//! Live progress bars for a terminal, fed by daemon events: used by `demo`, and by
//! `watch` (through [`ProgressView::set_progress`], [`ProgressView::finish`] and message
//! lines). On a terminal they are indicatif bars; elsewhere (CI logs, pipes) one plain
//! line per quarter so the output stays readable.

pub(crate) use crate::units::human_bytes;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::core::DaemonEvent;

/// Bars per task, created on demand.
pub(crate) struct ProgressView {
    multi: MultiProgress,
    bars: HashMap<String, TaskBar>,
    interactive: bool,
}

struct TaskBar {
    bar: ProgressBar,
    label: String,
    last_quarter: u8,
}

impl ProgressView {
    /// A view drawing to stderr (bars) or stdout (plain lines) depending on the terminal.
    pub(crate) fn new() -> Self {
        let interactive = std::io::stderr().is_terminal();
        let target = if interactive {
            ProgressDrawTarget::stderr_with_hz(8)
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
            bars: HashMap::new(),
            interactive,
        }
    }

    /// Starts a bar for `task_id` labelled `label`.
    pub(crate) fn add(&mut self, task_id: &str, label: &str) {
        let bar = self.multi.add(ProgressBar::new(100));
        bar.set_style(bar_style());
        bar.set_prefix(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(250));
        self.bars.insert(
            task_id.to_owned(),
            TaskBar {
                bar,
                label: label.to_owned(),
                last_quarter: 0,
            },
        );
    }

    /// Applies one daemon event.
    pub(crate) fn apply(&mut self, event: &DaemonEvent) {
        match event {
            DaemonEvent::TaskProgress {
                task_id,
                percent,
                eta_seconds,
                current_size_bytes,
                speed,
            } => self.set_progress(
                task_id,
                *percent,
                progress_message(*eta_seconds, *current_size_bytes, speed.as_deref()),
            ),
            DaemonEvent::TaskFinished { task_id, error, .. } => {
                let outcome = match error {
                    None => "done".to_owned(),
                    Some(e) => format!("failed: {} ({})", e.message, e.code),
                };
                self.finish(task_id, outcome);
            }
            _ => {}
        }
    }

    /// Is there a bar for `task_id`?
    pub(crate) fn has(&self, task_id: &str) -> bool {
        self.bars.contains_key(task_id)
    }

    /// Moves `task_id`'s bar (if it has one) to `percent` with `message` beside it.
    pub(crate) fn set_progress(&mut self, task_id: &str, percent: u8, message: String) {
        let Some(tb) = self.bars.get_mut(task_id) else {
            return;
        };
        tb.bar.set_position(u64::from(percent));
        tb.bar.set_message(message);
        let quarter = percent / 25;
        if !self.interactive && quarter > tb.last_quarter && percent < 100 {
            tb.last_quarter = quarter;
            println!("  {:<28} {:>3}%  {}", tb.label, percent, tb.bar.message());
        }
    }

    /// Ends `task_id`'s bar (if it has one) with `outcome`.
    pub(crate) fn finish(&mut self, task_id: &str, outcome: String) {
        let Some(tb) = self.bars.remove(task_id) else {
            return;
        };
        if self.interactive {
            tb.bar.finish_with_message(outcome);
        } else {
            println!("  {:<28} {}", tb.label, outcome);
        }
    }

    /// A line of text above the task bars (queue, disc…), redrawn in place on a
    /// terminal; `None` elsewhere (print changes with [`ProgressView::println`]).
    pub(crate) fn add_line(&self) -> Option<ProgressBar> {
        if !self.interactive {
            return None;
        }
        let line = self.multi.insert(0, ProgressBar::new_spinner());
        let style = ProgressStyle::with_template("{msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        line.set_style(style);
        Some(line)
    }

    /// Prints a line above the bars without tearing them.
    pub(crate) fn println(&self, line: &str) {
        if self.interactive {
            let _ = self.multi.println(line);
        } else {
            println!("{line}");
        }
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:<28} [{bar:30.cyan/blue}] {pos:>3}%  {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// `"12.3 GB  2.1 GB/s  ETA 0:07"`, with the parts that are known.
pub(crate) fn progress_message(
    eta: Option<u64>,
    bytes: Option<u64>,
    speed: Option<&str>,
) -> String {
    let mut parts = Vec::new();
    if let Some(b) = bytes {
        parts.push(human_bytes(b));
    }
    if let Some(s) = speed {
        parts.push(s.to_owned());
    }
    if let Some(e) = eta {
        parts.push(format!("ETA {}", human_duration(e)));
    }
    parts.join("  ")
}

/// `H:MM:SS` or `M:SS`.
pub(crate) fn human_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds / 60) % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_sizes_and_durations() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(25_000_000_000), "25.0 GB");
        assert_eq!(human_duration(6300), "1:45:00");
        assert_eq!(human_duration(75), "1:15");
        assert_eq!(
            progress_message(Some(75), None, Some("2.0 GB/s")),
            "2.0 GB/s  ETA 1:15"
        );
    }
}
