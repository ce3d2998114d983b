//! Platforms with no notification backend: every notification is "unavailable", which
//! the daemon logs once.

use super::{Notification, Notifier, NotifyError};

/// Says nothing.
#[derive(Debug, Default)]
pub(super) struct NoNotifier;

impl Notifier for NoNotifier {
    async fn notify(&mut self, _note: &Notification) -> Result<(), NotifyError> {
        Err(NotifyError::Unavailable(
            "no notification backend on this platform".into(),
        ))
    }
}
