//! Reads a Matroska file's header with the `matroska-demuxer` crate: the EBML header
//! (doctype), the Segment's Info (duration) and the elements the crate insists on
//! (Tracks, the first Cluster's position). It seeks; it never reads the file's body, so a
//! 25 GB rip is checked in milliseconds.
//!
//! The file is whatever MakeMKV (or a failing disk) left, so every read goes through a
//! budget: a header that sends the reader round in circles (a SeekHead pointing at
//! itself) ends as an error instead of a hung task. The crate forbids `unsafe` and denies
//! `unwrap` and `panic!`, and checks every declared size against the file's length
//! before allocating; one `expect_err` remains in its SeekHead chain (two SeekHead
//! references in one SeekHead), which MakeMKV never writes.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use matroska_demuxer::MatroskaFile;

/// Read or seek calls a header check may make; a real header needs a few hundred.
const OPERATION_BUDGET: u32 = 200_000;
/// Bytes a header check may read; a real header (with its Cues) is a few MB at most.
const BYTE_BUDGET: u64 = 256 << 20;

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

/// Reads the header of the file at `path`. Blocking: a few small reads.
pub fn read_header(path: &Path) -> Result<MatroskaFacts, HeaderError> {
    let file = File::open(path).map_err(|e| HeaderError::Io(e.to_string()))?;
    read_header_from(BufReader::new(file))
}

/// Reads a Matroska header from any seekable bytes (what [`read_header`] and the tests
/// call).
pub fn read_header_from<R: Read + Seek>(reader: R) -> Result<MatroskaFacts, HeaderError> {
    let budgeted = Budgeted {
        inner: reader,
        operations: OPERATION_BUDGET,
        bytes: BYTE_BUDGET,
    };
    let mkv = MatroskaFile::open(budgeted).map_err(|e| match e {
        matroska_demuxer::DemuxError::IoError(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            HeaderError::NotMatroska("the file ends inside its header".into())
        }
        matroska_demuxer::DemuxError::IoError(io) if io.kind() == io::ErrorKind::InvalidData => {
            HeaderError::NotMatroska(io.to_string())
        }
        matroska_demuxer::DemuxError::IoError(io) => HeaderError::Io(io.to_string()),
        other => HeaderError::NotMatroska(other.to_string()),
    })?;
    let doc_type = mkv.ebml_header().doc_type().to_owned();
    if doc_type != "matroska" && doc_type != "webm" {
        return Err(HeaderError::WrongDocType(doc_type));
    }
    let info = mkv.info();
    // Ticks of TimestampScale nanoseconds each.
    let scale = info.timestamp_scale().get() as f64;
    let duration_seconds = info
        .duration()
        .map(|ticks| ticks * scale / 1e9)
        .filter(|s| s.is_finite() && *s >= 0.0);
    Ok(MatroskaFacts {
        doc_type,
        duration_seconds,
    })
}

/// A reader that fails once it has made too many calls or read too many bytes.
struct Budgeted<R> {
    inner: R,
    operations: u32,
    bytes: u64,
}

impl<R> Budgeted<R> {
    fn spend(&mut self) -> io::Result<()> {
        self.operations = self.operations.checked_sub(1).ok_or_else(exhausted)?;
        Ok(())
    }
}

fn exhausted() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the header sends the reader in circles (read budget exhausted)",
    )
}

impl<R: Read> Read for Budgeted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.spend()?;
        let n = self.inner.read(buf)?;
        self.bytes = self.bytes.checked_sub(n as u64).ok_or_else(exhausted)?;
        Ok(n)
    }
}

impl<R: Seek> Seek for Budgeted<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.spend()?;
        self.inner.seek(pos)
    }
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

    /// Found by mutating the simulated header (300,000 runs): the crate walks in circles
    /// over it. The read budget turns that into an error.
    #[test]
    fn a_header_that_loops_ends_in_an_error_not_a_hang() {
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
            matches!(&err, HeaderError::NotMatroska(m) if m.contains("in circles")),
            "{err:?}"
        );
    }
}
