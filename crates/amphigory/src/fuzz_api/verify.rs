//! Matroska headers: what makemkvcon (or a failing disk) left at the start of a rip's
//! output, read by [`crate::verify::read_header_from`] after every rip.

use std::io::Cursor;

use super::{Violation, ensure};
use crate::sim::matroska;
use crate::verify::{HeaderError, read_header_from};

const MKV: &str = "matroska header";

/// `data` as the start of a rip's output: reading its header ends (the read budget turns
/// a header that loops into an error), and what it finds is a Matroska doctype and a
/// finite, non-negative duration. The first 8 bytes are also taken as a duration in
/// seconds: the simulated makemkvcon's header for it reads back with that duration.
pub fn matroska_header(data: &[u8]) -> Result<(), Violation> {
    match read_header_from(Cursor::new(data)) {
        Ok(facts) => {
            ensure(
                facts.doc_type == "matroska" || facts.doc_type == "webm",
                MKV,
                || format!("accepted doctype {:?}", facts.doc_type),
            )?;
            ensure(
                facts
                    .duration_seconds
                    .is_none_or(|s| s.is_finite() && s >= 0.0),
                MKV,
                || format!("duration {:?}", facts.duration_seconds),
            )?;
        }
        Err(HeaderError::Io(e)) => {
            // Bytes in memory cannot fail to be read: an I/O error here is a reader bug.
            return Err(Violation {
                decoder: MKV,
                property: format!("an in-memory read failed with an I/O error: {e}"),
            });
        }
        Err(_) => {}
    }
    round_trip(data)
}

/// The simulated header of the duration in `data`'s first 8 bytes reads back with it.
fn round_trip(data: &[u8]) -> Result<(), Violation> {
    let Some(first) = data.first_chunk::<8>() else {
        return Ok(());
    };
    let seconds = f64::from_le_bytes(*first).abs();
    // Durations a disc can have (up to a year); others say nothing about the reader.
    if !seconds.is_finite() || seconds > 366.0 * 86_400.0 {
        return Ok(());
    }
    let written = matroska::header(seconds, 0);
    let read = read_header_from(Cursor::new(&written));
    let back = read.as_ref().ok().and_then(|facts| facts.duration_seconds);
    let close = back.is_some_and(|b| (b - seconds).abs() <= 1e-6 * seconds.max(1.0));
    ensure(close, MKV, || {
        format!("a header written for {seconds} s reads back as {read:?}")
    })
}
