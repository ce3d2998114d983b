//! Pure decisions on [`Uevent`]s and ioctl results: is this an optical drive, is a medium
//! present and of which kind, and the per-device state machine that folds the several
//! `change` events one insert produces into one Inserted/Ejected transition.
//!
//! Facts these decisions rest on (from the captures in `fixtures/udev`):
//! - kernel events carry no `ID_*` keys, so a kernel `change` says only "look again";
//!   presence comes from the `CDROM_DRIVE_STATUS` ioctl (or udev's `ID_CDROM_MEDIA`);
//! - one insert yields two or more `change` events, the first often before the medium is
//!   readable, and one insert may fire `change` on a second drive that holds nothing;
//! - `ID_CDROM_DVD`, `ID_CDROM_BD`, … describe what the *drive* can do; only
//!   `ID_CDROM_MEDIA_*` keys describe the disc in it.

use std::collections::HashMap;

use super::uevent::{Action, Source, Uevent};
use crate::fingerprint::MediumKind;

/// `CDS_NO_INFO` from `<linux/cdrom.h>`.
pub const CDS_NO_INFO: i32 = 0;
/// `CDS_NO_DISC`.
pub const CDS_NO_DISC: i32 = 1;
/// `CDS_TRAY_OPEN`.
pub const CDS_TRAY_OPEN: i32 = 2;
/// `CDS_DRIVE_NOT_READY`.
pub const CDS_DRIVE_NOT_READY: i32 = 3;
/// `CDS_DISC_OK`.
pub const CDS_DISC_OK: i32 = 4;
/// `CDS_AUDIO` (a `CDROM_DISC_STATUS` result).
pub const CDS_AUDIO: i32 = 100;

/// Whether a medium is in the drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// A disc is in and readable.
    Present,
    /// No disc (or the tray is open).
    Absent,
    /// This source cannot tell (kernel event, drive not ready yet).
    Unknown,
}

/// A state change worth reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// A disc arrived.
    Inserted,
    /// The disc left.
    Ejected,
}

/// True for kernel names of SCSI CD-ROM block devices: `sr` followed by digits.
pub fn is_sr_name(name: &str) -> bool {
    name.strip_prefix("sr")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Is this event about an optical drive? A whole block device (not a partition) that is
/// named `sr*` or that udev tagged `ID_CDROM=1`.
pub fn is_optical(ev: &Uevent) -> bool {
    let block = ev.subsystem.as_deref().is_none_or(|s| s == "block");
    let disk = ev.devtype.as_deref().is_none_or(|t| t == "disk");
    let named = ev.devname.as_deref().is_some_and(is_sr_name);
    block && disk && (named || ev.flag("ID_CDROM"))
}

/// Did the kernel say the medium changed (`DISK_MEDIA_CHANGE=1`, kernels ≥ 2.6.38)?
/// Older kernels send a bare `change` on the block device instead, which the monitor
/// treats the same way: every `change` on an optical drive means "look again".
pub fn is_media_change(ev: &Uevent) -> bool {
    ev.flag("DISK_MEDIA_CHANGE")
}

/// True for a media-type flag `ID_CDROM_MEDIA_<TYPE>=1`, excluding the non-type keys
/// (`_STATE`, `_SESSION_*`, `_TRACK_*`).
fn is_media_type_key(key: &str) -> bool {
    key.strip_prefix("ID_CDROM_MEDIA_").is_some_and(|t| {
        !t.starts_with("STATE") && !t.starts_with("SESSION") && !t.starts_with("TRACK")
    })
}

/// What the properties say about presence. `ID_CDROM_MEDIA=1` or any media-type flag →
/// present; a udev-processed event or snapshot of an optical drive (`ID_CDROM=1`) without
/// them → absent; a kernel event (which never carries `ID_*` keys) → unknown.
pub fn presence_from_properties(ev: &Uevent) -> Presence {
    let typed = ev
        .properties
        .iter()
        .any(|(k, v)| v == "1" && is_media_type_key(k));
    if ev.flag("ID_CDROM_MEDIA") || typed {
        Presence::Present
    } else if ev.source != Source::Kernel && ev.flag("ID_CDROM") {
        Presence::Absent
    } else {
        Presence::Unknown
    }
}

/// What a `CDROM_DRIVE_STATUS` result says about presence.
pub fn presence_from_drive_status(status: i32) -> Presence {
    match status {
        CDS_DISC_OK => Presence::Present,
        CDS_NO_DISC | CDS_TRAY_OPEN => Presence::Absent,
        // CDS_NO_INFO, CDS_DRIVE_NOT_READY (spinning up): another change event follows.
        _ => Presence::Unknown,
    }
}

/// The ioctl's answer wins when it has one; else the event's own properties.
pub fn combine(ioctl: Presence, event: Presence) -> Presence {
    match ioctl {
        Presence::Unknown => event,
        known => known,
    }
}

/// Medium kind from the media-type flags (`ID_CDROM_MEDIA_BD*`, `_DVD*`, `_CD*`), never
/// from the drive-capability flags. HD DVD, MO and MRW media give `None`; UHD cannot be
/// told from Blu-ray here, so it reports as Blu-ray.
pub fn medium_kind(ev: &Uevent) -> Option<MediumKind> {
    let flags: Vec<&str> = ev
        .properties
        .iter()
        .filter(|(k, v)| *v == "1" && is_media_type_key(k))
        .filter_map(|(k, _)| k.strip_prefix("ID_CDROM_MEDIA_"))
        .collect();
    let any = |prefix: &str| flags.iter().any(|t| t.starts_with(prefix));
    if any("BD") {
        Some(MediumKind::Bluray)
    } else if any("DVD") {
        Some(MediumKind::Dvd)
    } else if any("CD") {
        Some(MediumKind::Cd)
    } else {
        None
    }
}

/// Medium kind from `CDROM_DISC_STATUS`: only an audio CD is certain (data discs of every
/// kind answer `CDS_DATA_1`).
pub fn medium_kind_from_disc_status(status: i32) -> Option<MediumKind> {
    (status == CDS_AUDIO).then_some(MediumKind::Cd)
}

/// Volume label from `ID_FS_LABEL` (what blkid read during udev's probing), when present
/// and not blank.
pub fn volume_label(ev: &Uevent) -> Option<String> {
    ev.get("ID_FS_LABEL")
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
}

/// Blocks of 2048 bytes from `/sys/block/srN/size` (counted in 512-byte sectors).
pub fn blocks_from_sysfs_size(text: &str) -> Option<u64> {
    text.trim()
        .parse::<u64>()
        .ok()
        .map(|sectors| sectors / 4)
        .filter(|b| *b > 0)
}

/// Per-device presence state: only changes emit transitions. A device never seen counts as
/// empty, so the first `Present` is an insert.
#[derive(Debug, Default)]
pub struct DriveTracker {
    present: HashMap<String, bool>,
}

impl DriveTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records what was observed on `device`; `Unknown` changes nothing.
    pub fn observe(&mut self, device: &str, presence: Presence) -> Option<Transition> {
        let now = match presence {
            Presence::Present => true,
            Presence::Absent => false,
            Presence::Unknown => return None,
        };
        let was = self.present.insert(device.to_owned(), now).unwrap_or(false);
        match (was, now) {
            (false, true) => Some(Transition::Inserted),
            (true, false) => Some(Transition::Ejected),
            _ => None,
        }
    }

    /// Forgets a device (it was removed); returns whether it held a disc.
    pub fn forget(&mut self, device: &str) -> bool {
        self.present.remove(device).unwrap_or(false)
    }

    /// Whether the device is known to hold a disc.
    pub fn is_present(&self, device: &str) -> bool {
        self.present.get(device).copied().unwrap_or(false)
    }
}

/// One event through the state machine: for an optical device with a name, `add`,
/// `change` and snapshots record the presence (`ioctl` — the drive's own answer, checked
/// by the caller just now — wins over the event's properties); `remove` of a device that
/// held a disc is an eject. Returns the device name and the transition, if any.
pub fn step<'a>(
    tracker: &mut DriveTracker,
    ev: &'a Uevent,
    ioctl: Presence,
) -> Option<(&'a str, Transition)> {
    let name = ev.devname.as_deref().filter(|_| is_optical(ev))?;
    let transition = match ev.action {
        Action::Add | Action::Change | Action::Snapshot => {
            tracker.observe(name, combine(ioctl, presence_from_properties(ev)))
        }
        Action::Remove => tracker.forget(name).then_some(Transition::Ejected),
        Action::Other(_) => None,
    }?;
    Some((name, transition))
}
