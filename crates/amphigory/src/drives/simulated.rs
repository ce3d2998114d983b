//! Disc detection for simulated drives (`--simulate`, SPEC §9.3): the same
//! [`DriveMonitor`] path as real drives, fed by the sim directory's state files instead
//! of the OS. A file-system watcher on the directory wakes the monitor; it re-reads every
//! drive and reports what changed since it last looked. No polling: the state files are
//! only ever replaced by rename (rig eject and insert, the simulated makemkvcon's own
//! `eject@P`), so every change shows up as an event and every read sees a whole file.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::Arc;

use notify::RecommendedWatcher;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::eject::{Eject, EjectError, EjectFuture, Ejector, platform_eject};
use super::{DetectError, DiscEvent, DiscInfo, DriveInfo, DriveMonitor};
use crate::sim::SimRig;

/// Model reported for every simulated drive.
const MODEL: &str = "Amphigory simulated drive";

/// Watches the simulated drives of a [`SimRig`].
#[derive(Debug)]
pub struct SimMonitor {
    rig: Arc<SimRig>,
}

impl SimMonitor {
    /// A monitor of `rig`'s drives.
    pub fn new(rig: Arc<SimRig>) -> Self {
        Self { rig }
    }
}

impl DriveMonitor for SimMonitor {
    fn ejector(&self) -> Ejector {
        Ejector::new(SimEject::new(self.rig.clone()))
    }

    fn start(
        self: Box<Self>,
        events: mpsc::Sender<DiscEvent>,
        shutdown: CancellationToken,
    ) -> Result<(), DetectError> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| DetectError::Io(io::Error::other(e)))?;
        // The watcher exists before the drives are first read, so no change is missed.
        let wake = Arc::new(Notify::new());
        let watcher = crate::fswatch::watch_dirs(
            &[self.rig.dir()],
            notify::RecursiveMode::NonRecursive,
            wake.clone(),
            is_state_file,
        )
        .map_err(io::Error::other)?;
        handle.spawn(run(self.rig, watcher, wake, events, shutdown));
        Ok(())
    }
}

/// Ejects the rig's drives by taking the disc out of the rig; any other device (a real
/// drive named while simulating) gets the platform's command, as before the rig existed.
#[derive(Debug, Clone)]
pub struct SimEject {
    rig: Arc<SimRig>,
}

impl SimEject {
    /// Ejects `rig`'s drives.
    pub fn new(rig: Arc<SimRig>) -> Self {
        Self { rig }
    }

    async fn eject_disc(&self, drive_id: &str, device: &str) -> Result<(), EjectError> {
        if !self.rig.devices().iter().any(|d| d == device) {
            return platform_eject(device).await;
        }
        let (rig, dev) = (self.rig.clone(), device.to_owned());
        let ejected = tokio::task::spawn_blocking(move || rig.eject(&dev))
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e)));
        ejected.map_err(|source| EjectError::Sim {
            device: device.to_owned(),
            source,
        })?;
        tracing::info!("simulated disc taken out of {drive_id}");
        Ok(())
    }
}

impl Eject for SimEject {
    fn eject<'a>(&'a self, drive_id: &'a str, device: &'a str) -> EjectFuture<'a> {
        Box::pin(self.eject_disc(drive_id, device))
    }
}

/// Only `sim<N>.json` counts: not the temp files the atomic writes go through, nor the
/// pid files. By name, not full path: FSEvents reports canonical paths (`/private/var/…`).
fn is_state_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("sim"))
        .and_then(|n| n.strip_suffix(".json"))
        .is_some_and(|n| n.parse::<u32>().is_ok())
}

/// One drive as last read: its device and, when a disc is in, the disc's spec (built-in
/// name or transcript path, to tell one disc from another) and what detection reports.
#[derive(Debug, Clone)]
struct Slot {
    device: String,
    disc: Option<(String, DiscInfo)>,
}

/// What was last reported, per device: the spec of the disc in it, if any.
type Reported = BTreeMap<String, Option<String>>;

/// The monitor's task: report the start-up state, `Settled`, then every change, until
/// `shutdown` or until nobody listens. Dropping `_watcher` at the end stops the wake-ups.
async fn run(
    rig: Arc<SimRig>,
    _watcher: RecommendedWatcher,
    wake: Arc<Notify>,
    events: mpsc::Sender<DiscEvent>,
    shutdown: CancellationToken,
) {
    let mut reported = Reported::new();
    let mut settled = false;
    loop {
        match read_slots(&rig).await {
            Ok(now) => {
                if !send_all(&events, &shutdown, changes(&reported, &now)).await {
                    return;
                }
                reported = remember(&now);
            }
            // The next change reads again (from scratch, if this was the first read).
            Err(e) => tracing::warn!(error = %e, "cannot read the simulated drives"),
        }
        if !settled {
            // Sent even after a failed first read, so the daemon does not wait forever.
            settled = true;
            if !send_all(&events, &shutdown, vec![DiscEvent::Settled]).await {
                return;
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = events.closed() => return,
            () = wake.notified() => {}
        }
    }
}

/// Reads every drive and its disc, off the runtime's threads (file reads block).
async fn read_slots(rig: &Arc<SimRig>) -> io::Result<Vec<Slot>> {
    let rig = Arc::clone(rig);
    tokio::task::spawn_blocking(move || {
        rig.drives()?
            .into_iter()
            .map(|drive| {
                let info = drive.disc_info()?;
                let disc = drive.state.disc.clone().zip(info);
                Ok(Slot {
                    device: drive.state.device,
                    disc,
                })
            })
            .collect()
    })
    .await
    .map_err(io::Error::other)?
}

/// The events that take `reported` to `now`, in slot order: a new drive and its disc, a
/// disc out, a disc in, a different disc (out, then in), a drive gone.
fn changes(reported: &Reported, now: &[Slot]) -> Vec<DiscEvent> {
    let mut out = Vec::new();
    for slot in now {
        let before = reported.get(&slot.device);
        if before.is_none() {
            out.push(DiscEvent::DriveAdded(DriveInfo {
                device: slot.device.clone(),
                model: Some(MODEL.into()),
            }));
        }
        let was = before.and_then(Option::as_deref);
        let is = slot.disc.as_ref().map(|(spec, _)| spec.as_str());
        if was.is_some() && was != is {
            out.push(DiscEvent::Ejected {
                device: slot.device.clone(),
            });
        }
        if let Some((_, info)) = slot.disc.as_ref().filter(|_| is != was) {
            out.push(DiscEvent::Inserted(info.clone()));
        }
    }
    for (device, disc) in reported {
        if now.iter().all(|s| &s.device != device) {
            if disc.is_some() {
                out.push(DiscEvent::Ejected {
                    device: device.clone(),
                });
            }
            out.push(DiscEvent::DriveRemoved {
                device: device.clone(),
            });
        }
    }
    out
}

/// What `now` reports, to diff the next read against.
fn remember(now: &[Slot]) -> Reported {
    now.iter()
        .map(|s| {
            (
                s.device.clone(),
                s.disc.as_ref().map(|(spec, _)| spec.clone()),
            )
        })
        .collect()
}

/// Sends `batch` in order; `false` when the monitor should stop (shutdown, or nobody
/// listens any more).
async fn send_all(
    events: &mpsc::Sender<DiscEvent>,
    shutdown: &CancellationToken,
    batch: Vec<DiscEvent>,
) -> bool {
    for event in batch {
        tokio::select! {
            () = shutdown.cancelled() => return false,
            sent = events.send(event) => if sent.is_err() { return false },
        }
    }
    true
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::fingerprint::MediumKind;

    const WAIT: Duration = Duration::from_secs(5);

    async fn next(rx: &mut mpsc::Receiver<DiscEvent>) -> DiscEvent {
        tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("no event in time")
            .expect("monitor stopped")
    }

    fn added(device: &str) -> DiscEvent {
        DiscEvent::DriveAdded(DriveInfo {
            device: device.into(),
            model: Some(MODEL.into()),
        })
    }

    fn inserted(event: DiscEvent) -> DiscInfo {
        match event {
            DiscEvent::Inserted(info) => info,
            other => panic!("expected Inserted, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn reports_start_up_then_ejects_and_inserts() {
        let discs = ["demo-bluray".to_owned(), "demo-dvd".to_owned()];
        let rig = Arc::new(SimRig::create_temp(&discs, 2000.0, None).unwrap());
        let expected: Vec<DiscInfo> = rig
            .drives()
            .unwrap()
            .iter()
            .map(|d| d.disc_info().unwrap().unwrap())
            .collect();
        let (tx, mut rx) = mpsc::channel(16);
        let shutdown = CancellationToken::new();
        Box::new(SimMonitor::new(Arc::clone(&rig)))
            .start(tx, shutdown.clone())
            .unwrap();

        assert_eq!(next(&mut rx).await, added("/dev/sim0"));
        let bluray = inserted(next(&mut rx).await);
        assert_eq!(bluray, expected[0]);
        assert_eq!(bluray.device, "/dev/sim0");
        assert_eq!(bluray.volume_name.as_deref(), Some("CLOCKWORK_LIGHTHOUSE"));
        assert_eq!(bluray.medium, Some(MediumKind::Bluray));
        let bluray_fp = bluray.fingerprint.clone().unwrap();
        assert!(bluray_fp.starts_with("br-"));
        assert_eq!(next(&mut rx).await, added("/dev/sim1"));
        let dvd = inserted(next(&mut rx).await);
        assert_eq!(dvd, expected[1]);
        assert_eq!(dvd.medium, Some(MediumKind::Dvd));
        assert!(dvd.fingerprint.as_deref().unwrap().starts_with("dvd-"));
        assert_eq!(next(&mut rx).await, DiscEvent::Settled);

        rig.eject("/dev/sim1").unwrap();
        let ejected = DiscEvent::Ejected {
            device: "/dev/sim1".into(),
        };
        assert_eq!(next(&mut rx).await, ejected);
        rig.insert("/dev/sim1", "demo-bluray").unwrap();
        let swapped = inserted(next(&mut rx).await);
        assert_eq!(swapped.device, "/dev/sim1");
        assert_eq!(swapped.fingerprint, Some(bluray_fp));

        shutdown.cancel();
        let end = tokio::time::timeout(WAIT, rx.recv()).await.unwrap();
        assert_eq!(end, None);
    }

    fn slot(device: &str, spec: Option<&str>) -> Slot {
        Slot {
            device: device.into(),
            disc: spec.map(|s| {
                let info = DiscInfo {
                    device: device.into(),
                    volume_name: Some(s.into()),
                    medium: None,
                    fingerprint: None,
                };
                (s.to_owned(), info)
            }),
        }
    }

    #[test]
    fn a_different_disc_is_out_then_in_and_a_lost_drive_is_removed() {
        let before = remember(&[slot("/dev/sim0", Some("a")), slot("/dev/sim1", Some("b"))]);
        let now = [slot("/dev/sim0", Some("c"))];
        let events = changes(&before, &now);
        let out = |d: &str| DiscEvent::Ejected { device: d.into() };
        assert_eq!(events.len(), 4, "{events:?}");
        assert_eq!(events[0], out("/dev/sim0"));
        assert_eq!(
            inserted(events[1].clone()).volume_name.as_deref(),
            Some("c")
        );
        assert_eq!(events[2], out("/dev/sim1"));
        let removed = DiscEvent::DriveRemoved {
            device: "/dev/sim1".into(),
        };
        assert_eq!(events[3], removed);
        assert!(changes(&remember(&now), &now).is_empty());
    }

    #[test]
    fn only_state_files_wake() {
        use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};
        use notify::{Event, EventKind};
        let is_relevant = |e: &Event| crate::fswatch::wakes(e, is_state_file);
        let ev = |kind, path: &str| Event::new(kind).add_path(path.into());
        let renamed = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert!(is_relevant(&ev(renamed, "/s/sim0.json")));
        let create = EventKind::Create(CreateKind::File);
        assert!(!is_relevant(&ev(create, "/s/.amphigory.x.tmp")));
        assert!(!is_relevant(&ev(create, "/s/sim0.pid")));
        let open = EventKind::Access(AccessKind::Open(AccessMode::Read));
        assert!(!is_relevant(&ev(open, "/s/sim0.json")));
    }
}
