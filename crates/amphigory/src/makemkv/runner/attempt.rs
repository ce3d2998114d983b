//! One makemkvcon child from spawn to reap: the watchdog loop, the live reading of
//! `MSG` lines (through [`messages::meaning`]), and the failures every operation shares.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use amphigory_wire::ErrorCode;
use tokio_util::sync::CancellationToken;

use super::{ChildEvent, RunError, Runner, Source};
use crate::makemkv::messages::{self, Meaning, RunPhase};
use crate::makemkv::process::SupervisedChild;
use crate::makemkv::robot::{RobotLine, parse_line};

/// `MSG` lines kept for an error's detail.
const RECENT_MESSAGES: usize = 10;
/// Shortest tick (`tokio::time::interval` refuses zero).
const POLL_INTERVAL_FLOOR: Duration = Duration::from_millis(10);
/// `DRV` states meaning "no disc": empty, tray open.
const NO_DISC_STATES: [u32; 2] = [0, 1];

/// What the attempt tells its operation as it goes.
pub(super) enum AttemptEvent<'a> {
    /// The child started.
    Spawned(Instant),
    /// A robot-mode record arrived.
    Line(&'a RobotLine<'a>, Instant),
    /// Periodic tick ([`super::RunnerConfig::poll_interval`]).
    Tick(Instant),
}

/// Why the runner killed the child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KillReason {
    Cancelled,
    Stalled(Duration),
    OverLimit(Duration),
    MediumRemoved,
    MediumError,
    Question {
        code: ErrorCode,
        message: &'static str,
    },
}

/// How the child stopped.
#[derive(Debug)]
pub(super) enum Stop {
    Exited,
    Killed(KillReason),
}

/// What MakeMKV said that matters for the outcome.
#[derive(Debug, Default)]
pub(super) struct Monitor {
    recent: VecDeque<String>,
    phase: RunPhase,
    pub(super) open_failed: bool,
    pub(super) fatal: Option<(ErrorCode, &'static str)>,
    pub(super) copy_complete: Option<u32>,
    pub(super) copy_partial: bool,
    pub(super) save_failed: bool,
    source_state: Option<u32>,
}

impl Monitor {
    /// Folds one record in; `Some` when the child must be killed at once.
    fn observe(&mut self, line: &RobotLine<'_>, source: &Source) -> Option<KillReason> {
        self.phase.observe(line);
        match line {
            RobotLine::Message(m) => {
                if self.recent.len() == RECENT_MESSAGES {
                    self.recent.pop_front();
                }
                self.recent.push_back(format!("[{}] {}", m.code, m.text));
                self.meaning(messages::meaning(m))
            }
            RobotLine::Drive(d) if source.matches(d.index, &d.device) => {
                self.source_state = Some(d.state);
                None
            }
            _ => None,
        }
    }

    fn meaning(&mut self, meaning: Meaning) -> Option<KillReason> {
        let read_errors_count = self.phase.read_errors_count();
        match meaning {
            // Read errors during the drive scan may concern another drive. A medium error
            // comes after MakeMKV's own retries: going on would only wear the disc and
            // the drive for a result that has failed already (SPEC §6.6).
            Meaning::MediumRemoved if read_errors_count => return Some(KillReason::MediumRemoved),
            Meaning::MediumError if read_errors_count => return Some(KillReason::MediumError),
            Meaning::UnanswerableQuestion { code, message } => {
                return Some(KillReason::Question { code, message });
            }
            Meaning::Fatal { code, message } => {
                self.fatal.get_or_insert((code, message));
            }
            Meaning::OpenFailed => self.open_failed = true,
            Meaning::CopyComplete { saved } => self.copy_complete = Some(saved),
            Meaning::CopyPartial { .. } => self.copy_partial = true,
            Meaning::SaveFailed => self.save_failed = true,
            Meaning::MediumRemoved
            | Meaning::MediumError
            | Meaning::OperationComplete
            | Meaning::Info => {}
        }
        None
    }
}

/// A finished attempt.
#[derive(Debug)]
pub(super) struct AttemptEnd {
    pub(super) stop: Stop,
    pub(super) status: Option<ExitStatus>,
    pub(super) stderr_tail: String,
    pub(super) monitor: Monitor,
    limits: (Duration, Option<Duration>),
}

impl AttemptEnd {
    /// Exit status 0 after a natural end.
    pub(super) fn exited_ok(&self) -> bool {
        matches!(self.stop, Stop::Exited) && self.status.is_some_and(|s| s.success())
    }

    /// Failures that do not depend on the operation: a kill, or a fatal message.
    pub(super) fn common_failure(&self, op: &str) -> Option<RunError> {
        let detail = Some(self.detail());
        let (code, message) = match &self.stop {
            Stop::Killed(KillReason::Cancelled) => return Some(RunError::Cancelled),
            Stop::Killed(KillReason::Stalled(d)) => (
                ErrorCode::MakemkvTimeout,
                format!(
                    "MakeMKV showed no progress for {} s during the {op}",
                    d.as_secs()
                ),
            ),
            Stop::Killed(KillReason::OverLimit(d)) => (
                ErrorCode::MakemkvTimeout,
                format!("The {op} took longer than {} s", d.as_secs()),
            ),
            Stop::Killed(KillReason::MediumRemoved) => (
                ErrorCode::DiscEjected,
                format!("Disc was ejected during {op}"),
            ),
            Stop::Killed(KillReason::MediumError) => (
                ErrorCode::DiscUnreadable,
                format!("{} during the {op}", messages::MEDIUM_ERROR_MESSAGE),
            ),
            Stop::Killed(KillReason::Question { code, message }) => (*code, (*message).to_owned()),
            Stop::Exited => {
                let (code, message) = self.monitor.fatal?;
                (code, message.to_owned())
            }
        };
        Some(RunError::failed(code, message, detail))
    }

    /// `NO_DISC` when MakeMKV listed the source drive as empty or open.
    pub(super) fn no_disc_failure(&self) -> Option<RunError> {
        let state = self.monitor.source_state?;
        NO_DISC_STATES.contains(&state).then(|| {
            RunError::failed(
                ErrorCode::NoDisc,
                "No disc in the drive",
                Some(self.detail()),
            )
        })
    }

    /// `MAKEMKV_FAILED` for a non-zero exit status.
    pub(super) fn exit_failure(&self) -> RunError {
        RunError::failed(
            ErrorCode::MakemkvFailed,
            format!("MakeMKV failed ({})", describe_status(self.status)),
            Some(self.detail()),
        )
    }

    /// Exit status, last MakeMKV messages and stderr tail, for `detail`.
    pub(super) fn detail(&self) -> String {
        let mut out = describe_status(self.status);
        match &self.stop {
            Stop::Killed(KillReason::Stalled(_)) => {
                out.push_str(&format!(
                    "; killed after {:?} without output",
                    self.limits.0
                ));
            }
            Stop::Killed(reason) => out.push_str(&format!("; killed by the runner ({reason:?})")),
            Stop::Exited => {}
        }
        if let Some(limit) = self.limits.1 {
            out.push_str(&format!("; hard limit {limit:?}"));
        }
        if !self.monitor.recent.is_empty() {
            out.push_str("\nlast MakeMKV messages:");
            for m in &self.monitor.recent {
                out.push_str("\n  ");
                out.push_str(m);
            }
        }
        if !self.stderr_tail.is_empty() {
            out.push_str("\nstderr:");
            for line in self.stderr_tail.lines() {
                out.push_str("\n  ");
                out.push_str(line);
            }
        }
        out
    }
}

/// `exit status 11` / `killed by signal 9` / `exit status unknown`.
fn describe_status(status: Option<ExitStatus>) -> String {
    match status {
        Some(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => format!("{s}"),
        },
        None => "exit status unknown".to_owned(),
    }
}

/// One step of the watch loop.
enum Step {
    Line(Option<String>),
    Exited(std::io::Result<ExitStatus>),
    Tick,
    Kill(KillReason),
}

/// Runs makemkvcon once with `args` (after the leading ones), under the watchdog.
/// Errs only when the child cannot be started.
pub(super) async fn run(
    runner: &Runner,
    args: Vec<OsString>,
    source: &Source,
    cancel: &CancellationToken,
    limit: Option<Duration>,
    on_event: &mut (dyn FnMut(AttemptEvent<'_>) + Send),
) -> Result<AttemptEnd, RunError> {
    let command = &runner.command;
    tracing::debug!(program = %command.program.display(), ?args, "starting makemkvcon");
    let mut child =
        SupervisedChild::spawn(&command.program, &args, &command.env).map_err(|source| {
            RunError::Spawn {
                program: command.program.clone(),
                source,
            }
        })?;
    let pid = child.pid();
    runner.notify(ChildEvent::Spawned { pid });
    on_event(AttemptEvent::Spawned(Instant::now()));
    let watch = Watch {
        stall: runner.config.stall_timeout,
        poll: runner.config.poll_interval,
        limit,
        source,
        cancel,
    };
    let (stop, mut status, monitor) = watch.run(&mut child, on_event).await;
    if let Stop::Killed(reason) = &stop {
        tracing::info!(pid, ?reason, "stopping makemkvcon");
        match child.kill(runner.config.kill_grace).await {
            Ok(s) => status = Some(s),
            Err(e) => tracing::warn!(pid, "cannot reap makemkvcon: {e}"),
        }
    }
    runner.notify(ChildEvent::Reaped { pid });
    let stderr_tail = child.stderr_tail().await;
    Ok(AttemptEnd {
        stop,
        status,
        stderr_tail,
        monitor,
        limits: (watch.stall, limit),
    })
}

/// The watchdog over one child: its limits and what stops it.
struct Watch<'a> {
    stall: Duration,
    poll: Duration,
    limit: Option<Duration>,
    source: &'a Source,
    cancel: &'a CancellationToken,
}

impl Watch<'_> {
    /// Reads the child until it exits or must be killed (the caller kills it).
    async fn run(
        &self,
        child: &mut SupervisedChild,
        on_event: &mut (dyn FnMut(AttemptEvent<'_>) + Send),
    ) -> (Stop, Option<ExitStatus>, Monitor) {
        let mut monitor = Monitor::default();
        let hard_deadline = self.limit.map(|l| tokio::time::Instant::now() + l);
        let mut stall_deadline = tokio::time::Instant::now() + self.stall;
        let mut tick = tokio::time::interval(self.poll.max(POLL_INTERVAL_FLOOR));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut eof = false;
        loop {
            let step = tokio::select! {
                biased;
                () = self.cancel.cancelled() => Step::Kill(KillReason::Cancelled),
                () = tokio::time::sleep_until(stall_deadline) => Step::Kill(KillReason::Stalled(self.stall)),
                () = until(hard_deadline) => Step::Kill(KillReason::OverLimit(self.limit.unwrap_or_default())),
                step = next_step(child, eof) => step,
                _ = tick.tick() => Step::Tick,
            };
            match step {
                Step::Line(Some(text)) => {
                    stall_deadline = tokio::time::Instant::now() + self.stall;
                    let Some(line) = parse_line(&text) else {
                        continue;
                    };
                    on_event(AttemptEvent::Line(&line, Instant::now()));
                    if let Some(reason) = monitor.observe(&line, self.source) {
                        return (Stop::Killed(reason), None, monitor);
                    }
                }
                Step::Line(None) => eof = true,
                Step::Exited(Ok(status)) => return (Stop::Exited, Some(status), monitor),
                Step::Exited(Err(e)) => {
                    tracing::warn!("cannot wait for makemkvcon: {e}");
                    return (Stop::Exited, None, monitor);
                }
                Step::Tick => on_event(AttemptEvent::Tick(Instant::now())),
                Step::Kill(reason) => return (Stop::Killed(reason), None, monitor),
            }
        }
    }
}

/// The next line, or once stdout is closed, the exit. Both halves are cancel-safe.
async fn next_step(child: &mut SupervisedChild, eof: bool) -> Step {
    if eof {
        Step::Exited(child.wait().await)
    } else {
        Step::Line(child.next_line().await)
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
