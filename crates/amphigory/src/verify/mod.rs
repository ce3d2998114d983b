//! Proof after a rip (SPEC §11.2): the finished file is opened and its Matroska header
//! read ([`header`]: EBML doctype, Segment Info duration — never the whole file), then
//! its size and duration are compared with what the task or the disc's scan expected.
//!
//! [`verify`] is pure: the header facts (or why they could not be read) in, a
//! [`Verification`] out. [`check_file`] adds the one read of the file.

mod ebml;
pub mod header;

use std::path::Path;

use amphigory_wire::result::Verification;

pub use header::{HeaderError, MatroskaFacts, read_header, read_header_from};

use crate::makemkv::classify::duration_seconds;

/// Sizes within this many percent count as a match (MakeMKV's announced size is an
/// estimate made before the rip).
pub const SIZE_TOLERANCE_PERCENT: u64 = 5;
/// Durations within this many seconds count as a match (MakeMKV rounds to the second).
pub const DURATION_TOLERANCE_SECONDS: f64 = 2.0;

/// What a rip was expected to produce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// Bytes: the task's `expected_size_bytes`, else the scan's title size.
    pub size_bytes: Option<u64>,
    /// `H:MM:SS`: the task's `expected_duration`, else the scan's.
    pub duration: Option<String>,
}

/// Compares a finished file with what was expected. `header` is what [`read_header`]
/// found (or why it could not).
pub fn verify(
    expected: &Expected,
    actual_size: u64,
    header: &Result<MatroskaFacts, HeaderError>,
) -> Verification {
    let size_ok = expected.size_bytes.map(|e| {
        let (e, a) = (u128::from(e), u128::from(actual_size));
        a.abs_diff(e) * 100 <= e * u128::from(SIZE_TOLERANCE_PERCENT)
    });
    let actual_seconds = header.as_ref().ok().and_then(|h| h.duration_seconds);
    let expected_seconds = expected
        .duration
        .as_deref()
        .and_then(duration_seconds)
        .map(f64::from);
    let duration_ok = match (expected_seconds, actual_seconds) {
        (Some(e), Some(a)) => Some((a - e).abs() <= DURATION_TOLERANCE_SECONDS),
        // A header without a duration cannot match an expected one.
        (Some(_), None) if header.is_ok() => Some(false),
        _ => None,
    };
    Verification {
        expected_size_bytes: expected.size_bytes,
        actual_size_bytes: actual_size,
        size_ok,
        expected_duration: expected.duration.clone(),
        actual_duration: actual_seconds.map(clock_text),
        duration_ok,
        container_ok: header.is_ok(),
    }
}

/// Reads `path`'s header and compares it with `expected`. Blocking (a few small reads).
pub fn check_file(path: &Path, expected: &Expected) -> (Verification, Option<HeaderError>) {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let header = read_header(path);
    let verification = verify(expected, size, &header);
    (verification, header.err())
}

/// Seconds as `H:MM:SS`, rounded to the nearest second (MakeMKV's format).
pub fn clock_text(seconds: f64) -> String {
    // Saturating float-to-int; a negative or NaN duration reads as 0.
    let total = seconds.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(seconds: f64) -> Result<MatroskaFacts, HeaderError> {
        Ok(MatroskaFacts {
            doc_type: "matroska".into(),
            duration_seconds: Some(seconds),
        })
    }

    #[test]
    fn sizes_within_five_percent_and_durations_within_two_seconds_match() {
        let expected = Expected {
            size_bytes: Some(1_000),
            duration: Some("1:45:00".into()),
        };
        let v = verify(&expected, 1_049, &facts(6_301.9));
        assert_eq!(v.size_ok, Some(true));
        assert_eq!(v.duration_ok, Some(true));
        assert_eq!(v.actual_duration.as_deref(), Some("1:45:02"));
        assert!(v.container_ok);
        let v = verify(&expected, 1_051, &facts(6_297.9));
        assert_eq!(v.size_ok, Some(false));
        assert_eq!(v.duration_ok, Some(false));
    }

    #[test]
    fn nothing_expected_is_not_a_mismatch() {
        let v = verify(&Expected::default(), 10, &facts(3.0));
        assert_eq!((v.size_ok, v.duration_ok), (None, None));
        assert_eq!(v.actual_duration.as_deref(), Some("0:00:03"));
    }

    #[test]
    fn an_unreadable_header_is_not_a_container() {
        let expected = Expected {
            size_bytes: Some(10),
            duration: Some("0:00:10".into()),
        };
        let v = verify(&expected, 10, &Err(HeaderError::NotMatroska("EBML".into())));
        assert!(!v.container_ok);
        assert_eq!(v.duration_ok, None, "no header: the duration is unknown");
        assert_eq!(v.size_ok, Some(true));
    }

    #[test]
    fn clock_text_is_makemkvs_format() {
        assert_eq!(clock_text(7_103.4), "1:58:23");
        assert_eq!(clock_text(59.6), "0:01:00");
        assert_eq!(clock_text(-1.0), "0:00:00");
        assert_eq!(clock_text(f64::NAN), "0:00:00");
    }
}
