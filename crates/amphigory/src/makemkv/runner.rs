//! The supervised `makemkvcon` runner (SPEC §6): builds the command lines of §6.1, runs
//! the child under a watchdog, folds its output into progress and a result, and maps
//! every way it can end to an error code (§6.5, §6.6).
//!
//! - [`Runner::scan`]: `makemkvcon -r --cache=1024 --progress=-same info <source>` →
//!   [`ScanResult`] (through the pure scan assembler).
//! - [`Runner::rip`]: `… mkv <source> <title> <tmpdir>` into a fresh hidden directory
//!   inside the output directory, then the file MakeMKV wrote is moved to the requested
//!   name (see [`rip`] for the rules) and the directory removed, on every path.
//! - Watchdog: no output line for [`RunnerConfig::stall_timeout`], or a run over its
//!   hard limit → the process group is killed → `MAKEMKV_TIMEOUT`.
//! - MSG 5010 (failed to open disc, often a drive still spinning up) → one retry after
//!   [`RunnerConfig::open_retry_backoff`], then `DISC_UNREADABLE` — even with exit 0.
//! - Cancellation token fired → kill, clean up, [`RunError::Cancelled`].
//!
//! The runner holds no per-run state, so one `Runner` (in an `Arc`) serves every drive;
//! one makemkvcon per drive at a time is the engine's rule.

mod attempt;
mod error;
mod rip;
mod space;

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use amphigory_wire::ErrorCode;
use amphigory_wire::scan::ScanResult;
use tokio_util::sync::CancellationToken;

use super::progress::{ProgressKind, ProgressTracker, ProgressUpdate};
use super::scan::{ScanAssembler, ScanFailureKind};
use attempt::AttemptEvent;

pub use error::RunError;
pub use rip::{RipOutput, RipRequest, TEMP_DIR_PREFIX};
pub use space::{SpaceGuard, SpaceLedger};

/// How often MakeMKV is asked to open a disc before `DISC_UNREADABLE` (one retry).
const OPEN_ATTEMPTS: u32 = 2;

/// How to start makemkvcon: the real one is just a path; the simulated one is this
/// binary with `__sim-makemkvcon` first and its sim directory in the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakemkvconCommand {
    /// Executable.
    pub program: PathBuf,
    /// Arguments placed before makemkvcon's own.
    pub leading_args: Vec<OsString>,
    /// Environment variables added to the daemon's.
    pub env: Vec<(OsString, OsString)>,
}

impl MakemkvconCommand {
    /// The real makemkvcon at `program`.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            leading_args: Vec::new(),
            env: Vec::new(),
        }
    }
}

/// Limits and knobs of the runner.
#[derive(Debug, Clone, PartialEq)]
pub struct RunnerConfig {
    /// No output line for this long → kill, `MAKEMKV_TIMEOUT` (SPEC: 120 s).
    pub stall_timeout: Duration,
    /// Hard limit of one scan attempt (SPEC: 10 min).
    pub scan_limit: Duration,
    /// Hard limit of one rip attempt, if any.
    pub rip_limit: Option<Duration>,
    /// Between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
    /// Wait before the one retry after MSG 5010.
    pub open_retry_backoff: Duration,
    /// `--minlength=N` for both scan and rip (they must agree, or title indexes differ).
    pub min_length_seconds: Option<u32>,
    /// Free space required beyond a rip's expected size (SPEC §11.2: 2 GB); `None`
    /// skips the check (the simulator writes sparse files, so a demo must not need 25 GB
    /// free).
    pub free_space_margin: Option<u64>,
    /// How often the growing output file's size is read (and throttled progress sent).
    pub poll_interval: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            stall_timeout: Duration::from_secs(120),
            scan_limit: Duration::from_secs(600),
            rip_limit: None,
            kill_grace: Duration::from_secs(10),
            open_retry_backoff: Duration::from_secs(10),
            min_length_seconds: None,
            free_space_margin: Some(2_000_000_000),
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// Which disc makemkvcon reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// `dev:<device>`, e.g. `dev:/dev/sr0` (preferred: stable across drive re-ordering).
    Device(String),
    /// `disc:<index>`, the slot of a `DRV` line.
    DiscIndex(u32),
}

impl Source {
    /// Whether a `DRV` line describes this source's drive.
    fn matches(&self, index: u32, device: &str) -> bool {
        match self {
            Self::Device(d) => d == device,
            Self::DiscIndex(i) => *i == index,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Device(device) => write!(f, "dev:{device}"),
            Self::DiscIndex(index) => write!(f, "disc:{index}"),
        }
    }
}

/// A child's life, for the engine to record (a restarted daemon kills orphans by pid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEvent {
    /// makemkvcon started; `pid` is also its process group.
    Spawned {
        /// Its pid.
        pid: u32,
    },
    /// makemkvcon exited and was reaped.
    Reaped {
        /// Its pid.
        pid: u32,
    },
}

type ChildHook = Arc<dyn Fn(ChildEvent) + Send + Sync>;

/// Runs makemkvcon scans and rips. Cheap to share in an `Arc`.
#[derive(Clone)]
pub struct Runner {
    command: MakemkvconCommand,
    config: RunnerConfig,
    child_hook: Option<ChildHook>,
    /// Free space held by running rips, shared by every copy of this runner.
    space: Arc<SpaceLedger>,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("command", &self.command)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner starting `command` with `config`.
    pub fn new(command: MakemkvconCommand, config: RunnerConfig) -> Self {
        Self {
            command,
            config,
            child_hook: None,
            space: Arc::default(),
        }
    }

    /// Calls `hook` when a child starts and when it is reaped.
    pub fn with_child_hook(mut self, hook: impl Fn(ChildEvent) + Send + Sync + 'static) -> Self {
        self.child_hook = Some(Arc::new(hook));
        self
    }

    /// A copy of this runner (same command, configuration and free-space ledger) that
    /// calls `hook` for its children: one per task, so the hook knows whose child it is.
    pub fn for_task(&self, hook: impl Fn(ChildEvent) + Send + Sync + 'static) -> Self {
        self.clone().with_child_hook(hook)
    }

    /// The free-space ledger its rips reserve space in.
    pub fn space(&self) -> &Arc<SpaceLedger> {
        &self.space
    }

    /// The command it starts.
    pub fn command(&self) -> &MakemkvconCommand {
        &self.command
    }

    /// Its configuration.
    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    /// Scans the disc in `source`. Progress goes to `on_progress` (0 % first, 100 % on
    /// success, at most every 250 ms between).
    pub async fn scan(
        &self,
        source: &Source,
        cancel: &CancellationToken,
        on_progress: impl FnMut(ProgressUpdate) + Send,
    ) -> Result<ScanResult, RunError> {
        let mut reporter =
            Reporter::new(ProgressTracker::new(ProgressKind::Scan, None), on_progress);
        let mut failures = Vec::new();
        for attempt in 1..=OPEN_ATTEMPTS {
            if attempt > 1 {
                self.backoff(cancel).await?;
            }
            let mut assembler = ScanAssembler::new();
            let args = self.args(&["info".into(), source.to_string().into()]);
            let end = attempt::run(
                self,
                args,
                source,
                cancel,
                Some(self.config.scan_limit),
                &mut |event| {
                    if let AttemptEvent::Line(line, _) = &event {
                        assembler.push(line);
                    }
                    reporter.handle(&event);
                },
            )
            .await?;
            if let Some(error) = end.common_failure("scan") {
                return Err(error);
            }
            match assembler.finish() {
                Ok(result) if end.exited_ok() => {
                    reporter.complete();
                    return Ok(result);
                }
                Ok(_) => return Err(end.exit_failure()),
                Err(f) if f.kind == ScanFailureKind::OpenFailed => {
                    if let Some(error) = end.no_disc_failure() {
                        return Err(error);
                    }
                    tracing::info!(%source, attempt, "MakeMKV could not open the disc");
                    failures.push(end.detail());
                }
                Err(f) => return Err(RunError::failed(f.code, f.message, Some(end.detail()))),
            }
        }
        Err(unreadable(&failures))
    }

    /// makemkvcon's arguments: `-r --cache=1024 --progress=-same [--minlength=N] tail…`,
    /// after the command's leading arguments.
    fn args(&self, tail: &[OsString]) -> Vec<OsString> {
        let mut args = self.command.leading_args.clone();
        args.extend(["-r", "--cache=1024", "--progress=-same"].map(OsString::from));
        if let Some(n) = self.config.min_length_seconds {
            args.push(format!("--minlength={n}").into());
        }
        args.extend(tail.iter().cloned());
        args
    }

    /// The pause before retrying a disc that would not open; cancellable.
    async fn backoff(&self, cancel: &CancellationToken) -> Result<(), RunError> {
        tokio::select! {
            () = cancel.cancelled() => Err(RunError::Cancelled),
            () = tokio::time::sleep(self.config.open_retry_backoff) => Ok(()),
        }
    }

    fn notify(&self, event: ChildEvent) {
        if let Some(hook) = &self.child_hook {
            hook(event);
        }
    }
}

/// `DISC_UNREADABLE` after every attempt failed to open the disc.
fn unreadable(details: &[String]) -> RunError {
    let detail = details
        .iter()
        .enumerate()
        .map(|(i, d)| format!("attempt {}:\n{d}", i + 1))
        .collect::<Vec<_>>()
        .join("\n");
    RunError::failed(
        ErrorCode::DiscUnreadable,
        format!("MakeMKV could not open the disc ({OPEN_ATTEMPTS} attempts)"),
        Some(detail),
    )
}

/// Progress of one operation across its attempts, sent to the caller's callback.
struct Reporter<F> {
    tracker: ProgressTracker,
    on_progress: F,
    started: bool,
    /// A rip's free-space reservation, told what the growing file holds.
    space: Option<SpaceGuard>,
}

impl<F: FnMut(ProgressUpdate)> Reporter<F> {
    fn new(tracker: ProgressTracker, on_progress: F) -> Self {
        Self {
            tracker,
            on_progress,
            started: false,
            space: None,
        }
    }

    fn handle(&mut self, event: &AttemptEvent<'_>) {
        let update = match event {
            AttemptEvent::Spawned(now) if !self.started => {
                self.started = true;
                Some(self.tracker.start(*now))
            }
            AttemptEvent::Spawned(_) => None,
            AttemptEvent::Line(line, now) => self.tracker.observe(line, *now),
            AttemptEvent::Tick(now) => self.tracker.poll(*now),
        };
        if let Some(update) = update {
            (self.on_progress)(update);
        }
    }

    fn set_file_size(&mut self, bytes: Option<u64>) {
        if let (Some(space), Some(bytes)) = (&self.space, bytes) {
            space.set_written(bytes);
        }
        self.tracker.set_file_size(bytes);
    }

    fn complete(&mut self) {
        if let Some(update) = self.tracker.complete(Instant::now()) {
            (self.on_progress)(update);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_follow_the_spec() {
        let mut command = MakemkvconCommand::new("/sim");
        command.leading_args = vec!["__sim-makemkvcon".into()];
        let config = RunnerConfig {
            min_length_seconds: Some(120),
            ..RunnerConfig::default()
        };
        let runner = Runner::new(command, config);
        let source = Source::Device("/dev/sr0".into());
        let args = runner.args(&["info".into(), source.to_string().into()]);
        assert_eq!(
            args,
            [
                "__sim-makemkvcon",
                "-r",
                "--cache=1024",
                "--progress=-same",
                "--minlength=120",
                "info",
                "dev:/dev/sr0"
            ]
            .map(OsString::from)
        );
        let plain = Runner::new(
            MakemkvconCommand::new("makemkvcon"),
            RunnerConfig::default(),
        );
        let args = plain.args(&["info".into(), Source::DiscIndex(2).to_string().into()]);
        assert_eq!(
            args,
            ["-r", "--cache=1024", "--progress=-same", "info", "disc:2"].map(OsString::from)
        );
    }
}
