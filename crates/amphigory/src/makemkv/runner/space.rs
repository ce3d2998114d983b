//! The free-space ledger (SPEC §11.2): before a rip starts, its expected size plus a
//! margin must fit in its output volume's free space *minus what the rips already running
//! to that volume still need*. Two drives ripping to one nearly full disk must not both
//! start and both fail at 90 %.
//!
//! Reservations are kept per volume (the device id of the output directory) and released
//! when the rip ends (the guard is dropped). A running rip still needs its expected size
//! less what it has written (the free space already counts what it wrote).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use amphigory_wire::ErrorCode;

use super::RunError;
use crate::fsio::{free_bytes, volume_of};

/// One running rip's claim on its volume.
#[derive(Debug)]
struct Reservation {
    expected: u64,
    written: AtomicU64,
}

impl Reservation {
    fn still_needed(&self) -> u64 {
        self.expected
            .saturating_sub(self.written.load(Ordering::Relaxed))
    }
}

/// Reservations per volume (device id). Cheap to share in an `Arc`.
#[derive(Debug, Default)]
pub struct SpaceLedger {
    // A std mutex: held only for a statvfs and some arithmetic, never across an await.
    volumes: Mutex<HashMap<u64, Vec<Arc<Reservation>>>>,
}

/// A rip's reservation; released when dropped.
#[derive(Debug)]
pub struct SpaceGuard {
    ledger: Arc<SpaceLedger>,
    device: u64,
    reservation: Arc<Reservation>,
}

impl SpaceGuard {
    /// Records how much the rip has written so far.
    pub fn set_written(&self, bytes: u64) {
        self.reservation.written.store(bytes, Ordering::Relaxed);
    }
}

impl Drop for SpaceGuard {
    fn drop(&mut self) {
        let mut volumes = self.ledger.lock();
        if let Some(list) = volumes.get_mut(&self.device) {
            list.retain(|r| !Arc::ptr_eq(r, &self.reservation));
            if list.is_empty() {
                volumes.remove(&self.device);
            }
        }
    }
}

impl SpaceLedger {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<Arc<Reservation>>>> {
        self.volumes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves `expected` bytes on `dir`'s volume if `expected + margin` fits in its free
    /// space less what running rips to it still need; `OUTPUT_WRITE_FAILED` naming the
    /// volume, what is needed and what is free otherwise.
    pub fn reserve(
        self: &Arc<Self>,
        dir: &Path,
        expected: u64,
        margin: u64,
    ) -> Result<SpaceGuard, RunError> {
        let cannot_check = |e: std::io::Error| {
            write_failed(
                format!("Cannot check free space in {}", dir.display()),
                Some(e.to_string()),
            )
        };
        let device = std::fs::metadata(dir).map_err(cannot_check)?.dev();
        let mut volumes = self.lock();
        let free = free_bytes(dir).map_err(cannot_check)?;
        let running = volumes.get(&device).map_or(&[][..], Vec::as_slice);
        let held: u64 = running.iter().map(|r| r.still_needed()).sum();
        let available = free.saturating_sub(held);
        let needed = expected.saturating_add(margin);
        if available < needed {
            return Err(no_room(dir, needed, available, held, running.len()));
        }
        let reservation = Arc::new(Reservation {
            expected,
            written: AtomicU64::new(0),
        });
        volumes.entry(device).or_default().push(reservation.clone());
        Ok(SpaceGuard {
            ledger: self.clone(),
            device,
            reservation,
        })
    }

    /// Bytes the running rips to `dir`'s volume still need (for `status` and `doctor`).
    pub fn held_on(&self, dir: &Path) -> u64 {
        let Ok(device) = std::fs::metadata(dir).map(|m| m.dev()) else {
            return 0;
        };
        self.lock()
            .get(&device)
            .map_or(0, |list| list.iter().map(|r| r.still_needed()).sum())
    }
}

fn no_room(dir: &Path, needed: u64, available: u64, held: u64, running: usize) -> RunError {
    let gb = |b: u64| b as f64 / 1e9;
    let volume = volume_of(dir);
    let mut message = format!(
        "Not enough free space: needs {:.1} GB on {}, {:.1} GB free",
        gb(needed),
        volume.display(),
        gb(available)
    );
    if running > 0 {
        let rips = if running == 1 { "rip" } else { "rips" };
        message.push_str(&format!(
            " ({:.1} GB more held for {running} running {rips})",
            gb(held)
        ));
    }
    write_failed(
        message,
        Some(format!(
            "output directory {}; needed {needed} bytes (expected size + margin), \
             available {available} bytes after {held} bytes reserved by running rips",
            dir.display()
        )),
    )
}

fn write_failed(message: String, detail: Option<String>) -> RunError {
    RunError::failed(ErrorCode::OutputWriteFailed, message, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_rip_counts_what_the_first_still_needs() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Arc::new(SpaceLedger::default());
        let free = free_bytes(dir.path()).unwrap();
        // Each rip needs about two thirds of the free space: one fits, two do not.
        let expected = free / 3 * 2;
        let first = ledger.reserve(dir.path(), expected, 0).unwrap();
        assert_eq!(ledger.held_on(dir.path()), expected);
        let err = ledger.reserve(dir.path(), expected, 0).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("needs") && text.contains("1 running rip"),
            "{text}"
        );
        // What the first rip wrote no longer counts against the second twice.
        first.set_written(expected);
        let second = ledger.reserve(dir.path(), expected / 4, 0).unwrap();
        drop((first, second));
        assert_eq!(ledger.held_on(dir.path()), 0);
    }
}
