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
}
