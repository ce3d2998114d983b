//! What the control socket needs from the daemon's drive services, as traits the daemon
//! implements: labelling drives and ejecting discs. The server depends on these, not on
//! the daemon's types, so it sits below the daemon that assembles it.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use amphigory_wire::drive::DriveStatus;

/// Why a port refused; its text goes to the client as it is.
pub type PortError = Box<dyn std::error::Error + Send + Sync>;

/// A future an [`DiscEjector`] returns.
pub type EjectFuture<'a> = Pin<Box<dyn Future<Output = Result<(), PortError>> + Send + 'a>>;

/// The persistent drive labels.
pub trait DriveLabels: Debug + Send + Sync {
    /// Sets (or, for an empty `label`, removes) the label of `drive_id`; returns the
    /// label now in force. Blocking: the server calls it from a blocking thread.
    fn set_label(&self, drive_id: &str, label: &str) -> Result<Option<String>, PortError>;

    /// Puts each drive's label (or none) on its drive object.
    fn apply_labels(&self, drives: &mut [DriveStatus]);
}

/// Ejects discs.
pub trait DiscEjector: Debug + Send + Sync {
    /// Ejects the disc in `device` (drive `drive_id`).
    fn eject_disc<'a>(&'a self, drive_id: &'a str, device: &'a str) -> EjectFuture<'a>;
}
