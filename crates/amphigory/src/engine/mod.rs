//! The engine: the only owner of the daemon's state. It keeps one state machine per
//! drive, claims tasks from the queue for free drives, runs each on its drive through the
//! `makemkvcon` runner, and writes results. One scheduler loop owns every decision
//! (routing, proactive scans, disc events, commands); each running task lives in its own
//! tracked tokio task and reports back (progress, its end) through a channel, so a slow
//! task never delays pickup on another drive. After every change the loop publishes the
//! [`StatusSnapshot`](crate::core::StatusSnapshot), a projection of its state: the only
//! writer of the status.
//!
//! - `state`: one drive's state machine (disc, scan, running work, drive object).
//! - `routing`: every drive, and the rule that routes a task to one (pure).
//! - [`handle`]: [`EngineHandle`], the typed way in for everyone else.
//! - `view`: the status snapshot, projected and published.
//! - `reports`: what running work reports back (progress, its end).
//! - `discs`: what detection reports (drives and discs coming and going), proactive
//!   scans, auto-eject.
//! - `task_run`: one claimed task from start to result.
//! - `upkeep`: commands, the PAUSED marker and queue depth, expired claims, the queue
//!   directory's problems.
//! - `pending`: results that could not be written yet, retried with backoff.
//! - `needed`: "disc needed", tasks waiting for a disc in no drive, counted per disc.
//! - [`results`]: the result files.

mod claims;
mod discs;
pub mod handle;
mod job;
mod needed;
mod output;
mod pending;
mod problems;
mod proof;
mod recorded;
mod reports;
pub mod results;
mod routing;
mod state;
mod task_run;
mod upkeep;
mod view;

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::core::{DaemonEvent, EventBus, Problem, StatusHandle};
use crate::drives::DiscEvent;
use crate::drives::Ejector;
use crate::drives::labels::Labels;
use crate::history::History;
use crate::makemkv::runner::Runner;
use crate::queue::{PendingResult, Queue};
pub use handle::{EngineCommand, EngineError, EngineHandle, Report};
use pending::PendingResults;
use problems::{ProblemSource, Problems};
use reports::Done;
use routing::{Registry, Route};
use state::{DriveEntry, Running};

/// Why a running task was stopped before it finished; the first reason given wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A user cancelled it: a failed result with `TASK_CANCELLED`.
    Cancelled,
    /// Pause now: partial output removed, task back at the head of the queue.
    PauseNow,
    /// The daemon is shutting down: like pause now.
    Shutdown,
    /// The disc left the drive: a failed result with `DISC_EJECTED`.
    DiscEjected,
    /// The claim is not this daemon's any more: nothing written, nothing requeued.
    ClaimLost,
}

/// Tunables of the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Safety rescan period (file-system events can be lost on shared mounts).
    pub rescan_interval: Duration,
    /// How often a running task's lease is renewed.
    pub lease_interval: Duration,
    /// On shutdown, how long running tasks may go on before they are requeued.
    pub shutdown_grace: Duration,
    /// How often claims whose lease expired (another daemon died) are taken back.
    pub expired_lease_check: Duration,
    /// Eject a disc after the last task for it (SPEC §9.2 `auto_eject`).
    pub auto_eject: bool,
    /// The webapp's `ripped_directory` (host path): missing folders below it are made
    /// for a rip (SPEC §6.1).
    pub ripped_directory: Option<std::path::PathBuf>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            rescan_interval: Duration::from_secs(5),
            lease_interval: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            expired_lease_check: Duration::from_secs(60),
            auto_eject: false,
            ripped_directory: None,
        }
    }
}

/// One drive as the engine sees it.
#[derive(Debug, Clone)]
pub struct DriveSlot {
    /// `daemon_id:device-name`.
    pub drive_id: String,
    /// Device path, e.g. `/dev/sr0`.
    pub device: String,
}

impl DriveSlot {
    /// Does `needle` name this drive (id, device, or device without `/dev/`)?
    pub fn is_named(&self, needle: &str) -> bool {
        crate::core::status::names_drive(&self.drive_id, &self.device, needle)
    }
}

/// What every running task needs; cheap to clone.
#[derive(Clone)]
pub(crate) struct EngineContext {
    pub(crate) queue: Arc<Queue>,
    pub(crate) runner: Arc<Runner>,
    pub(crate) bus: EventBus,
    pub(crate) options: EngineOptions,
    /// Where finished tasks are recorded (`None`: not recorded).
    pub(crate) history: Option<Arc<History>>,
}

/// What the engine is built from.
pub struct EngineParts {
    /// The shared queue.
    pub queue: Arc<Queue>,
    /// makemkvcon and its limits.
    pub runner: Arc<Runner>,
    /// Where events go.
    pub bus: EventBus,
    /// The status snapshot the engine publishes (nobody else writes it).
    pub status: StatusHandle,
    /// Tunables.
    pub options: EngineOptions,
    /// Where finished tasks are recorded (`None`: not recorded).
    pub history: Option<Arc<History>>,
    /// Notified by the queue watcher.
    pub wake: Arc<Notify>,
    /// `daemon_id` (the first half of every drive id).
    pub daemon_id: String,
    /// Drive labels, put on drives as detection reports them.
    pub labels: Arc<Labels>,
    /// Ejects discs (auto-eject).
    pub ejector: Arc<Ejector>,
    /// Disc detection's reports; `None` = no detection (no drive is ever used).
    pub detection: Option<mpsc::Receiver<DiscEvent>>,
    /// Finished tasks whose results start-up recovery could not write yet.
    pub pending: Vec<PendingResult>,
    /// Problems known at start (makemkvcon missing, no detection).
    pub problems: Vec<Problem>,
    /// The configuration's problems at start (needs config); a refetched configuration
    /// replaces them ([`Report::ConfigProblems`]).
    pub config_problems: Vec<Problem>,
}

/// The engine; build with [`Engine::new`], then [`Engine::run`] it.
pub struct Engine {
    ctx: EngineContext,
    registry: Registry,
    status: StatusHandle,
    view: view::Extras,
    problems: Problems,
    daemon_id: String,
    labels: Arc<Labels>,
    ejector: Arc<Ejector>,
    commands: mpsc::Receiver<EngineCommand>,
    detection: Option<mpsc::Receiver<DiscEvent>>,
    wake: Arc<Notify>,
    done_tx: mpsc::Sender<Done>,
    done_rx: mpsc::Receiver<Done>,
    tracker: TaskTracker,
    paused: bool,
    depth: usize,
    pending: PendingResults,
    needed: needed::NeededDiscs,
    /// The last pass's error, logged once until it changes.
    scan_error: Option<String>,
    /// Shutting down: running tasks are ending, nothing new starts.
    draining: bool,
}

impl Engine {
    /// An engine over these parts, and the sender of its commands.
    pub fn new(parts: EngineParts) -> (Self, EngineHandle) {
        let (cmd_tx, commands) = mpsc::channel(64);
        let handle = EngineHandle::new(cmd_tx, parts.status.clone(), Some(parts.queue.clone()));
        let mut problems = Problems::default();
        problems.set(ProblemSource::Startup, parts.problems);
        problems.set(ProblemSource::Config, parts.config_problems);
        let lease_interval = parts.options.lease_interval;
        // Room for every drive's progress while the loop is busy with the queue.
        let (done_tx, done_rx) = mpsc::channel(256);
        let paused = parts.queue.is_paused();
        // Without detection nothing will ever be reported: nothing to wait for.
        let registry = Registry::new(parts.detection.is_none());
        let mut engine = Self {
            ctx: EngineContext {
                queue: parts.queue,
                runner: parts.runner,
                bus: parts.bus,
                options: parts.options,
                history: parts.history,
            },
            registry,
            status: parts.status,
            view: view::Extras::default(),
            problems,
            daemon_id: parts.daemon_id,
            labels: parts.labels,
            ejector: parts.ejector,
            commands,
            detection: parts.detection,
            wake: parts.wake,
            done_tx,
            done_rx,
            tracker: TaskTracker::new(),
            paused,
            depth: usize::MAX,
            pending: PendingResults::new(lease_interval),
            needed: needed::NeededDiscs::default(),
            scan_error: None,
            draining: false,
        };
        for PendingResult {
            claim,
            result,
            error,
        } in parts.pending
        {
            engine.pending.push(Arc::new(claim), result, &error);
        }
        // Right from the start, whoever reads the status sees the engine's.
        engine.publish_status();
        (engine, handle)
    }

    /// Runs until `shutdown` is cancelled, then drains running tasks (SPEC §4: nothing
    /// lost; a task still running after the grace period goes back to `queued/`).
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut rescan = tokio::time::interval(self.ctx.options.rescan_interval);
        rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut expiry = tokio::time::interval(self.ctx.options.expired_lease_check);
        expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        expiry.reset(); // start-up recovery just ran; the first check is one period away
        if self.paused {
            // Only changes are logged below: say why nothing runs when we start paused.
            tracing::info!("queue paused");
        }
        loop {
            self.refresh_pause_and_depth();
            self.dispatch();
            // Again: what was just claimed no longer waits, and subscribers hear the
            // queue emptied before its last task can finish ("all done" relies on it).
            self.refresh_pause_and_depth();
            self.update_discs_needed();
            self.ctx.queue.prepare_claim();
            self.publish_status();
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                Some(done) = self.done_rx.recv() => self.on_done(done),
                event = next_disc_event(&mut self.detection) => match event {
                    Some(event) => self.on_disc_event(event),
                    None => {
                        tracing::warn!("disc detection stopped");
                        self.detection = None;
                        self.registry.settled = true;
                    }
                },
                Some(cmd) = self.commands.recv() => self.on_command(cmd),
                () = self.wake.notified() => {}
                _ = rescan.tick() => self.ctx.queue.request_rescan(),
                _ = expiry.tick() => self.recover_expired(),
                () = sleep_until(self.pending.next_due()) => self.service_pending(),
            }
        }
        self.drain().await;
    }

    /// Starts pending proactive scans, then claims the next runnable task for every free
    /// drive (SPEC §4 selection, §9.1 routing).
    fn dispatch(&mut self) {
        if !self.registry.settled {
            return;
        }
        self.start_pending_scans();
        if self.paused {
            return;
        }
        let mut scan_error = None;
        while self.registry.drives.iter().any(DriveEntry::is_free) {
            let waiting = RefCell::new(Vec::new());
            let registry = &self.registry;
            // Routing looks only at a task's target, so the queue asks once per target.
            let claimed = self
                .ctx
                .queue
                .next_by_target(|task| match registry.route(task) {
                    Route::Drive(i) => registry.drives.get(i).is_some_and(DriveEntry::is_free),
                    // Claimed only to be failed with INVALID_TASK.
                    Route::Ambiguous(_) => true,
                    Route::Wait(Some(i)) => {
                        waiting.borrow_mut().push(i);
                        false
                    }
                    Route::Wait(None) | Route::Elsewhere => false,
                });
            self.report_poison();
            self.mark_waiting(&waiting.into_inner());
            match claimed {
                Ok(Some(claim)) => self.start_claimed(claim),
                Ok(None) => break,
                Err(e) => {
                    scan_error = Some(e.to_string());
                    break;
                }
            }
        }
        self.show_queue_problems(scan_error);
    }

    /// Retries the results that wait and renews their claims' leases.
    fn service_pending(&mut self) {
        self.pending.service(&self.ctx);
    }

    fn running(&self) -> impl Iterator<Item = &Running> {
        self.registry.running()
    }

    /// Queue tasks running now (proactive scans are not queue tasks).
    fn running_tasks(&self) -> impl Iterator<Item = (&str, &Running)> {
        self.running()
            .filter_map(|r| r.task_id.as_deref().map(|id| (id, r)))
    }

    async fn drain(mut self) {
        self.draining = true;
        let grace = self.ctx.options.shutdown_grace;
        self.tracker.close();
        // A proactive scan is no queue task: nothing to finish or requeue.
        self.running()
            .filter(|r| r.task_id.is_none())
            .for_each(|r| r.stop(StopReason::Shutdown));
        let deadline = tokio::time::Instant::now() + grace;
        let mut stopped_all = false;
        let tracker = self.tracker.clone();
        // Reports keep being read while tasks end, so none waits on a full channel, and
        // requests are still answered (a `status` while the daemon stops).
        loop {
            tokio::select! {
                () = tracker.wait() => break,
                Some(done) = self.done_rx.recv() => self.on_done(done),
                Some(cmd) = self.commands.recv() => self.on_command(cmd),
                () = tokio::time::sleep_until(deadline), if !stopped_all => {
                    tracing::info!("requeueing tasks still running after {grace:?}");
                    self.running().for_each(|r| r.stop(StopReason::Shutdown));
                    stopped_all = true;
                }
            }
        }
        // Tasks that finished while draining report here too.
        while let Ok(done) = self.done_rx.try_recv() {
            self.on_done(done);
        }
        self.pending.last_try(&self.ctx);
        self.publish_status();
    }
}

/// Sleeps until `deadline`; forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The next detection report (`None` once detection ended); never, without detection.
async fn next_disc_event(detection: &mut Option<mpsc::Receiver<DiscEvent>>) -> Option<DiscEvent> {
    match detection {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The event announcing a task the queue failed without running it (invalid, or out of
/// retries).
pub(crate) fn rejected_event(rejected: &crate::queue::Rejected) -> DaemonEvent {
    DaemonEvent::TaskFinished {
        task_id: rejected.task_id.clone(),
        task_type: rejected.task_type.clone(),
        error: Some(rejected.error()),
        facts: crate::core::FinishedFacts::default(),
    }
}
