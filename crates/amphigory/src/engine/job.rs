//! A claimed task and the drive it runs on: what a run starts from, shared by the code
//! that starts it (`claims`), runs it (`task_run`) and records it (`recorded`).

use std::sync::{Arc, OnceLock};

use amphigory_wire::scan::ScanResult;
use tokio_util::sync::CancellationToken;

use super::{DriveSlot, StopReason};
use crate::queue::Claim;

/// A claimed task and the drive it runs on.
pub(crate) struct Job {
    pub(crate) claim: Arc<Claim>,
    pub(crate) drive: DriveSlot,
    /// Fingerprint of the disc in the drive, when detection read it.
    pub(crate) disc_fingerprint: Option<String>,
    /// Its volume name, when detection read it.
    pub(crate) disc_volume: Option<String>,
    /// A finished scan of this disc: a scan task is answered with it, no makemkvcon.
    pub(crate) cached_scan: Option<Arc<ScanResult>>,
    pub(crate) cancel: CancellationToken,
    pub(crate) reason: Arc<OnceLock<StopReason>>,
}
