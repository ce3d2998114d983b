//! The `PAUSED` marker (SPEC §4): present = paused, content = when (RFC 3339). It lives
//! in the queue directory itself, so the webapp, the menu, the CLI and every daemon see
//! the same state.

use std::fs;
use std::io;

use chrono::Local;

use super::layout::PAUSED;
use super::{Queue, QueueError};
use crate::fsio;

impl Queue {
    /// True when the `PAUSED` marker exists.
    pub fn is_paused(&self) -> bool {
        fsio::exists(&self.layout.paused_marker())
    }

    /// When the queue was paused, as the marker says (`None` when not paused; an empty
    /// string when the marker has no readable content).
    pub fn paused_since(&self) -> Option<String> {
        let path = self.layout.paused_marker();
        match fs::read_to_string(&path) {
            Ok(text) => Some(text.trim().to_owned()),
            Err(_) if fsio::exists(&path) => Some(String::new()),
            Err(_) => None,
        }
    }

    /// Creates (atomically, content = now) or removes the marker. Pausing an already
    /// paused queue keeps the original timestamp. Returns whether anything changed.
    pub fn set_paused(&self, paused: bool) -> Result<bool, QueueError> {
        let path = self.layout.paused_marker();
        if paused {
            if self.is_paused() {
                return Ok(false);
            }
            let stamp = format!("{}\n", Local::now().to_rfc3339());
            return match fsio::write_atomic(self.layout.root(), PAUSED, stamp.as_bytes(), false) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(QueueError::io("create", path, e)),
            };
        }
        fsio::remove_any(&path).map_err(|e| QueueError::io("remove", path, e))
    }
}
