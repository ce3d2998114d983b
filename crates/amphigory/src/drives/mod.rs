//! Disc detection (SPEC §9.2): each OS behind one small trait, [`DriveMonitor`], with a
//! `cfg`-selected implementation; the decisions (is this an optical disc? did the medium
//! change?) are pure functions tested on recorded captures on every platform.
//!
//! The drive registry that consumes these events (routing, proactive scans, labels) is
//! the engine's (`engine::registry`); simulated drives report through
//! [`simulated::SimMonitor`]. Each monitor also says how its drives eject
//! ([`DriveMonitor::ejector`]), so the daemon never asks which kind of drive it has; the
//! drive ids (SPEC §9.1) and their labels (`labels`) live here too.

pub mod drutil;
pub mod eject;
pub mod labels;
#[cfg(target_os = "linux")]
pub mod linux;
pub mod macos;
pub mod simulated;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use crate::core::DiscInfo;
pub use eject::{EjectError, Ejector};

/// An optical drive the OS reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveInfo {
    /// Device path: `/dev/sr0` on Linux, `/dev/rdisk4` on macOS.
    pub device: String,
    /// Vendor and model, when known.
    pub model: Option<String>,
}

/// What a monitor reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscEvent {
    /// A drive appeared (also sent for every drive present at start-up).
    DriveAdded(DriveInfo),
    /// A drive went away.
    DriveRemoved {
        /// Its device path.
        device: String,
    },
    /// A disc is in (also sent for every disc present at start-up).
    Inserted(DiscInfo),
    /// The disc left the drive.
    Ejected {
        /// Device path of the drive.
        device: String,
    },
    /// Everything present at start-up has been reported: from here on, a drive without a
    /// disc really is empty (routing may judge "the only drive with a disc").
    Settled,
}

/// Why a monitor could not start.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// An OS call failed.
    #[error("disc detection: {0}")]
    Io(#[from] std::io::Error),
    /// The platform has no monitor.
    #[error("disc detection is not available on this platform")]
    Unsupported,
}

/// Watches the OS for drives and discs. `start` reports the drives and discs present now,
/// then changes, on `events`, until `shutdown`; it must not block the caller (platform
/// run loops live on their own thread or task).
pub trait DriveMonitor: Send {
    /// Starts watching.
    fn start(
        self: Box<Self>,
        events: mpsc::Sender<DiscEvent>,
        shutdown: CancellationToken,
    ) -> Result<(), DetectError>;

    /// How this monitor's drives eject a disc: the platform's command, unless the monitor
    /// knows better (simulated drives).
    fn ejector(&self) -> Ejector {
        Ejector::platform()
    }
}

/// `daemon_id + ":" + device name without /dev/` (SPEC §9.1).
pub fn drive_id(daemon_id: &str, device: &str) -> String {
    format!(
        "{daemon_id}:{}",
        device.strip_prefix("/dev/").unwrap_or(device)
    )
}

/// The platform's monitor: uevents on Linux, DiskArbitration on macOS; `None` elsewhere.
pub fn platform_monitor() -> Option<Box<dyn DriveMonitor>> {
    #[cfg(target_os = "linux")]
    return Some(Box::new(linux::LinuxMonitor::new()));
    #[cfg(target_os = "macos")]
    return Some(Box::new(macos::MacosMonitor::new()));
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    None
}
