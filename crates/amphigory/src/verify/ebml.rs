//! EBML, the binary format under Matroska: element ids and sizes (variable-length
//! integers), element headers, and a reader that keeps count of what it reads and where
//! it is, with a budget so that no file can keep it reading for long.
//!
//! Every size is checked before it is used: an element never reaches past its parent or
//! (except the Segment and a Cluster of a file cut short) past the end of the file, and
//! nothing is allocated from a size the file declares beyond a small, fixed limit.

use std::io::{self, Read, Seek, SeekFrom};

/// Read calls a header check may make; a real header needs a few hundred.
const OPERATION_BUDGET: u32 = 200_000;
/// Bytes a header check may read; a real header (with its Cues) is a few MB at most.
const BYTE_BUDGET: u64 = 256 << 20;
/// Elements skipped by reading them rather than seeking past them: a seek empties the
/// `BufReader` beneath, and most skipped elements are small.
const SKIP_BY_READING: u64 = 4096;

/// One element's header: its id, where its data starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Element {
    /// The id with its length marker, as written (`0x1A45DFA3` for the EBML header).
    pub id: u32,
    /// Offset of the first data byte.
    pub start: u64,
    /// Data length; `None` for "unknown" (all ones), which only a Segment or a Cluster
    /// being written may have.
    pub size: Option<u64>,
}

impl Element {
    /// Offset just past the data, when the size is known.
    pub fn end(&self) -> Option<u64> {
        self.size.and_then(|s| self.start.checked_add(s))
    }
}

/// Why reading stopped, before it becomes a [`super::HeaderError`].
#[derive(Debug)]
pub(super) enum Stop {
    /// The file could not be read.
    Io(io::Error),
    /// The bytes break the format; the text says how.
    Invalid(String),
    /// The file ends where more was needed.
    Truncated,
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Stop::Truncated
        } else {
            Stop::Io(e)
        }
    }
}

/// `Err(Stop::Invalid(..))` from a message.
pub(super) fn invalid<T>(message: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Invalid(message.into()))
}

/// A reader over a file of known length, counting its operations and bytes.
pub(super) struct EbmlReader<R> {
    inner: R,
    /// Where the next read starts.
    position: u64,
    /// The file's length.
    pub len: u64,
    operations: u32,
    bytes: u64,
}

impl<R: Read + Seek> EbmlReader<R> {
    /// Opens `inner` at its start.
    pub fn new(mut inner: R) -> Result<Self, Stop> {
        let len = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(0))?;
        Ok(EbmlReader {
            inner,
            position: 0,
            len,
            operations: OPERATION_BUDGET,
            bytes: BYTE_BUDGET,
        })
    }

    /// The offset the next read starts at.
    pub fn position(&self) -> u64 {
        self.position
    }

    fn spend(&mut self, bytes: u64) -> Result<(), Stop> {
        match (
            self.operations.checked_sub(1),
            self.bytes.checked_sub(bytes),
        ) {
            (Some(operations), Some(left)) => {
                self.operations = operations;
                self.bytes = left;
                Ok(())
            }
            _ => invalid("the header sends the reader in circles (read budget exhausted)"),
        }
    }

    /// Fills `buf` from the current position.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), Stop> {
        self.spend(buf.len() as u64)?;
        self.inner.read_exact(buf)?;
        self.position = self.position.saturating_add(buf.len() as u64);
        Ok(())
    }

    fn byte(&mut self) -> Result<u8, Stop> {
        let mut one = [0u8; 1];
        self.read_exact(&mut one)?;
        let [b] = one;
        Ok(b)
    }

    /// Moves to `offset` (which must be inside the file): by reading a short way forward,
    /// by seeking otherwise.
    pub fn go_to(&mut self, offset: u64) -> Result<(), Stop> {
        if offset > self.len {
            return Err(Stop::Truncated);
        }
        let ahead = offset.checked_sub(self.position);
        match ahead {
            Some(0) => Ok(()),
            Some(n) if n <= SKIP_BY_READING => {
                self.spend(n)?;
                let copied = io::copy(&mut (&mut self.inner).take(n), &mut io::sink())?;
                self.position = self.position.saturating_add(copied);
                if copied == n {
                    Ok(())
                } else {
                    Err(Stop::Truncated)
                }
            }
            _ => {
                self.spend(0)?;
                self.position = self.inner.seek(SeekFrom::Start(offset))?;
                Ok(())
            }
        }
    }

    /// Reads the element header at the current position. Its data must end by
    /// `parent_end` (when known); whether it may run past the end of the file is the
    /// caller's to say ([`EbmlReader::within_file`]).
    pub fn element(&mut self, parent_end: Option<u64>) -> Result<Element, Stop> {
        let id = self.id()?;
        let size = self.size()?;
        let start = self.position;
        let element = Element { id, start, size };
        match (element.size, element.end()) {
            (Some(_), None) => invalid(format!("element {id:#x} is larger than any file")),
            (_, Some(end)) if parent_end.is_some_and(|p| end > p) => {
                invalid(format!("element {id:#x} at {start} runs past its parent"))
            }
            _ => Ok(element),
        }
    }

    /// `element`'s data lies inside the file (a known size that ends by its end).
    pub fn within_file(&self, element: &Element) -> Result<(), Stop> {
        match element.end() {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(Stop::Truncated),
        }
    }

    /// An element id: 1 to 4 bytes, the first byte's leading zeros saying how many more.
    fn id(&mut self) -> Result<u32, Stop> {
        let first = self.byte()?;
        let extra = first.leading_zeros();
        if extra > 3 {
            return invalid(format!("{first:#04x} cannot start an element id"));
        }
        let mut id = u32::from(first);
        for _ in 0..extra {
            id = (id << 8) | u32::from(self.byte()?);
        }
        Ok(id)
    }

    /// An element size: 1 to 8 bytes, the marker bit removed; all ones means unknown.
    fn size(&mut self) -> Result<Option<u64>, Stop> {
        let first = self.byte()?;
        let extra = first.leading_zeros();
        if extra > 7 {
            return invalid("a size with no length marker");
        }
        // The bits after the marker; `extra` ≤ 7, so the marker is at least 1.
        let low_bits = (0x80u8 >> extra).wrapping_sub(1);
        let mut value = u64::from(first & low_bits);
        let mut all_ones = first & low_bits == low_bits;
        for _ in 0..extra {
            let b = self.byte()?;
            all_ones &= b == 0xFF;
            value = (value << 8) | u64::from(b);
        }
        Ok(if all_ones { None } else { Some(value) })
    }

    /// The data of `element` (known size, at most `limit` bytes, inside the file), read
    /// whole.
    pub fn data(&mut self, element: &Element, limit: u64) -> Result<Vec<u8>, Stop> {
        self.within_file(element)?;
        let size = element.size.unwrap_or(u64::MAX);
        if size > limit {
            return invalid(format!(
                "element {:#x} holds {size} bytes; at most {limit} expected",
                element.id
            ));
        }
        self.go_to(element.start)?;
        // `size` ≤ `limit`, a small constant: the allocation is bounded.
        let mut buf = vec![0u8; usize::try_from(size).unwrap_or(0)];
        self.read_exact(&mut buf)?;
        Ok(buf)
    }
}

/// A big-endian unsigned integer of up to 8 bytes.
pub(super) fn uint(data: &[u8]) -> Option<u64> {
    (data.len() <= 8).then(|| data.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

/// A big-endian float of 0, 4 or 8 bytes (0 bytes is 0.0).
pub(super) fn float(data: &[u8]) -> Option<f64> {
    match data.len() {
        0 => Some(0.0),
        4 => data
            .first_chunk::<4>()
            .map(|b| f64::from(f32::from_be_bytes(*b))),
        8 => data.first_chunk::<8>().map(|b| f64::from_be_bytes(*b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn reader(bytes: &[u8]) -> EbmlReader<Cursor<Vec<u8>>> {
        EbmlReader::new(Cursor::new(bytes.to_vec())).unwrap()
    }

    #[test]
    fn ids_and_sizes_of_every_length_read_back() {
        let mut r = reader(&[0x1A, 0x45, 0xDF, 0xA3, 0x84, 1, 2, 3, 4]);
        let e = r.element(None).unwrap();
        assert_eq!((e.id, e.start, e.size), (0x1A45_DFA3, 5, Some(4)));
        let mut r = reader(&[0xEC, 0x01, 0, 0, 0, 0, 0, 0, 2, 0xAA, 0xBB]);
        assert_eq!(r.element(None).unwrap().size, Some(2));
        let mut r = reader(&[
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        assert_eq!(r.element(None).unwrap().size, None);
        let mut r = reader(&[0xEC, 0xFF]);
        assert_eq!(r.element(None).unwrap().size, None);
    }

    #[test]
    fn sizes_past_the_parent_or_the_file_are_refused() {
        let mut r = reader(&[0xEC, 0x85, 0, 0]);
        let e = r.element(None).unwrap();
        assert!(matches!(r.within_file(&e), Err(Stop::Truncated)));
        let mut r = reader(&[0xEC, 0x82, 0, 0]);
        assert!(matches!(r.element(Some(3)), Err(Stop::Invalid(_))));
        let mut r = reader(&[0x00, 0x81]);
        assert!(matches!(r.element(None), Err(Stop::Invalid(_))));
        let mut r = reader(&[0xEC, 0x00]);
        assert!(matches!(r.element(None), Err(Stop::Invalid(_))));
    }

    #[test]
    fn numbers_decode_big_endian() {
        assert_eq!(uint(&[0x0F, 0x42, 0x40]), Some(1_000_000));
        assert_eq!(uint(&[1; 9]), None);
        assert_eq!(float(&1.5f32.to_be_bytes()), Some(1.5));
        assert_eq!(float(&2.25f64.to_be_bytes()), Some(2.25));
        assert_eq!(float(&[1, 2, 3]), None);
    }
}
