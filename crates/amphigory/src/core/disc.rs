//! What detection knows of a disc in a drive. Below drives and the simulator both, so
//! the simulated drives (`sim`) and the real ones (`drives`) describe discs alike without
//! importing each other.

use crate::fingerprint::MediumKind;

/// A disc in a drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscInfo {
    /// Device path of the drive holding it.
    pub device: String,
    /// Volume name, when the OS knows it without reading the filesystem itself.
    pub volume_name: Option<String>,
    /// DVD, Blu-ray, UHD or CD, when known.
    pub medium: Option<MediumKind>,
    /// Fingerprint (SPEC §9.4), when the drive-level facts were available.
    pub fingerprint: Option<String>,
}
