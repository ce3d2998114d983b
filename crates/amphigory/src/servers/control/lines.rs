//! Newline-delimited input with a bound: a line longer than the limit is skipped (up to
//! its newline) and reported, so one oversized request costs a fixed amount of memory and
//! the connection stays usable.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A line (without its `\n`, and without a trailing `\r`).
    Text(String),
    /// A line longer than the limit; its bytes were discarded.
    TooLong,
    /// A line that is not UTF-8.
    NotUtf8,
}

/// Reads bounded lines from `inner`.
#[derive(Debug)]
pub(crate) struct LineReader<R> {
    inner: R,
    max: usize,
    buf: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// Lines of at most `max` bytes.
    pub(crate) fn new(inner: R, max: usize) -> Self {
        Self {
            inner,
            max,
            buf: Vec::new(),
        }
    }

    /// The next line; `None` at the end of the input. A last line without a newline
    /// counts. Not cancel-safe: a line being read when the future is dropped is lost.
    pub(crate) async fn next(&mut self) -> std::io::Result<Option<Line>> {
        self.buf.clear();
        let mut too_long = false;
        let mut seen_any = false;
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                if !seen_any {
                    return Ok(None);
                }
                break;
            }
            seen_any = true;
            let newline = available.iter().position(|&b| b == b'\n');
            let take = newline.map_or(available.len(), |i| i.saturating_add(1));
            let chunk = available.get(..take).unwrap_or(available);
            let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
            if !too_long && self.buf.len().saturating_add(body.len()) > self.max {
                too_long = true;
                self.buf = Vec::new();
            }
            if !too_long {
                self.buf.extend_from_slice(body);
            }
            self.inner.consume(take);
            if newline.is_some() {
                break;
            }
        }
        if too_long {
            return Ok(Some(Line::TooLong));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        match String::from_utf8(std::mem::take(&mut self.buf)) {
            Ok(text) => Ok(Some(Line::Text(text))),
            Err(_) => Ok(Some(Line::NotUtf8)),
        }
    }

    /// The underlying reader.
    pub(crate) fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<Line> {
        let reader = tokio::io::BufReader::with_capacity(4, input);
        let mut lines = LineReader::new(reader, max);
        let mut out = Vec::new();
        while let Some(line) = lines.next().await.unwrap() {
            out.push(line);
        }
        out
    }

    #[tokio::test]
    async fn splits_bounds_and_recovers() {
        let text = |s: &str| Line::Text(s.to_owned());
        assert_eq!(
            lines(b"ab\r\n\nabcdefghij\nxyz\n\xff\nlast", 5).await,
            vec![
                text("ab"),
                text(""),
                Line::TooLong,
                text("xyz"),
                Line::NotUtf8,
                text("last")
            ]
        );
        assert_eq!(lines(b"", 5).await, vec![]);
        assert_eq!(lines(b"12345\n", 5).await, vec![text("12345")]);
    }
}
