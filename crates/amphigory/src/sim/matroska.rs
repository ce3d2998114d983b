//! The simulated makemkvcon's output file: a real Matroska header — EBML header, Segment,
//! Info with the title's duration, one video track, a Cluster — whose last element is a
//! Void running to the title's size, so the rest of the file can be sparse zeros and the
//! whole is still a valid Matroska file (SPEC §11.2: verification runs for real here).

/// EBML element ids (with their length markers, as written).
mod id {
    pub const EBML: u32 = 0x1A45_DFA3;
    pub const EBML_VERSION: u32 = 0x4286;
    pub const EBML_READ_VERSION: u32 = 0x42F7;
    pub const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
    pub const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
    pub const DOC_TYPE: u32 = 0x4282;
    pub const DOC_TYPE_VERSION: u32 = 0x4287;
    pub const DOC_TYPE_READ_VERSION: u32 = 0x4285;
    pub const SEGMENT: u32 = 0x1853_8067;
    pub const INFO: u32 = 0x1549_A966;
    pub const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
    pub const DURATION: u32 = 0x4489;
    pub const MUXING_APP: u32 = 0x4D80;
    pub const WRITING_APP: u32 = 0x5741;
    pub const TRACKS: u32 = 0x1654_AE6B;
    pub const TRACK_ENTRY: u32 = 0xAE;
    pub const TRACK_NUMBER: u32 = 0xD7;
    pub const TRACK_UID: u32 = 0x73C5;
    pub const TRACK_TYPE: u32 = 0x83;
    pub const CODEC_ID: u32 = 0x86;
    pub const VIDEO: u32 = 0xE0;
    pub const PIXEL_WIDTH: u32 = 0xB0;
    pub const PIXEL_HEIGHT: u32 = 0xBA;
    pub const CLUSTER: u32 = 0x1F43_B675;
    pub const TIMESTAMP: u32 = 0xE7;
    pub const VOID: u32 = 0xEC;
}

/// Nanoseconds per tick: Matroska's default, a millisecond.
const TIMESTAMP_SCALE_NS: u64 = 1_000_000;
/// Bytes of an 8-byte size (a length marker and 7 bytes).
const SIZED_HEADER: u64 = 8;
/// Bytes of the Segment's and a Cluster's ids.
const LONG_ID: u64 = 4;

/// The bytes a file of `total_size` bytes starts with, for a title of `duration_seconds`;
/// the rest of the file (zeros) belongs to the final Void element. A title smaller than
/// the header gets a file the header's size.
pub fn header(duration_seconds: f64, total_size: u64) -> Vec<u8> {
    let ebml = element(
        id::EBML,
        &[
            uint(id::EBML_VERSION, 1),
            uint(id::EBML_READ_VERSION, 1),
            uint(id::EBML_MAX_ID_LENGTH, 4),
            uint(id::EBML_MAX_SIZE_LENGTH, 8),
            string(id::DOC_TYPE, "matroska"),
            uint(id::DOC_TYPE_VERSION, 4),
            uint(id::DOC_TYPE_READ_VERSION, 2),
        ]
        .concat(),
    );
    let info = element(
        id::INFO,
        &[
            uint(id::TIMESTAMP_SCALE, TIMESTAMP_SCALE_NS),
            float(
                id::DURATION,
                duration_seconds * 1e9 / TIMESTAMP_SCALE_NS as f64,
            ),
            string(id::MUXING_APP, "amphigory-sim"),
            string(id::WRITING_APP, "amphigory simulated makemkvcon"),
        ]
        .concat(),
    );
    let video = element(
        id::VIDEO,
        &[uint(id::PIXEL_WIDTH, 1920), uint(id::PIXEL_HEIGHT, 1080)].concat(),
    );
    let track = element(
        id::TRACK_ENTRY,
        &[
            uint(id::TRACK_NUMBER, 1),
            uint(id::TRACK_UID, 1),
            uint(id::TRACK_TYPE, 1),
            string(id::CODEC_ID, "V_MPEG4/ISO/AVC"),
            video,
        ]
        .concat(),
    );
    let tracks = element(id::TRACKS, &track);
    let timestamp = uint(id::TIMESTAMP, 0);
    // Segment: Info, Tracks, then a Cluster holding its Timestamp and the Void.
    let fixed = [info, tracks].concat();
    let before_segment = ebml.len() as u64;
    let cluster_header = LONG_ID + SIZED_HEADER;
    let void_header = 1 + SIZED_HEADER;
    let minimum = before_segment
        + LONG_ID
        + SIZED_HEADER
        + fixed.len() as u64
        + cluster_header
        + timestamp.len() as u64
        + void_header;
    let total = total_size.max(minimum);
    let void_size = total - minimum;
    let cluster_size = timestamp.len() as u64 + void_header + void_size;
    let segment_size = fixed.len() as u64 + cluster_header + cluster_size;
    let mut out = ebml;
    out.extend(element_header(id::SEGMENT, segment_size));
    out.extend(fixed);
    out.extend(element_header(id::CLUSTER, cluster_size));
    out.extend(timestamp);
    out.extend(element_header(id::VOID, void_size));
    out
}

/// An element with its content, size written in 8 bytes.
fn element(id: u32, content: &[u8]) -> Vec<u8> {
    let mut out = element_header(id, content.len() as u64);
    out.extend_from_slice(content);
    out
}

/// An element's id and an 8-byte size (`0x01` then 7 bytes, big-endian).
fn element_header(id: u32, size: u64) -> Vec<u8> {
    let id_bytes = id.to_be_bytes();
    let skip = id_bytes.iter().take_while(|b| **b == 0).count();
    let mut out: Vec<u8> = id_bytes.iter().skip(skip).copied().collect();
    let size_bytes = size.to_be_bytes();
    out.push(0x01);
    out.extend(size_bytes.iter().skip(1));
    out
}

fn uint(id: u32, value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    element(id, bytes.get(skip..).unwrap_or(&bytes))
}

fn float(id: u32, value: f64) -> Vec<u8> {
    element(id, &value.to_be_bytes())
}

fn string(id: u32, value: &str) -> Vec<u8> {
    element(id, value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::read_header_from;
    use std::io::Cursor;

    #[test]
    fn the_header_reads_back_with_its_duration() {
        let bytes = header(6_300.0, 4096);
        let mut file = bytes.clone();
        file.resize(4096, 0);
        let facts = read_header_from(Cursor::new(file)).unwrap();
        assert_eq!(facts.doc_type, "matroska");
        let seconds = facts.duration_seconds.unwrap();
        assert!((seconds - 6_300.0).abs() < 1e-6, "{seconds}");
    }

    #[test]
    fn the_segment_ends_where_the_file_does() {
        let bytes = header(6_300.0, 4096);
        // The EBML header (its 12-byte header and data), then the Segment's id and size.
        let ebml = 12 + u64::from(bytes[11]);
        let at = usize::try_from(ebml).unwrap() + 5;
        let size = bytes[at..at + 7]
            .iter()
            .fold(0u64, |n, b| (n << 8) | u64::from(*b));
        assert_eq!(ebml + 12 + size, 4096);
    }

    #[test]
    fn a_title_smaller_than_the_header_gets_the_header() {
        let bytes = header(1.0, 10);
        assert!(bytes.len() > 10);
        assert!(read_header_from(Cursor::new(bytes)).is_ok());
    }

    #[test]
    fn a_broken_first_byte_is_not_matroska() {
        let mut file = header(60.0, 1024);
        file.resize(1024, 0);
        file[0] = b'X';
        assert!(read_header_from(Cursor::new(file)).is_err());
    }
}
