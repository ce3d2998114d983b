//! Routing (SPEC §9.1): every drive detection reported, kept as [`DriveEntry`] state
//! machines, work whose drive went away while it was ending, and the rule that routes a
//! task to a drive. Plain data and pure decisions; the engine owns one and turns its
//! answers into actions.

use std::sync::Arc;

use amphigory_wire::scan::ScanResult;

use super::DriveSlot;
use super::state::{Disc, DiscScan, DriveEntry, Running};
use crate::queue::{Task, TaskKind};

/// Where a task goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// To the drive at this index (when it is free).
    Drive(usize),
    /// It waits: for a disc in the drive at this index, or for detection to settle.
    Wait(Option<usize>),
    /// No drive of this daemon is meant (another daemon's drive, or a disc not in).
    Elsewhere,
    /// Several drives could take it: fail it, naming these drive ids.
    Ambiguous(Vec<String>),
}

/// Every drive of this daemon.
#[derive(Default)]
pub(crate) struct Registry {
    pub(crate) drives: Vec<DriveEntry>,
    /// Detection has reported everything present at start-up.
    pub(crate) settled: bool,
    generations: u64,
    /// Work whose drive went away while it was still ending (its child being stopped):
    /// kept, so it can still be stopped at shutdown, and given back to the drive if it
    /// returns first, so that nothing else starts there until it has ended.
    orphans: Vec<(DriveSlot, Running)>,
    /// Volume names of the discs seen in this life, by fingerprint: "disc needed" names
    /// a disc that went out by its volume name rather than its fingerprint.
    volumes: std::collections::HashMap<String, String>,
}

impl Registry {
    /// An empty registry; `settled` when no detection will report anything.
    pub(crate) fn new(settled: bool) -> Self {
        Self {
            settled,
            ..Self::default()
        }
    }

    /// The index of the drive named by id or device.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.drives.iter().position(|d| d.slot.is_named(name))
    }

    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut DriveEntry> {
        self.drives.iter_mut().find(|d| d.slot.is_named(name))
    }

    /// Adds a drive unless one at its device is known; returns whether it was new. Work
    /// still ending from the drive's last appearance makes it busy again.
    pub(crate) fn add(&mut self, mut entry: DriveEntry) -> bool {
        if self.position(&entry.slot.device).is_some() {
            return false;
        }
        entry.running = self
            .orphans
            .iter()
            .position(|(gone, _)| gone.device == entry.slot.device)
            .map(|i| self.orphans.swap_remove(i).1);
        self.drives.push(entry);
        true
    }

    /// Removes the drive at `index`; what runs there is kept until it ends.
    pub(crate) fn remove(&mut self, index: usize) -> Option<DriveEntry> {
        if index >= self.drives.len() {
            return None;
        }
        let mut entry = self.drives.remove(index);
        if let Some(running) = entry.running.take() {
            self.orphans.push((entry.slot.clone(), running));
        }
        Some(entry)
    }

    /// Forgets run `run`, which ended. True when it was the work of `drive_id`'s entry;
    /// false when it had lost its drive (or was already forgotten), so that its end
    /// touches nothing of the work there now.
    pub(crate) fn finish(&mut self, drive_id: &str, run: u64) -> bool {
        if let Some(entry) = self.get_mut(drive_id)
            && entry.running.as_ref().is_some_and(|r| r.run == run)
        {
            entry.running = None;
            return true;
        }
        self.orphans.retain(|(_, r)| r.run != run);
        false
    }

    /// Everything running, on a drive or ending after its drive went away.
    pub(crate) fn running(&self) -> impl Iterator<Item = &Running> {
        self.drives
            .iter()
            .filter_map(|d| d.running.as_ref())
            .chain(self.orphans.iter().map(|(_, r)| r))
    }

    /// Run `run`, wherever it is (on its drive, or ending after the drive went away).
    pub(crate) fn run_mut(&mut self, run: u64) -> Option<&mut Running> {
        self.drives
            .iter_mut()
            .filter_map(|d| d.running.as_mut())
            .chain(self.orphans.iter_mut().map(|(_, r)| r))
            .find(|r| r.run == run)
    }

    /// A fresh disc record (a new generation) whose scan is pending.
    pub(crate) fn new_disc(
        &mut self,
        volume_name: Option<String>,
        fingerprint: Option<String>,
    ) -> Disc {
        self.generations += 1;
        if let (Some(fp), Some(volume)) = (&fingerprint, &volume_name) {
            self.volumes.insert(fp.clone(), volume.clone());
        }
        Disc {
            generation: self.generations,
            volume_name,
            fingerprint,
            scan: DiscScan::Pending,
        }
    }

    /// The volume name of the disc with this fingerprint, when one was seen.
    pub(crate) fn volume_of(&self, fingerprint: &str) -> Option<&str> {
        self.volumes.get(fingerprint).map(String::as_str)
    }

    /// A finished scan of a disc with this fingerprint, in any drive (two copies of one
    /// disc are scanned once).
    pub(crate) fn scan_of(&self, fingerprint: &str) -> Option<Arc<ScanResult>> {
        self.drives.iter().find_map(|d| match &d.disc {
            Some(Disc {
                fingerprint: Some(fp),
                scan: DiscScan::Done(scan),
                ..
            }) if fp == fingerprint => Some(scan.clone()),
            _ => None,
        })
    }

    /// The webapp's *current drive* (SPEC §7.2): the drive whose disc went in last, else
    /// the first drive.
    pub(crate) fn current(&self) -> Option<usize> {
        self.latest_disc()
            .or_else(|| (!self.drives.is_empty()).then_some(0))
    }

    /// The drive whose disc went in last (discs are numbered as they go in).
    fn latest_disc(&self) -> Option<usize> {
        self.drives
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.disc.as_ref().map(|disc| (disc.generation, i)))
            .max()
            .map(|(_, i)| i)
    }

    /// SPEC §9.1: the drive named in `drive`, else the drive holding the disc with
    /// `disc_fingerprint`, else the only drive with a disc; a scan that names neither
    /// goes to the current drive (SPEC §7.2: the webapp's scans name no drive).
    pub(crate) fn route(&self, task: &Task) -> Route {
        if let Some(name) = task.drive.as_deref() {
            return match self.position(name) {
                Some(i) if self.has_disc(i) => Route::Drive(i),
                Some(i) => Route::Wait(Some(i)),
                // Not ours: another daemon on this queue may own that drive.
                None => Route::Elsewhere,
            };
        }
        if !self.settled {
            return Route::Wait(None);
        }
        let with_disc: Vec<usize> = (0..self.drives.len())
            .filter(|&i| self.has_disc(i))
            .collect();
        if let Some(wanted) = task.disc_fingerprint.as_deref() {
            return self.route_by_fingerprint(wanted, &with_disc);
        }
        match with_disc.as_slice() {
            [] => Route::Elsewhere,
            [only] => Route::Drive(*only),
            _ if matches!(task.kind, TaskKind::Scan) => {
                self.latest_disc().map_or(Route::Elsewhere, Route::Drive)
            }
            many => Route::Ambiguous(
                many.iter()
                    .filter_map(|&i| self.drives.get(i))
                    .map(|d| d.slot.drive_id.clone())
                    .collect(),
            ),
        }
    }

    /// The fingerprint of the disc `task` waits for when that disc is in no drive of
    /// this daemon (SPEC §11.1 "disc needed"): a task naming a disc that is nowhere
    /// here, or naming an empty drive of ours and a disc. `None` while detection has not
    /// settled, and for tasks meant for another daemon's drive.
    pub(crate) fn needed_disc<'t>(&self, task: &'t Task) -> Option<&'t str> {
        let wanted = task.disc_fingerprint.as_deref()?;
        if !self.settled {
            return None;
        }
        match self.route(task) {
            Route::Wait(Some(_)) => Some(wanted),
            Route::Elsewhere if task.drive.is_none() => Some(wanted),
            _ => None,
        }
    }

    fn route_by_fingerprint(&self, wanted: &str, with_disc: &[usize]) -> Route {
        let holding: Vec<usize> = with_disc
            .iter()
            .copied()
            .filter(|&i| self.fingerprint(i) == Some(wanted))
            .collect();
        // Two copies of one disc: either drive will do, a free one first.
        if let Some(&first) = holding.first() {
            let free = holding
                .iter()
                .copied()
                .find(|&i| self.drives.get(i).is_some_and(DriveEntry::is_free));
            return Route::Drive(free.unwrap_or(first));
        }
        // A drive that could not read its disc's fingerprint may hold it; only when it
        // is the only disc here is that a safe guess.
        match with_disc {
            [only] if self.fingerprint(*only).is_none() => Route::Drive(*only),
            _ => Route::Elsewhere,
        }
    }

    fn has_disc(&self, index: usize) -> bool {
        self.drives.get(index).is_some_and(|d| d.disc.is_some())
    }

    fn fingerprint(&self, index: usize) -> Option<&str> {
        self.drives
            .get(index)
            .and_then(|d| d.disc.as_ref())
            .and_then(|d| d.fingerprint.as_deref())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::queue::TaskKind;

    fn entry(slot: DriveSlot) -> DriveEntry {
        DriveEntry::new(slot, "me@host", None, "2026-01-01T00:00:00Z")
    }

    fn registry(discs: &[Option<&str>]) -> Registry {
        let mut r = Registry::new(true);
        for (i, fp) in discs.iter().enumerate() {
            r.add(entry(DriveSlot {
                drive_id: format!("me@host:sr{i}"),
                device: format!("/dev/sr{i}"),
            }));
            if let Some(fp) = fp {
                let fingerprint = (!fp.is_empty()).then(|| (*fp).to_owned());
                let disc = r.new_disc(None, fingerprint);
                r.drives[i].disc = Some(disc);
            }
        }
        r
    }

    fn task(drive: Option<&str>, fingerprint: Option<&str>) -> Task {
        Task {
            id: "t-scan".into(),
            kind: TaskKind::Scan,
            drive: drive.map(str::to_owned),
            created_at: None,
            input: None,
            disc_fingerprint: fingerprint.map(str::to_owned),
            raw: serde_json::Value::Null,
        }
    }

    #[test]
    fn the_drive_field_wins_and_waits_for_a_disc() {
        let r = registry(&[Some("dvd-a"), None]);
        assert_eq!(r.route(&task(Some("sr0"), Some("dvd-b"))), Route::Drive(0));
        assert_eq!(
            r.route(&task(Some("me@host:sr1"), None)),
            Route::Wait(Some(1))
        );
        assert_eq!(
            r.route(&task(Some("other@host:sr0"), None)),
            Route::Elsewhere
        );
    }

    #[test]
    fn the_fingerprint_picks_the_drive_holding_the_disc() {
        let mut r = registry(&[Some("dvd-a"), Some("br-b"), Some("br-b")]);
        assert_eq!(r.route(&task(None, Some("br-b"))), Route::Drive(1));
        r.drives[1].running = Some(Running::new(None));
        assert_eq!(r.route(&task(None, Some("br-b"))), Route::Drive(2));
        assert_eq!(r.route(&task(None, Some("cd-c"))), Route::Elsewhere);
    }

    #[test]
    fn a_disc_is_needed_when_no_drive_of_ours_holds_it() {
        let mut r = registry(&[Some("dvd-a"), None]);
        assert_eq!(r.needed_disc(&task(None, Some("br-b"))), Some("br-b"));
        assert_eq!(r.needed_disc(&task(None, Some("dvd-a"))), None);
        assert_eq!(r.needed_disc(&task(None, None)), None);
        // Naming our empty drive and a disc: that disc is needed there.
        assert_eq!(
            r.needed_disc(&task(Some("sr1"), Some("br-b"))),
            Some("br-b")
        );
        // Another daemon's drive: not ours to ask for.
        assert_eq!(
            r.needed_disc(&task(Some("other@host:sr0"), Some("br-b"))),
            None
        );
        r.settled = false;
        assert_eq!(r.needed_disc(&task(None, Some("br-b"))), None);
        let _ = r.new_disc(Some("MATRIX".into()), Some("br-b".into()));
        assert_eq!(r.volume_of("br-b"), Some("MATRIX"));
    }

    #[test]
    fn an_unreadable_fingerprint_is_a_guess_only_when_alone() {
        assert_eq!(
            registry(&[Some(""), None]).route(&task(None, Some("br-b"))),
            Route::Drive(0)
        );
        assert_eq!(
            registry(&[Some(""), Some("dvd-a")]).route(&task(None, Some("br-b"))),
            Route::Elsewhere
        );
    }

    /// A rip naming no drive and no disc.
    fn rip() -> Task {
        let spec = crate::queue::RipSpec {
            track: 0,
            expected_size_bytes: None,
            expected_duration: None,
            directory: "/out/M/".into(),
            filename: "M.mkv".into(),
        };
        Task {
            id: "t-rip".into(),
            kind: TaskKind::Rip(spec),
            ..task(None, None)
        }
    }

    #[test]
    fn without_drive_or_fingerprint_a_rip_needs_a_single_disc() {
        assert_eq!(registry(&[None, Some("a")]).route(&rip()), Route::Drive(1));
        assert_eq!(registry(&[None, None]).route(&rip()), Route::Elsewhere);
        assert_eq!(
            registry(&[Some("a"), None, Some("b")]).route(&rip()),
            Route::Ambiguous(vec!["me@host:sr0".into(), "me@host:sr2".into()])
        );
    }

    #[test]
    fn without_drive_or_fingerprint_a_scan_goes_to_the_current_drive() {
        // The disc that went in last: sr2's (discs are numbered as they go in).
        let mut r = registry(&[Some("a"), None, Some("b")]);
        assert_eq!(r.route(&task(None, None)), Route::Drive(2));
        assert_eq!(r.current(), Some(2));
        let newer = r.new_disc(None, Some("c".into()));
        r.drives[0].disc = Some(newer);
        assert_eq!(r.route(&task(None, None)), Route::Drive(0));
        assert_eq!(r.current(), Some(0));
        // No disc anywhere: nothing to scan; the current drive is the first.
        let empty = registry(&[None, None]);
        assert_eq!(empty.route(&task(None, None)), Route::Elsewhere);
        assert_eq!(empty.current(), Some(0));
        assert_eq!(registry(&[]).current(), None);
    }

    #[test]
    fn nothing_is_judged_before_detection_settles() {
        let mut r = registry(&[Some("a"), Some("b")]);
        r.settled = false;
        assert_eq!(r.route(&task(None, None)), Route::Wait(None));
        assert_eq!(r.route(&task(Some("sr1"), None)), Route::Drive(1));
    }

    #[test]
    fn a_finished_scan_is_found_by_fingerprint() {
        let mut r = registry(&[Some("br-b")]);
        assert!(r.scan_of("br-b").is_none());
        let scan: ScanResult = serde_json::from_value(serde_json::json!({
            "disc_name": null, "disc_type": "bluray", "fingerprint": "br-b", "tracks": []
        }))
        .unwrap();
        r.drives[0].disc.as_mut().unwrap().scan = DiscScan::Done(Arc::new(scan));
        assert!(r.scan_of("br-b").is_some());
        assert!(r.scan_of("br-c").is_none());
    }

    #[test]
    fn work_outlives_its_drive_and_its_end_clears_only_itself() {
        let mut r = registry(&[Some("br-a")]);
        let a = Running::new(Some("a-rip".into()));
        let a_run = a.run;
        r.drives[0].running = Some(a);
        let slot = r.drives[0].slot.clone();
        r.remove(0).unwrap();
        assert_eq!(r.running().count(), 1, "still stoppable at shutdown");
        // The drive returns before A has ended: it is busy with A.
        r.add(entry(slot.clone()));
        assert!(!r.drives[0].is_free());
        assert!(r.finish(&slot.drive_id, a_run));
        assert!(r.drives[0].is_free());
        // B runs; a stale end (A's again, or an unknown run) leaves B alone.
        let b = Running::new(Some("b-rip".into()));
        let b_run = b.run;
        r.drives[0].running = Some(b);
        assert!(!r.finish(&slot.drive_id, a_run));
        assert!(!r.drives[0].is_free());
        // A drive gone for good: its work's end forgets it.
        r.remove(0).unwrap();
        assert!(!r.finish(&slot.drive_id, b_run));
        assert_eq!(r.running().count(), 0);
    }
}
