//! `drutil status` output (macOS) → [`DiscFacts`] and so the fingerprint (SPEC §9.4).
//!
//! Pure and platform-independent, so it is tested everywhere:
//! - [`parse_xml`] reads `drutil status -xml`, a property list. A tiny tolerant reader for
//!   the plist subset drutil emits (`dict`, `array`, `key`, `string`, `integer`, `real`,
//!   `true`/`false`, `data`, `date`) builds a tree; the disc facts are then looked up by key
//!   anywhere in it (`mediaType`, `blockCount`, `sessionCount`, `trackCount`, `leadOut`,
//!   the track list, `volumeName`), so wrapper dictionaries and unknown keys do not matter.
//! - [`parse_text`] reads the human-readable `drutil status` table.

use crate::fingerprint::{DiscFacts, MediumKind, TocTrack};

/// Kind of medium from drutil's media type text (`DVD-ROM`, `BD-R`, `CD-ROM`, …).
pub fn medium_from_type(media: &str) -> Option<MediumKind> {
    let m = media.trim().to_ascii_uppercase();
    if m.contains("UHD") {
        Some(MediumKind::Uhd)
    } else if m.starts_with("BD") || m.contains("BLU") {
        Some(MediumKind::Bluray)
    } else if m.starts_with("DVD") || m.starts_with("HD DVD") {
        Some(MediumKind::Dvd)
    } else if m.starts_with("CD") || m.starts_with("DDCD") {
        Some(MediumKind::Cd)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------
// `drutil status` (text)

/// One drive's `drutil status` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrutilStatus {
    /// `Vendor` column of the header.
    pub vendor: Option<String>,
    /// `Product` column of the header.
    pub product: Option<String>,
    /// `Rev` column of the header.
    pub revision: Option<String>,
    /// `Type:` (`DVD-ROM`, `CD-ROM`, `DVD-R`); `None` when no medium is in.
    pub media_type: Option<String>,
    /// `Name:` (`/dev/disk4`).
    pub device: Option<String>,
    /// `Sessions:`.
    pub sessions: Option<u32>,
    /// `Tracks:`.
    pub tracks: Option<u32>,
    /// `Space Used:` as MSF text.
    pub used_msf: Option<String>,
    /// `Space Used:` in 2048-byte blocks.
    pub used_blocks: Option<u64>,
    /// `Space Free:` in blocks.
    pub free_blocks: Option<u64>,
    /// `Writability:` flags (`appendable`, `blank`, `overwritable`).
    pub writability: Vec<String>,
    /// `Book Type:` (`DVD-ROM (v1)`).
    pub book_type: Option<String>,
}

impl DrutilStatus {
    /// True when a medium is in the drive.
    pub fn has_media(&self) -> bool {
        self.media_type.is_some()
    }

    /// True for blank recordable media (nothing to rip).
    pub fn is_blank(&self) -> bool {
        self.writability.iter().any(|w| w == "blank")
    }

    /// Fingerprint facts: kind and media from `Type`, blocks from `Space Used`, sessions
    /// and tracks where printed. `None` without media, for blank media or an unknown type.
    pub fn facts(&self) -> Option<DiscFacts> {
        let media = self.media_type.as_deref()?;
        let kind = medium_from_type(media)?;
        let blocks = self.used_blocks.filter(|b| *b > 0)?;
        if self.is_blank() {
            return None;
        }
        let mut facts = DiscFacts::new(kind, blocks);
        facts.media = Some(media.to_owned());
        facts.sessions = self.sessions;
        facts.tracks = self.tracks;
        Some(facts)
    }
}

/// Parses `drutil status` text. Tolerant of missing indentation and trailing spaces; the
/// header row (`Vendor Product Rev`) gives the model when present.
pub fn parse_text(text: &str) -> DrutilStatus {
    let mut st = DrutilStatus::default();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with("Vendor") && trimmed.contains("Product") {
            if let Some(next) = lines.next() {
                parse_header(line, next, &mut st);
            }
            continue;
        }
        for (label, value) in split_fields(trimmed) {
            apply_field(&mut st, label, value);
        }
    }
    st
}

/// Column positions from the header line cut the vendor/product/revision row.
fn parse_header(header: &str, row: &str, st: &mut DrutilStatus) {
    let product_at = header.find("Product");
    let rev_at = header.find("Rev");
    let cut = |from: usize, to: Option<usize>| -> Option<String> {
        let end = to.unwrap_or(row.len()).min(row.len());
        row.get(from.min(end)..end)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let (Some(p), Some(r)) = (product_at, rev_at) {
        let vendor_at = header.find("Vendor").unwrap_or(0);
        st.vendor = cut(vendor_at, Some(p));
        st.product = cut(p, Some(r));
        st.revision = cut(r, None);
    }
}

/// Splits `Type: DVD-ROM   Name: /dev/disk4` into labelled values.
fn split_fields(line: &str) -> Vec<(&str, &str)> {
    // Longer labels first, so `Type:` inside `Book Type:` is not taken for its own field.
    const LABELS: &[&str] = &[
        "Write Speeds:",
        "Overwritable:",
        "Writability:",
        "Space Free:",
        "Space Used:",
        "Book Type:",
        "Media ID:",
        "Sessions:",
        "Tracks:",
        "Type:",
        "Name:",
    ];
    // One pass, left to right: at each word start the longest label there is taken and
    // the scan goes on after it. (Checking every label's every hit against the marks
    // already taken was quadratic: a 1 MB line of `Type: ` took seconds, issue 19.)
    let mut marks: Vec<(usize, &str)> = Vec::new();
    let mut free_from = 0;
    let word_starts = std::iter::once(0).chain(line.match_indices(' ').map(|(i, _)| i + 1));
    for pos in word_starts {
        if pos < free_from {
            continue;
        }
        let rest = line.get(pos..).unwrap_or_default();
        if let Some(label) = LABELS.iter().find(|l| rest.starts_with(*l)) {
            marks.push((pos, label));
            free_from = pos + label.len();
        }
    }
    let mut out = Vec::new();
    for (i, (pos, label)) in marks.iter().enumerate() {
        let start = pos + label.len();
        let end = marks.get(i + 1).map_or(line.len(), |(next, _)| *next);
        let value = line.get(start..end).map_or("", str::trim);
        out.push((label.trim_end_matches(':'), value));
    }
    out
}

fn apply_field(st: &mut DrutilStatus, label: &str, value: &str) {
    let owned = || Some(value.to_owned()).filter(|v| !v.is_empty());
    match label {
        "Type" if !value.eq_ignore_ascii_case("No Media Inserted") => st.media_type = owned(),
        "Name" => st.device = owned(),
        "Sessions" => st.sessions = value.parse().ok(),
        "Tracks" => st.tracks = value.parse().ok(),
        "Space Used" => {
            let (msf, blocks) = msf_and_blocks(value);
            st.used_msf = msf;
            st.used_blocks = blocks;
        }
        "Space Free" => st.free_blocks = msf_and_blocks(value).1,
        "Writability" => {
            st.writability = value
                .split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect();
        }
        "Book Type" => st.book_type = owned(),
        _ => {}
    }
}

/// `169:24:52         blocks:   762352 /   1.56GB /   1.45GiB` → MSF and block count.
fn msf_and_blocks(value: &str) -> (Option<String>, Option<u64>) {
    let msf = value.split_whitespace().next().map(str::to_owned);
    let blocks = value
        .split_once("blocks:")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    (msf, blocks)
}

// ---------------------------------------------------------------------------------------
// `drutil status -xml` (property list)

/// Why `drutil status -xml` output could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrutilError {
    /// Not a property list this reader understands.
    #[error("drutil XML: {0}")]
    Malformed(String),
}

pub(crate) fn malformed(what: &str) -> DrutilError {
    DrutilError::Malformed(what.to_owned())
}

mod plist;
pub use plist::{Plist, parse_plist};

const MEDIA_KEYS: &[&str] = &["mediaType"];
const KIND_KEYS: &[&str] = &["type", "mediaKind", "discType"];
const BLOCK_KEYS: &[&str] = &["blockCount", "blocks"];
const TRACK_LIST_KEYS: &[&str] = &["trackInfo", "trackList", "tracks"];

/// What `drutil status -xml` says: `Ok(None)` when no disc (or an unknown medium) is in.
pub fn parse_xml(xml: &str) -> Result<Option<DiscFacts>, DrutilError> {
    facts_from_plist(&parse_plist(xml)?)
}

/// Like [`parse_xml`] for the drive holding `bsd_name` (`disk4`): when the output lists
/// several drives the one naming `/dev/disk4` is used, and output that names only other
/// devices gives `Ok(None)` rather than another disc's facts.
pub fn parse_xml_for_device(xml: &str, bsd_name: &str) -> Result<Option<DiscFacts>, DrutilError> {
    let root = parse_plist(xml)?;
    let want = format!("/dev/{}", bsd_name.trim_start_matches("/dev/"));
    let entries = match &root {
        Plist::Array(items) if items.len() > 1 => items.iter().collect(),
        _ => vec![&root],
    };
    let chosen = entries
        .iter()
        .find(|e| e.mentions(&want))
        .or_else(|| entries.first().filter(|e| !e.mentions("/dev/disk")));
    match chosen {
        Some(entry) => facts_from_plist(entry),
        None => Ok(None),
    }
}

/// Disc facts from a parsed `drutil status -xml` tree. The media dictionary is the first
/// one (depth first) holding a block count; the kind comes from its `mediaType`
/// (`DVD-ROM`), else from a `type`/`mediaKind`/`discType` entry (`cd`, `dvd`, `bluray`),
/// and `media` is hashed only when `mediaType` is present.
pub fn facts_from_plist(root: &Plist) -> Result<Option<DiscFacts>, DrutilError> {
    let Some(disc) = root.dict_with(BLOCK_KEYS) else {
        return Ok(None);
    };
    let media = disc.find(MEDIA_KEYS).and_then(Plist::as_str).map(str::trim);
    let kind = media
        .or_else(|| disc.get(KIND_KEYS).and_then(Plist::as_str))
        .and_then(medium_from_type);
    let Some(kind) = kind else {
        return Ok(None);
    };
    let blocks = disc
        .get(BLOCK_KEYS)
        .and_then(Plist::as_u64)
        .ok_or_else(|| malformed("block count is not a number"))?;
    let mut facts = DiscFacts::new(kind, blocks);
    facts.media = media.filter(|m| !m.is_empty()).map(str::to_owned);
    let count = |keys: &[&str]| {
        disc.find(keys)
            .and_then(Plist::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    facts.sessions = count(&["sessionCount"]);
    facts.tracks = count(&["trackCount"]);
    facts.leadout = disc.find(&["leadOut", "leadout"]).and_then(msf_of);
    if let Some(Plist::Array(items)) = disc.find(TRACK_LIST_KEYS) {
        facts.toc = items.iter().filter_map(track_of).collect();
    }
    facts.volume = root
        .find(&["volumeName"])
        .and_then(Plist::as_str)
        .map(str::to_owned);
    Ok(Some(facts))
}

/// Lead-out: an MSF string, or a dictionary holding one under `msf`.
fn msf_of(v: &Plist) -> Option<String> {
    match v {
        Plist::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Plist::Dict(_) => v.find(&["msf"]).and_then(msf_of),
        _ => None,
    }
}

fn track_of(v: &Plist) -> Option<TocTrack> {
    let start = v
        .find(&["startAddress", "trackStart", "start"])
        .and_then(Plist::as_u64)?;
    let size = v
        .find(&["trackSize", "size", "blockCount", "length"])
        .and_then(Plist::as_u64)?;
    Some(TocTrack { start, size })
}
