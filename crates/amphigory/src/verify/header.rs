//! Reads a Matroska file's header: the EBML header (doctype), then the Segment's
//! elements up to its first Cluster: Info (duration and timestamp scale) and Tracks (at
//! least one track) must be there, found in order or through the SeekHead. It skips and
//! seeks; it never reads the file's body, so a 25 GB rip is checked in microseconds.
//!
//! Written here on [`super::ebml`] rather than with a crate: fuzzing `matroska-demuxer`
//! 0.8 (the crate first used) found an arithmetic overflow on a SeekHead position and it
//! keeps an `expect_err` on two SeekHead references, either of which would stop the
//! daemon on a damaged file. The file is whatever MakeMKV (or a failing disk) left, so
//! every size is checked and every read counted against a budget.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use super::ebml::{EbmlReader, Element, Stop, float, invalid, uint};

mod id {
    pub const EBML: u32 = 0x1A45_DFA3;
    pub const DOC_TYPE: u32 = 0x4282;
    pub const SEGMENT: u32 = 0x1853_8067;
    pub const SEEK_HEAD: u32 = 0x114D_9B74;
    pub const SEEK: u32 = 0x4DBB;
    pub const SEEK_ID: u32 = 0x53AB;
    pub const SEEK_POSITION: u32 = 0x53AC;
    pub const INFO: u32 = 0x1549_A966;
    pub const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
    pub const DURATION: u32 = 0x4489;
    pub const TRACKS: u32 = 0x1654_AE6B;
    pub const TRACK_ENTRY: u32 = 0xAE;
    pub const CLUSTER: u32 = 0x1F43_B675;
}

/// Largest EBML header, Info or SeekHead read whole; real ones are a few hundred bytes.
const SMALL_ELEMENT: u64 = 64 * 1024;
/// Top-level elements before the Segment (Voids, in a damaged file anything).
const BEFORE_SEGMENT: usize = 16;
/// Matroska's default timestamp scale: a millisecond, in nanoseconds.
const DEFAULT_SCALE_NS: u64 = 1_000_000;

/// What the header says.
#[derive(Debug, Clone, PartialEq)]
pub struct MatroskaFacts {
    /// EBML `DocType`: `matroska` (or `webm`).
    pub doc_type: String,
    /// Segment Info `Duration`, in seconds, when the file states one.
    pub duration_seconds: Option<f64>,
}

/// Why a file is not a readable Matroska file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The file could not be opened or read.
    #[error("cannot read it: {0}")]
    Io(String),
    /// The bytes are not a Matroska header (or a broken one).
    #[error("no valid Matroska header: {0}")]
    NotMatroska(String),
    /// An EBML file of another kind.
    #[error("EBML doctype {0:?}, not matroska")]
    WrongDocType(String),
}

impl From<Stop> for HeaderError {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Io(e) => HeaderError::Io(e.to_string()),
            Stop::Invalid(why) => HeaderError::NotMatroska(why),
            Stop::Truncated => HeaderError::NotMatroska("the file ends inside its header".into()),
        }
    }
}

/// Reads the header of the file at `path`. Blocking: a few small reads.
pub fn read_header(path: &Path) -> Result<MatroskaFacts, HeaderError> {
    let file = File::open(path).map_err(|e| HeaderError::Io(e.to_string()))?;
    read_header_from(BufReader::new(file))
}

/// Reads a Matroska header from any seekable bytes (what [`read_header`] and the tests
/// call).
pub fn read_header_from<R: Read + Seek>(reader: R) -> Result<MatroskaFacts, HeaderError> {
    let mut r = EbmlReader::new(reader)?;
    let doc_type = ebml_header(&mut r)?;
    if doc_type != "matroska" && doc_type != "webm" {
        return Err(HeaderError::WrongDocType(doc_type));
    }
    let segment = find_segment(&mut r)?;
    let duration_seconds = segment_facts(&mut r, &segment)?;
    Ok(MatroskaFacts {
        doc_type,
        duration_seconds,
    })
}

/// The EBML header's `DocType` (`matroska` when it states none, as the format says).
fn ebml_header<R: Read + Seek>(r: &mut EbmlReader<R>) -> Result<String, Stop> {
    let header = r.element(None)?;
    if header.id != id::EBML {
        return invalid("the file does not start with an EBML header");
    }
    let data = r.data(&header, SMALL_ELEMENT)?;
    let doc_type = children(&data)?
        .into_iter()
        .find(|(id, _)| *id == id::DOC_TYPE)
        .map(|(_, value)| {
            String::from_utf8_lossy(value)
                .trim_end_matches('\0')
                .to_owned()
        });
    Ok(doc_type.unwrap_or_else(|| "matroska".into()))
}

/// The Segment, after at most a few other top-level elements. Its size may run past the
/// end of the file: a rip cut short still has a readable header.
fn find_segment<R: Read + Seek>(r: &mut EbmlReader<R>) -> Result<Element, Stop> {
    for _ in 0..BEFORE_SEGMENT {
        let element = r.element(None)?;
        if element.id == id::SEGMENT {
            return Ok(element);
        }
        r.within_file(&element)?;
        r.go_to(element.end().unwrap_or(u64::MAX))?;
    }
    invalid("no Segment after the EBML header")
}

/// Info and Tracks as found walking the Segment, or where its SeekHead puts them.
#[derive(Default)]
struct Found {
    info: Option<Element>,
    tracks: Option<Element>,
    seek_info: Option<u64>,
    seek_tracks: Option<u64>,
}

/// Walks the Segment to its first Cluster (which, in a rip cut short, may run past the
/// file's end), then reads Info's duration and checks Tracks; either may lie after the
/// Clusters, found through the SeekHead.
fn segment_facts<R: Read + Seek>(
    r: &mut EbmlReader<R>,
    segment: &Element,
) -> Result<Option<f64>, Stop> {
    let end = segment.end();
    let mut found = Found::default();
    loop {
        if end.is_some_and(|e| r.position() >= e) || r.position() >= r.len {
            return invalid("the Segment has no Cluster");
        }
        let element = r.element(end)?;
        match element.id {
            id::CLUSTER => break,
            id::INFO => found.info = Some(element),
            id::TRACKS => found.tracks = Some(element),
            id::SEEK_HEAD => read_seek_head(r, segment, &element, &mut found)?,
            _ => {}
        }
        r.within_file(&element)?;
        r.go_to(element.end().unwrap_or(u64::MAX))?;
    }
    let info = match found.info {
        Some(info) => info,
        None => element_at(r, found.seek_info, id::INFO, end)?,
    };
    let tracks = match found.tracks {
        Some(tracks) => tracks,
        None => element_at(r, found.seek_tracks, id::TRACKS, end)?,
    };
    check_tracks(r, &tracks)?;
    duration(r, &info)
}

/// Notes where the SeekHead puts Info and Tracks (offsets from the Segment's data).
/// Other entries, a second SeekHead included, are not needed to find them.
fn read_seek_head<R: Read + Seek>(
    r: &mut EbmlReader<R>,
    segment: &Element,
    seek_head: &Element,
    found: &mut Found,
) -> Result<(), Stop> {
    let data = r.data(seek_head, SMALL_ELEMENT)?;
    for (child, seek) in children(&data)? {
        if child != id::SEEK {
            continue;
        }
        let fields = children(seek)?;
        let field = |wanted: u32| fields.iter().find(|(id, _)| *id == wanted).map(|(_, v)| *v);
        let (Some(target), Some(position)) = (
            field(id::SEEK_ID).and_then(uint),
            field(id::SEEK_POSITION).and_then(uint),
        ) else {
            continue;
        };
        let Some(offset) = segment.start.checked_add(position) else {
            return invalid(format!("SeekHead position {position} is past any file"));
        };
        match u32::try_from(target) {
            Ok(id::INFO) => found.seek_info = Some(offset),
            Ok(id::TRACKS) => found.seek_tracks = Some(offset),
            _ => {}
        }
    }
    Ok(())
}

/// The element `wanted` at `offset` (from the SeekHead), inside the Segment.
fn element_at<R: Read + Seek>(
    r: &mut EbmlReader<R>,
    offset: Option<u64>,
    wanted: u32,
    segment_end: Option<u64>,
) -> Result<Element, Stop> {
    let name = if wanted == id::INFO { "Info" } else { "Tracks" };
    let Some(offset) = offset else {
        return invalid(format!(
            "no {name} before the first Cluster, and no SeekHead entry for it"
        ));
    };
    r.go_to(offset)?;
    let element = r.element(segment_end)?;
    if element.id != wanted {
        return invalid(format!(
            "the SeekHead points at {:#x}, not {name}",
            element.id
        ));
    }
    Ok(element)
}

/// Tracks must hold at least one TrackEntry: its first child is read.
fn check_tracks<R: Read + Seek>(r: &mut EbmlReader<R>, tracks: &Element) -> Result<(), Stop> {
    r.within_file(tracks)?;
    r.go_to(tracks.start)?;
    let first = (tracks.size != Some(0))
        .then(|| r.element(tracks.end()))
        .transpose()?;
    match first {
        Some(entry) if entry.id == id::TRACK_ENTRY => Ok(()),
        _ => invalid("Tracks holds no track"),
    }
}

/// Info's Duration in seconds (ticks of TimestampScale nanoseconds), when it states a
/// finite, non-negative one.
fn duration<R: Read + Seek>(r: &mut EbmlReader<R>, info: &Element) -> Result<Option<f64>, Stop> {
    let data = r.data(info, SMALL_ELEMENT)?;
    let fields = children(&data)?;
    let field = |wanted: u32| fields.iter().find(|(id, _)| *id == wanted).map(|(_, v)| *v);
    let scale = match field(id::TIMESTAMP_SCALE) {
        None => DEFAULT_SCALE_NS,
        Some(value) => match uint(value) {
            Some(scale) if scale > 0 => scale,
            _ => return invalid("Info has an invalid TimestampScale"),
        },
    };
    let ticks = match field(id::DURATION) {
        None => return Ok(None),
        Some(value) => {
            float(value).ok_or_else(|| Stop::Invalid("Info's Duration is not a float".into()))?
        }
    };
    let seconds = ticks * scale as f64 / 1e9;
    Ok(Some(seconds).filter(|s| s.is_finite() && *s >= 0.0))
}

/// The child elements of a master element's data read whole: (id, data) pairs. Sizes
/// must fit; an unknown size ends the list with an error.
fn children(data: &[u8]) -> Result<Vec<(u32, &[u8])>, Stop> {
    let mut r = EbmlReader::new(std::io::Cursor::new(data))?;
    let mut out = Vec::new();
    while r.position() < r.len {
        let element = r.element(Some(r.len))?;
        let (Some(start), Some(end)) = (usize::try_from(element.start).ok(), element.end()) else {
            return invalid(format!(
                "element {:#x} of unknown size inside another",
                element.id
            ));
        };
        let end = usize::try_from(end).unwrap_or(usize::MAX);
        let Some(value) = data.get(start..end) else {
            return Err(Stop::Truncated);
        };
        out.push((element.id, value));
        r.go_to(end as u64)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn random_bytes_are_not_matroska() {
        let err = read_header_from(Cursor::new(b"RIFF....AVI LIST".to_vec())).unwrap_err();
        assert!(matches!(err, HeaderError::NotMatroska(_)), "{err:?}");
    }

    #[test]
    fn an_empty_file_is_not_matroska() {
        assert!(read_header_from(Cursor::new(Vec::new())).is_err());
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        let err = read_header(Path::new("/nonexistent/amphigory/x.mkv")).unwrap_err();
        assert!(matches!(err, HeaderError::Io(_)), "{err:?}");
    }

    /// Found by mutating the simulated header (300,000 runs): `matroska-demuxer` walked in
    /// circles over it. A size past its parent, refused at once.
    #[test]
    fn a_header_that_looped_the_old_reader_is_refused() {
        let hex: String = [
        "1a45dfa30100000000000054428601000000000000010142f701000000000000010142f201000000000000010442f301",
        "0000000000000108428201000000000000086d6174726f736b6142870100000000000001044285010000000000000102",
        "185380670100000000000f98bf1549a966010000000000005f2ad7b101000000000000030f424044890100000000b0aa",
        "0841580858000000004d80010000bf000000000d616d706869676f72792d7369756d574101000000000000511e616d70",
        "6869676f72792073696d756c61746564206d616b656d6b76636f6e1654ae6b010000000000005fae0100000000000056",
        "d701000000000000010173c50100000000000001018301000000000000010186010000000000000f565f4d504547342f",
        "49534f2f415643e00100000000000016b001000000000000020780ba010000000000000204381f43b675010000000000",
        "0ebae7010000000000000100ec0100000000000ea7",
        ]
        .concat();
        let mut bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        bytes.resize(4100, 0);
        let err = read_header_from(Cursor::new(bytes)).unwrap_err();
        assert!(
            matches!(&err, HeaderError::NotMatroska(m) if m.contains("runs past its parent")),
            "{err:?}"
        );
    }
}
