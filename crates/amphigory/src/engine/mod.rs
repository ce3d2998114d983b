//! The engine: claims tasks from the queue for free drives, runs each on its drive
//! through the `makemkvcon` runner, and writes results. One scheduler loop owns the
//! dispatch decisions; each running task lives in its own tracked tokio task and
//! reports back through a channel, so a slow task never delays pickup on another drive.

pub mod results;
mod task_run;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::core::{DaemonEvent, EventBus, StatusHandle};
use crate::makemkv::runner::Runner;
use crate::queue::{Queue, Task};

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
    /// A disc left a drive: fail whatever runs there with `DISC_EJECTED`.
    DiscEjected {
        /// Drive id or device.
        drive: String,
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
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            rescan_interval: Duration::from_secs(5),
            lease_interval: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            expired_lease_check: Duration::from_secs(60),
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
}

/// A task running on a drive, as the scheduler tracks it.
struct Running {
    task_id: String,
    cancel: CancellationToken,
    reason: Arc<OnceLock<StopReason>>,
}

impl Running {
    fn stop(&self, reason: StopReason) {
        let _ = self.reason.set(reason);
        self.cancel.cancel();
    }
}

/// The engine; build with [`Engine::new`], then [`Engine::run`] it.
pub struct Engine {
    ctx: EngineContext,
    drives: Vec<(DriveSlot, Option<Running>)>,
    commands: mpsc::Receiver<EngineCommand>,
    wake: Arc<Notify>,
    done_tx: mpsc::Sender<String>,
    done_rx: mpsc::Receiver<String>,
    tracker: TaskTracker,
    paused: bool,
    depth: usize,
}

impl Engine {
    /// An engine over `queue` with these drives. `wake` is notified by the queue watcher.
    pub fn new(
        queue: Arc<Queue>,
        runner: Arc<Runner>,
        drives: Vec<DriveSlot>,
        bus: EventBus,
        status: StatusHandle,
        options: EngineOptions,
        wake: Arc<Notify>,
    ) -> (Self, mpsc::Sender<EngineCommand>) {
        let (cmd_tx, commands) = mpsc::channel(64);
        let (done_tx, done_rx) = mpsc::channel(64);
        let paused = queue.is_paused();
        let engine = Self {
            ctx: EngineContext {
                queue,
                runner,
                bus,
                status,
                options,
            },
            drives: drives.into_iter().map(|d| (d, None)).collect(),
            commands,
            wake,
            done_tx,
            done_rx,
            tracker: TaskTracker::new(),
            paused,
            depth: usize::MAX,
        };
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
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                Some(drive_id) = self.done_rx.recv() => self.mark_free(&drive_id),
                Some(cmd) = self.commands.recv() => self.on_command(cmd),
                () = self.wake.notified() => {}
                _ = rescan.tick() => {}
                _ = expiry.tick() => self.recover_expired(),
            }
        }
        self.drain().await;
    }

    /// Claims the next runnable task for every free drive.
    fn dispatch(&mut self) {
        if self.paused {
            return;
        }
        for index in 0..self.drives.len() {
            let Some((slot, None)) = self.drives.get(index) else {
                continue;
            };
            let slot = slot.clone();
            let claimed = self
                .ctx
                .queue
                .next(|task| routes_to(task, &slot, self.drives.len()));
            self.report_poison();
            match claimed {
                Ok(Some(claim)) => self.start(index, slot, claim),
                Ok(None) => {}
                Err(e) => tracing::warn!("queue scan failed: {e}"),
            }
        }
    }

    fn start(&mut self, index: usize, slot: DriveSlot, claim: crate::queue::Claim) {
        let running = Running {
            task_id: claim.task().id.clone(),
            cancel: CancellationToken::new(),
            reason: Arc::new(OnceLock::new()),
        };
        let job = task_run::Job {
            claim: Arc::new(claim),
            drive: slot,
            cancel: running.cancel.clone(),
            reason: running.reason.clone(),
        };
        if let Some(entry) = self.drives.get_mut(index) {
            entry.1 = Some(running);
        }
        let ctx = self.ctx.clone();
        let done = self.done_tx.clone();
        self.tracker.spawn(async move {
            let drive_id = job.drive.drive_id.clone();
            task_run::run(ctx, job).await;
            let _ = done.send(drive_id).await;
        });
    }

    fn mark_free(&mut self, drive_id: &str) {
        for (slot, running) in &mut self.drives {
            if slot.drive_id == drive_id {
                *running = None;
            }
        }
    }

    fn running(&self) -> impl Iterator<Item = (&DriveSlot, &Running)> {
        self.drives
            .iter()
            .filter_map(|(slot, r)| r.as_ref().map(|r| (slot, r)))
    }

    fn on_command(&mut self, cmd: EngineCommand) {
        match cmd {
            EngineCommand::Pause { now } => {
                if let Err(e) = self.ctx.queue.set_paused(true) {
                    tracing::error!("cannot write the PAUSED marker: {e}");
                }
                if now {
                    self.running()
                        .for_each(|(_, r)| r.stop(StopReason::PauseNow));
                }
            }
            EngineCommand::Resume => {
                if let Err(e) = self.ctx.queue.set_paused(false) {
                    tracing::error!("cannot remove the PAUSED marker: {e}");
                }
            }
            EngineCommand::Cancel { task_id, reply } => {
                let _ = reply.send(self.cancel(task_id.as_deref()));
            }
            EngineCommand::DiscEjected { drive } => {
                self.running()
                    .filter(|(slot, _)| slot.is_named(&drive))
                    .for_each(|(_, r)| r.stop(StopReason::DiscEjected));
            }
        }
    }

    fn cancel(&self, task_id: Option<&str>) -> Result<String, String> {
        let mut running: Vec<_> = self.running().map(|(_, r)| r).collect();
        let target = match task_id {
            Some(id) => running.iter().find(|r| r.task_id == id).copied(),
            None if running.len() == 1 => running.pop(),
            None if running.is_empty() => return Err("no task is running".into()),
            None => return Err("several tasks are running: name one".into()),
        };
        if let Some(r) = target {
            r.stop(StopReason::Cancelled);
            return Ok(r.task_id.clone());
        }
        let id = task_id.unwrap_or_default();
        match self.ctx.queue.cancel_queued(id) {
            Ok(true) => Ok(id.to_owned()),
            Ok(false) => Err(format!("no queued or running task '{id}'")),
            Err(e) => Err(format!("cannot cancel '{id}': {e}")),
        }
    }

    /// Reads the PAUSED marker (anyone may create it) and the queue depth, publishing
    /// changes.
    fn refresh_pause_and_depth(&mut self) {
        let paused = self.ctx.queue.is_paused();
        if paused != self.paused {
            self.paused = paused;
            self.ctx.status.update(|s| s.paused = paused);
            let event = if paused {
                DaemonEvent::Paused
            } else {
                DaemonEvent::Resumed
            };
            tracing::info!("queue {}", if paused { "paused" } else { "resumed" });
            self.ctx.bus.publish(event);
        }
        let depth = self.ctx.queue.queue_depth();
        if depth != self.depth {
            self.depth = depth;
            self.ctx.status.update(|s| s.queue_depth = depth);
            self.ctx.bus.publish(DaemonEvent::QueueChanged { depth });
        }
    }

    /// Takes back claims of daemons that stopped renewing their lease (SPEC §4).
    fn recover_expired(&self) {
        match self.ctx.queue.recover_expired() {
            Ok(report) => {
                report.log();
                report
                    .failed
                    .iter()
                    .for_each(|f| self.ctx.bus.publish(rejected_event(f)));
            }
            Err(e) => tracing::warn!("checking for expired claims failed: {e}"),
        }
    }

    fn report_poison(&self) {
        for rejected in self.ctx.queue.take_rejected() {
            tracing::warn!(task = %rejected.task_id, "invalid task: {}", rejected.message);
            self.ctx.bus.publish(rejected_event(&rejected));
        }
    }

    async fn drain(self) {
        let grace = self.ctx.options.shutdown_grace;
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::info!("requeueing tasks still running after {grace:?}");
            self.running()
                .for_each(|(_, r)| r.stop(StopReason::Shutdown));
            self.tracker.wait().await;
        }
    }
}

/// The event announcing a task the queue failed without running it (invalid, or out of
/// retries).
pub(crate) fn rejected_event(rejected: &crate::queue::Rejected) -> DaemonEvent {
    DaemonEvent::TaskFinished {
        task_id: rejected.task_id.clone(),
        task_type: rejected.task_type.clone(),
        error: Some(rejected.error()),
    }
}

/// Does `task` go to this drive? Its `drive` field must name it when set; otherwise any
/// drive will do when there is only one.
fn routes_to(task: &Task, slot: &DriveSlot, drive_count: usize) -> bool {
    match task.drive.as_deref() {
        Some(wanted) => slot.is_named(wanted),
        None => drive_count >= 1,
    }
}
