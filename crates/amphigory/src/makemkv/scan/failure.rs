//! Why a scan failed: [`ScanFailureKind`] (finer than the wire code, for the runner's
//! retry decision) and [`ScanFailure`] (the wire error plus its kind).

use amphigory_wire::{ErrorCode, TaskError};

use crate::makemkv::messages::{self, code};

/// One `MSG` line kept for error details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentMessage {
    /// Message code.
    pub code: u32,
    /// Localised text.
    pub text: String,
}

/// Why a scan failed, finer than the wire code so the runner can decide what to do
/// (only [`ScanFailureKind::OpenFailed`] is worth a retry). Variants are ordered by how well
/// they explain a transcript: when several appear, the first in this order is reported —
/// licensing blocks everything, a missing drive explains a failed open, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScanFailureKind {
    /// 5021 / 5055: version too old, key or shareware period expired.
    Refused,
    /// 5042, or every `DRV` slot empty: MakeMKV sees no drive at all.
    NoDrives,
    /// 3031: the drive's region protection.
    RegionLocked,
    /// A read error reported the medium gone.
    DiscEjected,
    /// A read error with the sense key MEDIUM ERROR: the disc cannot be read.
    MediumError,
    /// A yes/no question robot mode cannot answer (5038, 5053).
    UnanswerableQuestion,
    /// Another message `messages::meaning` calls fatal.
    Fatal,
    /// 5010: the disc could not be opened; retry once with backoff (drive spinning up).
    OpenFailed,
    /// `TCOUNT:0`: the disc opened but holds no title over the minimum length.
    NoTitles,
    /// No title listing and no failure message (e.g. no source given: usage help).
    NoListing,
    /// Titles were listed but the run stopped before `MSG:5011`.
    Incomplete,
}

impl ScanFailureKind {
    /// Code and message of a failure no `MSG` names with a message of its own.
    pub(super) fn own(self) -> (Self, ErrorCode, &'static str) {
        use ErrorCode as E;
        let (code, message) = match self {
            Self::OpenFailed => (E::DiscUnreadable, "MakeMKV could not open the disc"),
            Self::DiscEjected => (E::DiscEjected, "Disc was ejected during the scan"),
            Self::MediumError => (E::DiscUnreadable, messages::MEDIUM_ERROR_MESSAGE),
            Self::NoDrives => (E::DiscUnreadable, "MakeMKV cannot see any optical drive"),
            Self::NoTitles => (E::MakemkvFailed, "MakeMKV found no titles on the disc"),
            Self::Incomplete => (
                E::MakemkvFailed,
                "MakeMKV stopped before finishing the scan",
            ),
            _ => (E::MakemkvFailed, "MakeMKV printed no title listing"),
        };
        (self, code, message)
    }
}

/// A failed scan: the wire error of SPEC §5 plus its [`ScanFailureKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ScanFailure {
    /// What went wrong, for the runner's retry decision.
    pub kind: ScanFailureKind,
    /// Wire error code.
    pub code: ErrorCode,
    /// One sentence for a person.
    pub message: String,
    /// The last MakeMKV messages, for a developer.
    pub detail: Option<String>,
}

impl From<ScanFailure> for TaskError {
    fn from(f: ScanFailure) -> Self {
        TaskError::new(f.code, f.message, f.detail)
    }
}

/// The kind of a message `meaning` called fatal; the codes come from its table.
pub(super) fn fatal_kind(msg_code: u32) -> ScanFailureKind {
    match msg_code {
        code::VERSION_TOO_OLD | code::SHAREWARE_EXPIRED => ScanFailureKind::Refused,
        code::NO_DRIVES => ScanFailureKind::NoDrives,
        code::REGION_LOCK => ScanFailureKind::RegionLocked,
        _ => ScanFailureKind::Fatal,
    }
}
