//! What detection reports, as the engine handles it: drives and discs coming and going
//! (the drive objects and disc events of SPEC §9), the proactive scan of every new disc
//! (cached, so a scan task never scans one disc twice), `waiting_since`, and auto-eject.

use std::sync::Arc;

use amphigory_wire::scan::ScanResult;
use amphigory_wire::ws::DiscEventKind;

use super::results::now_rfc3339;
use super::routing::Route;
use super::state::{DiscScan, DriveEntry, Running};
use super::{Done, DriveSlot, Engine};
use crate::core::DaemonEvent;
use crate::drives::{DiscEvent, DiscInfo, DriveInfo};
use crate::makemkv::runner::{RunError, Source};

impl Engine {
    pub(super) fn on_disc_event(&mut self, event: DiscEvent) {
        match event {
            DiscEvent::DriveAdded(info) => self.drive_added(&info),
            DiscEvent::DriveRemoved { device } => self.drive_removed(&device),
            DiscEvent::Inserted(disc) => self.disc_inserted(disc),
            DiscEvent::Ejected { device } => self.disc_ejected(&device),
            DiscEvent::Settled => {
                self.registry.settled = true;
                match self.registry.drives.len() {
                    0 => tracing::info!("no optical drive found yet; waiting for one"),
                    n => tracing::info!("{n} optical drive(s) found"),
                }
            }
        }
    }

    fn drive_added(&mut self, info: &DriveInfo) {
        if self.registry.position(&info.device).is_some() {
            return; // known (every insert reports its drive too)
        }
        let slot = DriveSlot {
            drive_id: crate::drives::drive_id(&self.daemon_id, &info.device),
            device: info.device.clone(),
        };
        let label = self.labels.get(&slot.drive_id, &slot.device);
        let entry = DriveEntry::new(slot.clone(), &self.daemon_id, label, &now_rfc3339());
        if !self.registry.add(entry) {
            return;
        }
        let model = info.model.as_deref().unwrap_or("optical drive");
        tracing::info!("drive {} at {} ({model})", slot.drive_id, slot.device);
    }

    fn drive_removed(&mut self, device: &str) {
        self.disc_ejected(device);
        let Some(index) = self.registry.position(device) else {
            return;
        };
        let Some(entry) = self.registry.remove(index) else {
            return;
        };
        tracing::info!("drive {} at {device} went away", entry.slot.drive_id);
    }

    fn disc_inserted(&mut self, info: DiscInfo) {
        self.drive_added(&DriveInfo {
            device: info.device.clone(),
            model: None,
        });
        let same = self
            .registry
            .get_mut(&info.device)
            .and_then(|e| e.disc.as_ref())
            .is_some_and(|d| d.fingerprint.is_some() && d.fingerprint == info.fingerprint);
        if same {
            return; // reported twice (several change events for one insert)
        }
        let disc = self
            .registry
            .new_disc(info.volume_name.clone(), info.fingerprint.clone());
        let Some(entry) = self.registry.get_mut(&info.device) else {
            return;
        };
        let disc_type = info.medium.map(|m| m.disc_type().to_owned());
        entry.disc_inserted(disc, disc_type, &now_rfc3339());
        let drive_id = entry.slot.drive_id.clone();
        tracing::info!(
            "disc inserted in {}: {} ({})",
            info.device,
            info.volume_name.as_deref().unwrap_or("no volume name"),
            info.fingerprint.as_deref().unwrap_or("no fingerprint")
        );
        self.publish_disc(
            DiscEventKind::Inserted,
            &drive_id,
            &info.device,
            info.volume_name,
            None,
        );
        if let Some(fp) = info.fingerprint {
            self.publish_disc(
                DiscEventKind::Fingerprinted,
                &drive_id,
                &info.device,
                None,
                Some(fp),
            );
        }
    }

    fn disc_ejected(&mut self, device: &str) {
        let Some(entry) = self.registry.get_mut(device) else {
            return;
        };
        let Some(disc) = entry.disc_ejected(&now_rfc3339()) else {
            return;
        };
        let drive_id = entry.slot.drive_id.clone();
        tracing::info!("disc ejected from {device}");
        self.publish_disc(
            DiscEventKind::Ejected,
            &drive_id,
            device,
            disc.volume_name,
            None,
        );
    }

    fn publish_disc(
        &self,
        event: DiscEventKind,
        drive_id: &str,
        device: &str,
        volume_name: Option<String>,
        fingerprint: Option<String>,
    ) {
        self.emit(DaemonEvent::Disc {
            event,
            drive_id: drive_id.to_owned(),
            device: device.to_owned(),
            volume_name,
            fingerprint,
        });
    }

    /// Scans every new disc in a free drive (SPEC §9.2), unless a finished scan of the
    /// same disc (another copy in another drive) can be reused.
    pub(super) fn start_pending_scans(&mut self) {
        for index in 0..self.registry.drives.len() {
            let pending = self
                .registry
                .drives
                .get(index)
                .filter(|e| e.is_free())
                .and_then(|e| e.disc.as_ref())
                .filter(|d| matches!(d.scan, DiscScan::Pending));
            let Some(disc) = pending else {
                continue;
            };
            let reuse = disc
                .fingerprint
                .as_deref()
                .and_then(|fp| self.registry.scan_of(fp));
            match reuse {
                Some(scan) => self.scan_finished(index, scan),
                None => self.start_disc_scan(index),
            }
        }
    }

    fn start_disc_scan(&mut self, index: usize) {
        let Some(entry) = self.registry.drives.get_mut(index) else {
            return;
        };
        let Some(generation) = entry.disc.as_ref().map(|d| d.generation) else {
            return;
        };
        let running = Running::new(None);
        let (run, cancel) = (running.run, running.cancel.clone());
        entry.scan_started(running, &now_rfc3339());
        let (drive_id, device) = (entry.slot.drive_id.clone(), entry.slot.device.clone());
        tracing::info!("scanning the disc in {device}");
        let (runner, done) = (self.ctx.runner.clone(), self.done_tx.clone());
        self.tracker.spawn(async move {
            let outcome = runner.scan(&Source::Device(device), &cancel, |_| {}).await;
            let _ = done
                .send(Done::DiscScan {
                    drive_id,
                    run,
                    generation,
                    outcome,
                })
                .await;
        });
    }

    pub(super) fn disc_scan_done(
        &mut self,
        drive_id: &str,
        run: u64,
        generation: u64,
        outcome: Result<ScanResult, RunError>,
    ) {
        if !self.registry.finish(drive_id, run) {
            return; // the drive went away meanwhile; what runs there now is not this
        }
        let Some(index) = self.registry.position(drive_id) else {
            return;
        };
        let Some(entry) = self.registry.drives.get_mut(index) else {
            return;
        };
        let Some(disc) = entry.disc.as_mut().filter(|d| d.generation == generation) else {
            return; // the disc left (or was swapped) while it was being scanned
        };
        match outcome {
            Ok(mut scan) => {
                disc.complete(&mut scan);
                self.scan_finished(index, Arc::new(scan));
            }
            Err(RunError::Cancelled) => disc.scan = DiscScan::Pending,
            Err(e) => {
                let message = e.to_task_error().message;
                tracing::warn!("scan of the disc in {drive_id} failed: {message}");
                entry.scan_failed(message, &now_rfc3339());
            }
        }
    }

    /// The disc in drive `index` has this scan: cache it and show it.
    fn scan_finished(&mut self, index: usize, scan: Arc<ScanResult>) {
        let Some(entry) = self.registry.drives.get_mut(index) else {
            return;
        };
        tracing::info!(
            "disc in {} scanned: {} titles",
            entry.slot.device,
            scan.tracks.len()
        );
        entry.scan_finished(scan, &now_rfc3339());
    }

    /// A task waits for a disc in these (empty) drives: say since when (SPEC §9.1).
    pub(super) fn mark_waiting(&mut self, drives: &[usize]) {
        let now = now_rfc3339();
        for &i in drives {
            if let Some(entry) = self.registry.drives.get_mut(i) {
                entry.mark_waiting(&now);
            }
        }
    }

    /// After a rip: eject the disc unless another queued task is for it (`auto_eject`).
    pub(super) fn auto_eject(&self, drive_id: &str) {
        let Some(index) = self.registry.position(drive_id) else {
            return;
        };
        let more = match self.ctx.queue.waiting_tasks() {
            Ok(tasks) => tasks.iter().any(|t| {
                matches!(self.registry.route(t), Route::Drive(i) | Route::Wait(Some(i)) if i == index)
            }),
            Err(e) => {
                tracing::warn!("cannot look ahead in the queue, not ejecting: {e}");
                true
            }
        };
        let Some(entry) = self.registry.drives.get(index).filter(|_| !more) else {
            return;
        };
        let (ejector, slot) = (self.ejector.clone(), entry.slot.clone());
        tracing::info!(
            "last task for the disc in {} done: ejecting it",
            slot.device
        );
        self.tracker.spawn(async move {
            if let Err(e) = ejector.eject(&slot.drive_id, &slot.device).await {
                tracing::warn!("auto-eject of {} failed: {e}", slot.device);
            }
        });
    }
}
