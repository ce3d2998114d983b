//! The control socket's framing, shared by the daemon and the CLI: newline-delimited
//! input with a bound (a line longer than the limit is skipped up to its newline and
//! reported, so one oversized request costs a fixed amount of memory and the connection
//! stays usable), request lines decoded to [`ControlRequest`]s, and responses encoded as
//! single lines.

use amphigory_wire::control::{ControlRequest, ControlResponse, RawRequest, RequestError};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Why a request line was not a request; the text goes back to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    /// Longer than the line limit.
    #[error("request too long: at most {max} bytes per line")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Not UTF-8.
    #[error("malformed request: not UTF-8")]
    NotUtf8,
    /// Not the JSON of a request.
    #[error(r#"malformed request ({0}); expected {{"action": "...", "args": {{...}}}}"#)]
    Malformed(String),
    /// A request of an unknown action, or with bad arguments.
    #[error(transparent)]
    Request(#[from] RequestError),
}

/// A response as the bytes of its line, without the newline: compact JSON, which escapes
/// every control character, so it never holds a newline of its own.
pub(crate) fn encode_reply(response: &ControlResponse) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(response)
}

/// What one input line asks: `None` for a blank line (skipped, no answer), else the
/// checked request or why it is not one.
pub(crate) fn request_of(line: Line, max: usize) -> Option<Result<ControlRequest, FrameError>> {
    match line {
        Line::Text(text) if text.trim().is_empty() => None,
        line => Some(parse(line, max)),
    }
}

/// A line as a checked request.
fn parse(line: Line, max: usize) -> Result<ControlRequest, FrameError> {
    let text = match line {
        Line::Text(text) => text,
        Line::TooLong => return Err(FrameError::TooLong { max }),
        Line::NotUtf8 => return Err(FrameError::NotUtf8),
    };
    let raw: RawRequest =
        serde_json::from_str(&text).map_err(|e| FrameError::Malformed(e.to_string()))?;
    Ok(ControlRequest::from_raw(raw)?)
}

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
