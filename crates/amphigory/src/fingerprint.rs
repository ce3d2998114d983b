//! Disc fingerprints (SPEC §9.4): a short, stable id computed from drive-level facts
//! only, so a cold drive's filesystem is never read. The scheme matches the existing
//! Amphigory one (`drutil status -xml` fields on macOS) so known discs stay known.

use sha2::{Digest, Sha256};

/// Kind of optical medium, as far as the fingerprint is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediumKind {
    /// DVD.
    Dvd,
    /// Blu-ray.
    Bluray,
    /// Ultra HD Blu-ray (hashed as `bluray`, prefixed `uhd-`).
    Uhd,
    /// CD.
    Cd,
}

impl MediumKind {
    /// The drive object's `disc_type`: `dvd`, `bluray`, `uhd` or `cd`.
    pub fn disc_type(self) -> &'static str {
        match self {
            Self::Uhd => "uhd",
            other => other.type_name(),
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            Self::Dvd => "dvd",
            Self::Bluray | Self::Uhd => "bluray",
            Self::Cd => "cd",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Self::Dvd => "dvd",
            Self::Bluray => "br",
            Self::Uhd => "uhd",
            Self::Cd => "cd",
        }
    }
}

/// One track of the table of contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TocTrack {
    /// First block.
    pub start: u64,
    /// Size in blocks.
    pub size: u64,
}

/// What the drive reports about the disc; optional parts are hashed only when present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscFacts {
    /// Medium kind.
    pub kind: MediumKind,
    /// Block count.
    pub blocks: u64,
    /// Media type text (`DVD-ROM`, `BD-ROM`).
    pub media: Option<String>,
    /// Session count.
    pub sessions: Option<u32>,
    /// Track count.
    pub tracks: Option<u32>,
    /// Lead-out as MSF text (`875:39:55`).
    pub leadout: Option<String>,
    /// Per-track start and size.
    pub toc: Vec<TocTrack>,
    /// Volume name (trimmed before hashing; empty counts as absent).
    pub volume: Option<String>,
}

impl DiscFacts {
    /// Facts with only the kind and block count set.
    pub fn new(kind: MediumKind, blocks: u64) -> Self {
        Self {
            kind,
            blocks,
            media: None,
            sessions: None,
            tracks: None,
            leadout: None,
            toc: Vec::new(),
            volume: None,
        }
    }

    /// The exact string that is hashed.
    pub fn canonical(&self) -> String {
        use std::fmt::Write as _;
        let mut s = format!("type:{}blocks:{}", self.kind.type_name(), self.blocks);
        // Writing into a String cannot fail; the results are ignored on purpose.
        if let Some(media) = &self.media {
            let _ = write!(s, "media:{media}");
        }
        if let Some(n) = self.sessions {
            let _ = write!(s, "sessions:{n}");
        }
        if let Some(n) = self.tracks {
            let _ = write!(s, "tracks:{n}");
        }
        if let Some(msf) = &self.leadout {
            let _ = write!(s, "leadout:{msf}");
        }
        for (i, t) in self.toc.iter().enumerate() {
            let _ = write!(s, "track{i}:{}:{}", t.start, t.size);
        }
        if let Some(volume) = self
            .volume
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            let _ = write!(s, "volume:{volume}");
        }
        s
    }

    /// `dvd-…`, `br-…`, `uhd-…` or `cd-…` followed by 64 hex digits of SHA-256.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.canonical().as_bytes());
        let mut out = String::with_capacity(self.kind.prefix().len() + 65);
        out.push_str(self.kind.prefix());
        out.push('-');
        for byte in digest {
            use std::fmt::Write as _;
            let _ = write!(out, "{byte:02x}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dvd_vector() {
        let mut f = DiscFacts::new(MediumKind::Dvd, 3_940_480);
        f.media = Some("DVD-ROM".into());
        f.volume = Some("TEST_DISC".into());
        assert_eq!(
            f.fingerprint(),
            "dvd-d433c0bcb8d018ee9ec86ae7fc8b59c56da8ccf2f658cdc3925a70ad8e8f230a"
        );
    }

    #[test]
    fn bluray_vector() {
        let f = DiscFacts {
            kind: MediumKind::Bluray,
            blocks: 12_345_678,
            media: Some("BD-ROM".into()),
            sessions: Some(1),
            tracks: Some(1),
            leadout: Some("875:39:55".into()),
            toc: vec![TocTrack {
                start: 0,
                size: 12_345_678,
            }],
            volume: Some("  MY_MOVIE  ".into()),
        };
        assert_eq!(
            f.fingerprint(),
            "br-3dd2ade03e83a90dac9be97fd60ebef4c31e7848f74b1933fff315dd49dc2618"
        );
    }

    #[test]
    fn cd_vector_and_blank_volume_is_absent() {
        let mut f = DiscFacts::new(MediumKind::Cd, 123_456);
        let expected = "cd-fa687067633c7d7068a329a217af77f231dc943a58a510f9715c4b7ba0e51d82";
        assert_eq!(f.fingerprint(), expected);
        f.volume = Some("   ".into());
        assert_eq!(f.fingerprint(), expected);
    }

    #[test]
    fn uhd_hashes_as_bluray_with_its_own_prefix() {
        let br = DiscFacts::new(MediumKind::Bluray, 10).fingerprint();
        let uhd = DiscFacts::new(MediumKind::Uhd, 10).fingerprint();
        assert_eq!(br.strip_prefix("br-"), uhd.strip_prefix("uhd-"));
    }
}
