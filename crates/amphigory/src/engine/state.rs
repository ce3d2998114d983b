//! One drive's state machine: the disc in it with its cached scan, the work running there
//! with its progress, and the drive object everyone reads (SPEC §9.1), changed only by
//! the transitions below. Plain data, owned by the engine; the status snapshot's drives
//! and running tasks are projections of it, so there is one source of truth.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use amphigory_wire::drive::{DriveState, DriveStatus, ScanStatus};
use amphigory_wire::scan::ScanResult;
use amphigory_wire::task::TaskType;
use tokio_util::sync::CancellationToken;

use super::{DriveSlot, StopReason};
use crate::core::status::RunningTask;
use crate::makemkv::progress::ProgressUpdate;
use crate::queue::{Task, TaskKind};

/// Numbers every piece of work, so that its end clears its own entry and no other.
static NEXT_RUN: AtomicU64 = AtomicU64::new(1);

/// Work running on a drive: a queue task, or the proactive scan of a new disc.
pub(crate) struct Running {
    /// Which run this is (unique in the process, increasing: the start order).
    pub(crate) run: u64,
    /// The queue task, `None` for a proactive scan.
    pub(crate) task_id: Option<String>,
    pub(crate) cancel: CancellationToken,
    pub(crate) reason: Arc<OnceLock<StopReason>>,
    /// Where a queue task is, as the status shows it.
    pub(crate) progress: Option<RunningTask>,
}

impl Running {
    pub(crate) fn new(task_id: Option<String>) -> Self {
        Self {
            run: NEXT_RUN.fetch_add(1, Ordering::Relaxed),
            task_id,
            cancel: CancellationToken::new(),
            reason: Arc::new(OnceLock::new()),
            progress: None,
        }
    }

    /// A queue task's run, shown as running from the start.
    pub(crate) fn task(task: &Task, drive_id: &str) -> Self {
        let mut running = Self::new(Some(task.id.clone()));
        running.progress = Some(RunningTask {
            task_id: task.id.clone(),
            task_type: task.task_type(),
            drive_id: drive_id.to_owned(),
            percent: 0,
            eta_seconds: None,
            current_size_bytes: None,
            speed: None,
        });
        running
    }

    /// Stops the work; the first reason given wins.
    pub(crate) fn stop(&self, reason: StopReason) {
        let _ = self.reason.set(reason);
        self.cancel.cancel();
    }

    /// Folds in a progress report; false when this is no queue task.
    pub(crate) fn advance(&mut self, update: &ProgressUpdate) -> bool {
        let Some(shown) = self.progress.as_mut() else {
            return false;
        };
        shown.percent = update.percent;
        shown.eta_seconds = update.eta_seconds;
        shown.current_size_bytes = update.current_size_bytes;
        shown.speed.clone_from(&update.speed);
        true
    }
}

/// Where the scan of a disc stands.
#[derive(Debug, Clone)]
pub(crate) enum DiscScan {
    /// Not started: the proactive scan runs as soon as the drive is free.
    Pending,
    /// Running now (proactive, or a scan task).
    Running,
    /// Done: scan tasks for this disc are answered from here.
    Done(Arc<ScanResult>),
    /// The last scan failed: a scan task scans again.
    Failed,
}

/// The disc in a drive.
#[derive(Debug, Clone)]
pub(crate) struct Disc {
    /// Changes with every insert, so a late scan result never lands on another disc.
    pub(crate) generation: u64,
    pub(crate) volume_name: Option<String>,
    pub(crate) fingerprint: Option<String>,
    pub(crate) scan: DiscScan,
}

impl Disc {
    /// Fills in what the drive knows and MakeMKV did not say: the fingerprint, and the
    /// volume name as the disc's name (SPEC §6.3).
    pub(crate) fn complete(&self, scan: &mut ScanResult) {
        complete_scan(
            scan,
            self.fingerprint.as_deref(),
            self.volume_name.as_deref(),
        );
    }
}

/// Fills a scan's missing fingerprint and unknown disc name from the drive's facts.
pub(crate) fn complete_scan(
    scan: &mut ScanResult,
    fingerprint: Option<&str>,
    volume: Option<&str>,
) {
    if scan.fingerprint.is_none() {
        scan.fingerprint = fingerprint.map(str::to_owned);
    }
    if let (true, Some(volume)) = (scan.disc_name_unknown(), volume) {
        volume.clone_into(&mut scan.disc_name);
    }
}

/// One drive: what the engine knows and what it shows.
pub(crate) struct DriveEntry {
    pub(crate) slot: DriveSlot,
    pub(crate) disc: Option<Disc>,
    pub(crate) running: Option<Running>,
    /// The drive object of SPEC §9.1, kept in step by the transitions.
    pub(crate) shown: DriveStatus,
}

impl DriveEntry {
    /// A drive just reported, empty.
    pub(crate) fn new(slot: DriveSlot, daemon_id: &str, label: Option<String>, now: &str) -> Self {
        let shown = DriveStatus {
            drive_id: slot.drive_id.clone(),
            daemon_id: daemon_id.to_owned(),
            device: slot.device.clone(),
            label,
            state: DriveState::Empty,
            last_updated: Some(now.to_owned()),
            ..DriveStatus::default()
        };
        Self {
            slot,
            disc: None,
            running: None,
            shown,
        }
    }

    pub(crate) fn is_free(&self) -> bool {
        self.running.is_none()
    }

    /// A disc went in: `disc` (a new generation), with what detection read of it.
    pub(crate) fn disc_inserted(&mut self, disc: Disc, disc_type: Option<String>, now: &str) {
        let d = &mut self.shown;
        clear_disc(d);
        d.state = DriveState::DiscInserted;
        d.disc_volume.clone_from(&disc.volume_name);
        d.disc_type = disc_type;
        d.fingerprint.clone_from(&disc.fingerprint);
        d.disc_inserted_at = Some(now.to_owned());
        d.last_updated = Some(now.to_owned());
        self.disc = Some(disc);
    }

    /// The disc left; what runs on it is stopped. Returns the disc, if there was one.
    pub(crate) fn disc_ejected(&mut self, now: &str) -> Option<Disc> {
        let disc = self.disc.take()?;
        if let Some(running) = &self.running {
            running.stop(StopReason::DiscEjected);
        }
        clear_disc(&mut self.shown);
        self.shown.state = DriveState::Empty;
        self.shown.last_updated = Some(now.to_owned());
        Some(disc)
    }

    /// The proactive scan of the disc starts as `running`.
    pub(crate) fn scan_started(&mut self, running: Running, now: &str) {
        if let Some(disc) = self.disc.as_mut() {
            disc.scan = DiscScan::Running;
        }
        self.running = Some(running);
        let d = &mut self.shown;
        d.state = DriveState::Scanning;
        d.scan_status = Some(ScanStatus::InProgress);
        d.waiting_since = None;
        d.last_updated = Some(now.to_owned());
    }

    /// The disc has this scan: cached, and shown as complete and waiting.
    pub(crate) fn scan_finished(&mut self, scan: Arc<ScanResult>, now: &str) {
        let Some(disc) = self.disc.as_mut() else {
            return;
        };
        let d = &mut self.shown;
        d.state = DriveState::Scanned;
        d.scan_status = Some(ScanStatus::Complete);
        d.scan_result = Some(ScanResult::clone(&scan));
        d.scan_error = None;
        // Scanned and idle: the disc waits for someone to choose what to rip.
        d.waiting_since = Some(now.to_owned());
        d.last_updated = Some(now.to_owned());
        disc.scan = DiscScan::Done(scan);
    }

    /// The proactive scan failed with `message`.
    pub(crate) fn scan_failed(&mut self, message: String, now: &str) {
        if let Some(disc) = self.disc.as_mut() {
            disc.scan = DiscScan::Failed;
        }
        let d = &mut self.shown;
        d.state = DriveState::DiscInserted;
        d.scan_status = Some(ScanStatus::Failed);
        d.scan_error = Some(message);
        d.waiting_since = Some(now.to_owned());
        d.last_updated = Some(now.to_owned());
    }

    /// A queue task starts here as `running`; a scan task with no cached answer scans
    /// the disc.
    pub(crate) fn task_started(&mut self, task: &Task, running: Running, scans: bool, now: &str) {
        if let (true, Some(disc)) = (scans, self.disc.as_mut()) {
            disc.scan = DiscScan::Running;
        }
        self.running = Some(running);
        let d = &mut self.shown;
        d.last_updated = Some(now.to_owned());
        d.waiting_since = None;
        match &task.kind {
            TaskKind::Scan => {
                d.state = DriveState::Scanning;
                d.scan_task_id = Some(task.id.clone());
            }
            TaskKind::Rip(spec) => {
                d.state = DriveState::Ripping;
                d.rip_task_id = Some(task.id.clone());
                d.rip_track_number = Some(spec.track);
                d.rip_progress = Some(0);
            }
        }
    }

    /// Progress of run `run`; false when that is not what runs here.
    pub(crate) fn task_progress(&mut self, run: u64, update: &ProgressUpdate) -> bool {
        let Some(running) = self.running.as_mut().filter(|r| r.run == run) else {
            return false;
        };
        if !running.advance(update) {
            return false;
        }
        let is_rip = running
            .progress
            .as_ref()
            .is_some_and(|p| p.task_type == TaskType::Rip);
        if is_rip {
            self.shown.rip_progress = Some(update.percent);
        }
        true
    }

    /// The queue task that ran here ended (its run already forgotten). `scan` is the scan
    /// a successful scan task found of the disc of `generation`.
    pub(crate) fn task_stopped(
        &mut self,
        generation: Option<u64>,
        scan: Option<ScanResult>,
        now: &str,
    ) {
        let same_disc = self
            .disc
            .as_mut()
            .filter(|d| Some(d.generation) == generation);
        let scan = match (same_disc, scan) {
            (Some(disc), Some(scan)) => {
                let scan = Arc::new(scan);
                disc.scan = DiscScan::Done(scan.clone());
                Some(scan)
            }
            (Some(disc), None) => {
                if matches!(disc.scan, DiscScan::Running) {
                    disc.scan = DiscScan::Failed;
                }
                None
            }
            (None, _) => None,
        };
        let d = &mut self.shown;
        if let Some(scan) = scan {
            d.scan_status = Some(ScanStatus::Complete);
            d.scan_result = Some(ScanResult::clone(&scan));
            d.scan_error = None;
        }
        d.rip_task_id = None;
        d.rip_track_number = None;
        d.rip_progress = None;
        d.last_updated = Some(now.to_owned());
        // An eject during the task already marked the drive empty: nothing waits there.
        if d.state != DriveState::Empty {
            d.state = if d.scan_result.is_some() {
                DriveState::Scanned
            } else {
                DriveState::DiscInserted
            };
            d.waiting_since = d.last_updated.clone();
        }
    }

    /// A task waits for a disc in this drive: say since when (SPEC §9.1), once.
    pub(crate) fn mark_waiting(&mut self, now: &str) {
        if self.disc.is_none() && self.shown.waiting_since.is_none() {
            self.shown.waiting_since = Some(now.to_owned());
        }
    }
}

/// Forgets everything about the drive's disc.
fn clear_disc(d: &mut DriveStatus) {
    d.disc_volume = None;
    d.disc_type = None;
    d.fingerprint = None;
    d.scan_status = None;
    d.scan_task_id = None;
    d.scan_result = None;
    d.scan_error = None;
    d.disc_inserted_at = None;
    d.waiting_since = None;
}
