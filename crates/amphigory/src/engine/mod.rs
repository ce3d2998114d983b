//! The engine: owns the drive registry, claims tasks from the queue for free drives, runs
//! each on its drive through the `makemkvcon` runner, and writes results. One scheduler
//! loop owns every decision (routing, proactive scans, disc events); each running task
//! lives in its own tracked tokio task and reports back through a channel, so a slow
//! task never delays pickup on another drive.
//!
//! - `registry`: drives, discs, cached scans and the routing rule (pure).
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
mod needed;
mod output;
mod pending;
mod problems;
mod proof;
mod recorded;
mod registry;
pub mod results;
mod task_run;
mod upkeep;

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use amphigory_wire::scan::ScanResult;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::core::{DaemonEvent, EventBus, StatusHandle};
use crate::drives::DiscEvent;
use crate::drives::Ejector;
use crate::drives::labels::Labels;
use crate::history::History;
use crate::makemkv::runner::{RunError, Runner};
use crate::queue::{PendingResult, Queue};
use pending::PendingResults;
use problems::ProblemSlot;
use registry::{DiscScan, DriveEntry, Registry, Route, Running};

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

/// Commands other components send to the engine.
#[derive(Debug)]
pub enum EngineCommand {
    /// Pause after the current task, or now.
    Pause {
        /// Stop running tasks now and requeue them.
        now: bool,
    },
    /// Resume the queue.
    Resume,
    /// Stop a running task for good, or remove a queued one; `None` = the running task
    /// (the only one). Replies with the id cancelled.
    Cancel {
        /// Which task.
        task_id: Option<String>,
        /// Answer.
        reply: oneshot::Sender<Result<String, String>>,
    },
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
    pub(crate) status: StatusHandle,
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
    /// The status snapshot the engine keeps in step.
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
}

/// A running piece of work that ended.
enum Done {
    /// A queue task on the disc of `generation` (`None`: the drive was empty).
    Task {
        drive_id: String,
        /// [`Running::run`] of the work that ended.
        run: u64,
        generation: Option<u64>,
        scan_task: bool,
        outcome: task_run::Summary,
    },
    /// The proactive scan of the disc of this generation.
    DiscScan {
        drive_id: String,
        /// [`Running::run`] of the scan.
        run: u64,
        generation: u64,
        outcome: Result<ScanResult, RunError>,
    },
}

/// The engine; build with [`Engine::new`], then [`Engine::run`] it.
pub struct Engine {
    ctx: EngineContext,
    registry: Registry,
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
    queue_problems: ProblemSlot,
    needed: needed::NeededDiscs,
    /// The last pass's error, logged once until it changes.
    scan_error: Option<String>,
}

impl Engine {
    /// An engine over these parts, and the sender of its commands.
    pub fn new(parts: EngineParts) -> (Self, mpsc::Sender<EngineCommand>) {
        let (cmd_tx, commands) = mpsc::channel(64);
        let (done_tx, done_rx) = mpsc::channel(64);
        let paused = parts.queue.is_paused();
        // Without detection nothing will ever be reported: nothing to wait for.
        let registry = Registry::new(parts.detection.is_none());
        let mut engine = Self {
            ctx: EngineContext {
                queue: parts.queue,
                runner: parts.runner,
                bus: parts.bus,
                status: parts.status,
                options: parts.options,
                history: parts.history,
            },
            registry,
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
            pending: PendingResults::default(),
            queue_problems: ProblemSlot::default(),
            needed: needed::NeededDiscs::default(),
            scan_error: None,
        };
        for PendingResult {
            claim,
            result,
            error,
        } in parts.pending
        {
            engine
                .pending
                .push(&engine.ctx, Arc::new(claim), result, &error);
        }
        (engine, cmd_tx)
    }

    /// Runs until `shutdown` is cancelled, then drains running tasks (SPEC §4: nothing
    /// lost; a task still running after the grace period goes back to `queued/`).
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut rescan = tokio::time::interval(self.ctx.options.rescan_interval);
        rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut expiry = tokio::time::interval(self.ctx.options.expired_lease_check);
        expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        expiry.reset(); // start-up recovery just ran; the first check is one period away
        self.ctx.status.update(|s| s.paused = self.paused);
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
                () = sleep_until(self.pending.next_due()) => self.pending.service(&self.ctx),
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

    fn on_done(&mut self, done: Done) {
        match done {
            Done::Task {
                drive_id,
                run,
                generation,
                scan_task,
                outcome,
            } => self.task_done(&drive_id, run, generation, scan_task, outcome),
            Done::DiscScan {
                drive_id,
                run,
                generation,
                outcome,
            } => self.disc_scan_done(&drive_id, run, generation, outcome),
        }
    }

    fn task_done(
        &mut self,
        drive_id: &str,
        run: u64,
        generation: Option<u64>,
        scan_task: bool,
        outcome: task_run::Summary,
    ) {
        if let Some(unwritten) = outcome.pending {
            let task_run::Unwritten {
                claim,
                result,
                error,
            } = *unwritten;
            self.pending.push(&self.ctx, claim, result, &error);
        }
        if !self.registry.finish(drive_id, run) {
            return; // the drive went away meanwhile; what runs there now is not this
        }
        let Some(entry) = self.registry.get_mut(drive_id) else {
            return;
        };
        let same_disc = entry
            .disc
            .as_mut()
            .filter(|d| Some(d.generation) == generation);
        if let (true, Some(disc)) = (scan_task, same_disc) {
            match outcome.scan {
                Some(scan) => disc.scan = DiscScan::Done(Arc::new(scan)),
                None if matches!(disc.scan, DiscScan::Running) => disc.scan = DiscScan::Failed,
                None => {}
            }
        }
        if outcome.ripped && self.ctx.options.auto_eject {
            self.auto_eject(drive_id);
        }
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
        let grace = self.ctx.options.shutdown_grace;
        self.tracker.close();
        // A proactive scan is no queue task: nothing to finish or requeue.
        self.running()
            .filter(|r| r.task_id.is_none())
            .for_each(|r| r.stop(StopReason::Shutdown));
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::info!("requeueing tasks still running after {grace:?}");
            self.running().for_each(|r| r.stop(StopReason::Shutdown));
            self.tracker.wait().await;
        }
        // Tasks that finished while draining report here too.
        while let Ok(done) = self.done_rx.try_recv() {
            self.on_done(done);
        }
        self.pending.last_try(&self.ctx);
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
