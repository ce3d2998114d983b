//! Linux disc detection (SPEC §9.2) without libudev: the kernel's uevents over netlink for
//! `sr*` block devices, each checked with the `CDROM_DRIVE_STATUS` ioctl before an
//! Inserted/Ejected event is reported.
//!
//! - [`uevent`]: pure parsing of netlink payloads and `udevadm` text into [`uevent::Uevent`].
//! - [`uevent_rules`]: pure decisions (optical or not, medium present and kind, the per-device
//!   state machine).
//! - `sys`: the ioctls and the netlink socket (the only `unsafe`).
//! - [`LinuxMonitor`]: the [`crate::drives::DriveMonitor`] tying them together.

mod monitor;
pub(crate) mod sys;
pub mod uevent;
pub mod uevent_rules;

pub use monitor::LinuxMonitor;
