//! What detection reports, as the engine handles it: drives and discs coming and going
//! (the drive objects and disc events of SPEC §9), the proactive scan of every new disc
//! (cached, so a scan task never scans one disc twice), `waiting_since`, and auto-eject.

use std::sync::Arc;

use amphigory_wire::drive::{DriveState, DriveStatus, ScanStatus};
use amphigory_wire::scan::ScanResult;
use amphigory_wire::ws::DiscEventKind;

use super::registry::{DiscScan, Route, Running};
use super::results::now_rfc3339;
use super::{Done, DriveSlot, Engine, StopReason};
use crate::core::DaemonEvent;
use crate::drives::{DiscEvent, DiscInfo, DriveInfo};
use crate::makemkv::runner::{RunError, Source};

impl Engine {
    pub(super) fn on_disc_event(&mut self, event: DiscEvent) {
        self.handle_disc_event(event);
        self.show_current_drive();
    }

    /// Keeps the snapshot's current drive (SPEC §7.2) in step with the registry, which
    /// routes a scan naming no drive to the same one.
    fn show_current_drive(&self) {
        let current = self
            .registry
            .current()
            .and_then(|i| self.registry.drives.get(i))
            .map(|d| d.slot.drive_id.clone());
        if self.ctx.status.get().current_drive != current {
            self.ctx.status.update(|s| s.current_drive = current);
        }
    }

    fn handle_disc_event(&mut self, event: DiscEvent) {
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
        let slot = DriveSlot {
            drive_id: crate::drives::drive_id(&self.daemon_id, &info.device),
            device: info.device.clone(),
        };
        if !self.registry.add(slot.clone()) {
            return;
        }
        let model = info.model.as_deref().unwrap_or("optical drive");
        tracing::info!("drive {} at {} ({model})", slot.drive_id, slot.device);
        let label = self.labels.get(&slot.drive_id, &slot.device);
        let daemon_id = self.daemon_id.clone();
        self.ctx.status.update(|s| {
            s.drives.push(DriveStatus {
                drive_id: slot.drive_id,
                daemon_id,
                device: slot.device,
                label,
                state: DriveState::Empty,
                last_updated: Some(now_rfc3339()),
                ..DriveStatus::default()
            });
        });
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
        self.ctx
            .status
            .update(|s| s.drives.retain(|d| d.drive_id != entry.slot.drive_id));
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
        entry.disc = Some(disc);
        let drive_id = entry.slot.drive_id.clone();
        self.update_drive(&drive_id, |d, now| {
            clear_disc(d);
            d.state = DriveState::DiscInserted;
            d.disc_volume.clone_from(&info.volume_name);
            d.disc_type = info.medium.map(|m| m.disc_type().to_owned());
            d.fingerprint.clone_from(&info.fingerprint);
            d.disc_inserted_at = Some(now.to_owned());
        });
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
        let Some(disc) = entry.disc.take() else {
            return;
        };
        if let Some(running) = &entry.running {
            running.stop(StopReason::DiscEjected);
        }
        let drive_id = entry.slot.drive_id.clone();
        self.update_drive(&drive_id, |d, _| {
            clear_disc(d);
            d.state = DriveState::Empty;
        });
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
        self.ctx.bus.publish(DaemonEvent::Disc {
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
        let Some(disc) = entry.disc.as_mut() else {
            return;
        };
        disc.scan = DiscScan::Running;
        let generation = disc.generation;
        let running = Running::new(None);
        let (run, cancel) = (running.run, running.cancel.clone());
        entry.running = Some(running);
        let (drive_id, device) = (entry.slot.drive_id.clone(), entry.slot.device.clone());
        tracing::info!("scanning the disc in {device}");
        self.update_drive(&drive_id, |d, _| {
            d.state = DriveState::Scanning;
            d.scan_status = Some(ScanStatus::InProgress);
            d.waiting_since = None;
        });
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
                disc.scan = DiscScan::Failed;
                let message = e.to_task_error().message;
                tracing::warn!("scan of the disc in {drive_id} failed: {message}");
                self.update_drive(drive_id, |d, now| {
                    d.state = DriveState::DiscInserted;
                    d.scan_status = Some(ScanStatus::Failed);
                    d.scan_error = Some(message);
                    d.waiting_since = Some(now.to_owned());
                });
            }
        }
    }

    /// The disc in drive `index` has this scan: cache it and show it.
    fn scan_finished(&mut self, index: usize, scan: Arc<ScanResult>) {
        let Some(entry) = self.registry.drives.get_mut(index) else {
            return;
        };
        let Some(disc) = entry.disc.as_mut() else {
            return;
        };
        let value = serde_json::to_value(&*scan).ok();
        tracing::info!(
            "disc in {} scanned: {} titles",
            entry.slot.device,
            scan.tracks.len()
        );
        disc.scan = DiscScan::Done(scan);
        let drive_id = entry.slot.drive_id.clone();
        self.update_drive(&drive_id, |d, now| {
            d.state = DriveState::Scanned;
            d.scan_status = Some(ScanStatus::Complete);
            d.scan_result = value;
            d.scan_error = None;
            // Scanned and idle: the disc waits for someone to choose what to rip.
            d.waiting_since = Some(now.to_owned());
        });
    }

    /// Changes the drive object of `drive_id` (if it is still there) and stamps
    /// `last_updated`; `change` gets that same time (RFC 3339) for other stamps.
    fn update_drive(&self, drive_id: &str, change: impl FnOnce(&mut DriveStatus, &str)) {
        let now = now_rfc3339();
        self.ctx.status.update(|s| {
            if let Some(d) = s.drive_mut(drive_id) {
                change(d, &now);
                d.last_updated = Some(now);
            }
        });
    }

    /// A task waits for a disc in these (empty) drives: say since when (SPEC §9.1).
    pub(super) fn mark_waiting(&self, drives: &[usize]) {
        let ids: Vec<String> = drives
            .iter()
            .filter_map(|&i| self.registry.drives.get(i))
            .filter(|e| e.disc.is_none())
            .map(|e| e.slot.drive_id.clone())
            .collect();
        if ids.is_empty() {
            return;
        }
        let now = now_rfc3339();
        self.ctx.status.update(|s| {
            for d in s.drives.iter_mut().filter(|d| ids.contains(&d.drive_id)) {
                if d.waiting_since.is_none() {
                    d.waiting_since = Some(now.to_owned());
                }
            }
        });
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
