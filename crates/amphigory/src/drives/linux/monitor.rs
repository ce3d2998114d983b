//! [`LinuxMonitor`]: drives from `/sys/block/sr*` at start, then kernel uevents over
//! netlink, each `change` on an optical drive re-checked with `CDROM_DRIVE_STATUS` before
//! anything is reported.
//!
//! Disc facts, honestly: presence comes from the ioctl; the medium kind and volume label
//! come from udev's database (`/run/udev/data/b<major>:<minor>`, the `ID_CDROM_MEDIA_*` and
//! `ID_FS_LABEL` keys udev's `cdrom_id`/`blkid` wrote) when udev has written them, else the
//! kind only for an audio CD (`CDROM_DISC_STATUS`). The block count is
//! `/sys/block/srN/size ÷ 4`. The Linux fingerprint is built from kind, block count and
//! label only, so it is stable on Linux but does not equal the macOS one for the same disc
//! (no TOC, sessions or lead-out are read here).

use std::path::PathBuf;

use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::sys;
use super::uevent::{self, Action, Uevent};
use super::uevent_rules::{self, DriveTracker, Presence, Transition};
use crate::drives::{DetectError, DiscEvent, DiscInfo, DriveInfo, DriveMonitor};
use crate::fingerprint::DiscFacts;

/// The Linux [`DriveMonitor`].
#[derive(Debug, Clone)]
pub struct LinuxMonitor {
    sys_block: PathBuf,
    udev_data: PathBuf,
    dev: PathBuf,
}

impl Default for LinuxMonitor {
    fn default() -> Self {
        Self::new()
    }
}

impl LinuxMonitor {
    /// A monitor of the real system (`/sys/block`, `/run/udev/data`, `/dev`).
    pub fn new() -> Self {
        Self {
            sys_block: PathBuf::from("/sys/block"),
            udev_data: PathBuf::from("/run/udev/data"),
            dev: PathBuf::from("/dev"),
        }
    }

    /// `sr*` names under `/sys/block`, sorted.
    fn optical_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.sys_block)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| uevent_rules::is_sr_name(n))
            .collect();
        names.sort();
        names
    }

    fn device_path(&self, name: &str) -> PathBuf {
        self.dev.join(name)
    }

    fn drive_info(&self, name: &str) -> DriveInfo {
        let dir = self.sys_block.join(name).join("device");
        let read = |f: &str| {
            std::fs::read_to_string(dir.join(f))
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let model = match (read("vendor"), read("model")) {
            (Some(v), Some(m)) => Some(format!("{v} {m}")),
            (v, m) => v.or(m),
        };
        DriveInfo {
            device: self.device_path(name).display().to_string(),
            model,
        }
    }

    /// udev's database entry for the device, when udev has one.
    fn udev_record(&self, name: &str) -> Option<Uevent> {
        let dev = std::fs::read_to_string(self.sys_block.join(name).join("dev")).ok()?;
        let text = std::fs::read_to_string(self.udev_data.join(format!("b{}", dev.trim()))).ok()?;
        Some(uevent::parse_info_text(&text))
    }

    /// Presence per `CDROM_DRIVE_STATUS`; `Unknown` when the drive cannot be asked.
    fn ioctl_presence(&self, name: &str) -> Presence {
        sys::drive_status(&self.device_path(name))
            .map(uevent_rules::presence_from_drive_status)
            .unwrap_or(Presence::Unknown)
    }

    /// What is known about the disc now in `name`, without reading its filesystem.
    fn disc_info(&self, name: &str, ev: Option<&Uevent>) -> DiscInfo {
        let record = self.udev_record(name);
        let props = ev
            .filter(|e| uevent_rules::presence_from_properties(e) == Presence::Present)
            .or(record
                .as_ref()
                .filter(|r| uevent_rules::presence_from_properties(r) == Presence::Present));
        let device = self.device_path(name);
        let medium = props.and_then(uevent_rules::medium_kind).or_else(|| {
            sys::disc_status(&device)
                .ok()
                .and_then(uevent_rules::medium_kind_from_disc_status)
        });
        let volume_name = props.and_then(uevent_rules::volume_label);
        let blocks = std::fs::read_to_string(self.sys_block.join(name).join("size"))
            .ok()
            .and_then(|s| uevent_rules::blocks_from_sysfs_size(&s));
        let fingerprint = medium.zip(blocks).map(|(kind, blocks)| {
            let mut facts = DiscFacts::new(kind, blocks);
            facts.volume = volume_name.clone();
            facts.fingerprint()
        });
        DiscInfo {
            device: device.display().to_string(),
            volume_name,
            medium,
            fingerprint,
        }
    }

    /// What one uevent means, after re-checking the drive with the ioctl.
    fn handle(&self, tracker: &mut DriveTracker, ev: &Uevent) -> Vec<DiscEvent> {
        let Some(name) = ev
            .devname
            .as_deref()
            .filter(|_| uevent_rules::is_optical(ev))
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if ev.action == Action::Add {
            out.push(DiscEvent::DriveAdded(self.drive_info(name)));
        }
        let ioctl = match ev.action {
            Action::Add | Action::Change => self.ioctl_presence(name),
            _ => Presence::Unknown,
        };
        if let Some((_, t)) = uevent_rules::step(tracker, ev, ioctl) {
            out.push(self.transition_event(name, t, Some(ev)));
        }
        if ev.action == Action::Remove {
            out.push(DiscEvent::DriveRemoved {
                device: self.device_path(name).display().to_string(),
            });
        }
        out
    }

    fn transition_event(&self, name: &str, t: Transition, ev: Option<&Uevent>) -> DiscEvent {
        match t {
            Transition::Inserted => DiscEvent::Inserted(self.disc_info(name, ev)),
            Transition::Ejected => DiscEvent::Ejected {
                device: self.device_path(name).display().to_string(),
            },
        }
    }

    /// The drives and discs present now: the ioctl decides, udev's record when it cannot.
    fn initial(&self, tracker: &mut DriveTracker) -> Vec<DiscEvent> {
        let mut out = Vec::new();
        for name in self.optical_names() {
            out.push(DiscEvent::DriveAdded(self.drive_info(&name)));
            let record = self.udev_record(&name);
            let from_record = record
                .as_ref()
                .map_or(Presence::Unknown, uevent_rules::presence_from_properties);
            let presence = uevent_rules::combine(self.ioctl_presence(&name), from_record);
            if let Some(t) = tracker.observe(&name, presence) {
                out.push(self.transition_event(&name, t, record.as_ref()));
            }
        }
        out
    }

    async fn run(
        self,
        socket: AsyncFd<std::os::fd::OwnedFd>,
        events: mpsc::Sender<DiscEvent>,
        shutdown: CancellationToken,
    ) {
        let mut tracker = DriveTracker::new();
        let mut initial = self.initial(&mut tracker);
        initial.push(DiscEvent::Settled);
        for e in initial {
            if events.send(e).await.is_err() {
                return;
            }
        }
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let guard = tokio::select! {
                () = shutdown.cancelled() => return,
                g = socket.readable() => g,
            };
            let Ok(mut guard) = guard else {
                tracing::warn!("uevent socket failed; disc detection stopped");
                return;
            };
            let n = match guard.try_io(|fd| sys::recv_uevent(fd.get_ref(), &mut buf)) {
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    // ENOBUFS: the kernel dropped events; keep going, the next change re-checks.
                    tracing::debug!("uevent recv: {e}");
                    continue;
                }
                Err(_would_block) => continue,
            };
            let Some(ev) = buf.get(..n).and_then(uevent::parse_netlink) else {
                continue;
            };
            for e in self.handle(&mut tracker, &ev) {
                if events.send(e).await.is_err() {
                    return;
                }
            }
        }
    }
}

impl DriveMonitor for LinuxMonitor {
    fn start(
        self: Box<Self>,
        events: mpsc::Sender<DiscEvent>,
        shutdown: CancellationToken,
    ) -> Result<(), DetectError> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| DetectError::Io(std::io::Error::other(e)))?;
        // The socket is opened before the drives are listed, so no change is missed.
        let socket = {
            let _entered = handle.enter();
            sys::async_uevent_socket()?
        };
        handle.spawn((*self).run(socket, events, shutdown));
        Ok(())
    }
}
