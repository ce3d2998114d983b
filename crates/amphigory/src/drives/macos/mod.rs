//! macOS disc detection with DiskArbitration (SPEC §9.2).
//!
//! - [`disk_rules`]: pure decisions on a plain description record (compiled and tested on
//!   every platform).
//! - `ffi` (macOS only): the DiskArbitration session on its own thread and run loop, the
//!   only file with `unsafe`, and `MacosMonitor`, the [`crate::drives::DriveMonitor`].
//!
//! macOS has no device node for an empty drive: a drive is known by the medium in it, so
//! each disc arrival reports `DriveAdded` then `Inserted` for `/dev/rdiskN`, and each
//! departure `Ejected` then `DriveRemoved`.

pub mod disk_rules;

#[cfg(target_os = "macos")]
mod ffi;

#[cfg(target_os = "macos")]
pub use ffi::MacosMonitor;
