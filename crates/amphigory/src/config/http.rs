//! A tiny HTTP/1.1 client for the one request the daemon makes, `GET /config.json`:
//! `http://`, or `https://` through [`crate::tls`], over a tokio `TcpStream`. Responses
//! are parsed with
//! `httparse`; `Content-Length`, chunked and read-to-close bodies are understood; sizes
//! are bounded and the whole exchange runs under one deadline.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::http::Uri;

/// Largest response head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Largest body accepted (a config is a few hundred bytes).
const MAX_BODY: usize = 1024 * 1024;

/// An `http://` or `https://` base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (default 80 / 443).
    pub port: u16,
    /// Base path without a trailing `/` (`""` for the root).
    pub base_path: String,
    /// `https://`.
    pub secure: bool,
}

/// Why a URL or a request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Not an `http://host[:port][/path]` URL.
    #[error("not a usable http:// URL ({0})")]
    BadUrl(String),
    /// `https://` and the TLS session could not be set up.
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    /// Could not connect.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// Reading or writing failed.
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// No full answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Not HTTP, or a response we cannot read.
    #[error("malformed HTTP response: {0}")]
    Malformed(String),
}

impl HttpUrl {
    /// Parses `http://host[:port][/base]`.
    pub fn parse(url: &str) -> Result<Self, HttpError> {
        let uri: Uri = url
            .trim()
            .parse()
            .map_err(|e| HttpError::BadUrl(format!("{url:?}: {e}")))?;
        let secure = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => {
                return Err(HttpError::BadUrl(format!(
                    "{url:?} must start with http://"
                )));
            }
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| HttpError::BadUrl(format!("{url:?} has no host")))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let base_path = uri.path().trim_end_matches('/').to_owned();
        Ok(Self {
            host,
            port,
            base_path,
            secure,
        })
    }

    /// `host:port` (IPv6 in brackets), for `Host:` and logs.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The path of `rel` (e.g. `/config.json`) under the base path.
    pub fn path(&self, rel: &str) -> String {
        format!("{}/{}", self.base_path, rel.trim_start_matches('/'))
    }

    /// `ws://` (or `wss://`) URL of `rel` under the base path.
    pub fn ws_url(&self, rel: &str) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        format!("{scheme}://{}{}", self.authority(), self.path(rel))
    }
}

/// A response: status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// E.g. 200.
    pub status: u16,
    /// The body, decoded from chunks when needed.
    pub body: Vec<u8>,
}

/// `GET rel` on `url`, all of it (connect, request, response) within `deadline`.
pub async fn get(url: &HttpUrl, rel: &str, deadline: Duration) -> Result<HttpResponse, HttpError> {
    tokio::time::timeout(deadline, exchange(url, rel))
        .await
        .map_err(|_| HttpError::Timeout(deadline))?
}

async fn exchange(url: &HttpUrl, rel: &str) -> Result<HttpResponse, HttpError> {
    let tcp = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|source| HttpError::Connect {
            addr: url.authority(),
            source,
        })?;
    let mut stream = crate::tls::wrap(tcp, &url.host, url.secure).await?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: amphigory/{}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        url.path(rel),
        url.authority(),
        env!("CARGO_PKG_VERSION"),
    );
    stream.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(4096);
    loop {
        if let Some(response) = try_parse(&buf, false)? {
            return Ok(response);
        }
        if buf.len() > MAX_HEAD + MAX_BODY {
            return Err(HttpError::Malformed("response too large".into()));
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return try_parse(&buf, true)?
                .ok_or_else(|| HttpError::Malformed("connection closed mid-response".into()));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// A complete response in `buf`, `None` if more is needed. `eof`: nothing more will come
/// (a body without length or chunks ends there).
fn try_parse(buf: &[u8], eof: bool) -> Result<Option<HttpResponse>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(HttpError::Malformed("response head too large".into()));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(HttpError::Malformed(e.to_string())),
    };
    let status = response.code.unwrap_or(0);
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::trim)
    };
    let chunked =
        header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = header("content-length")
        .map(str::parse::<usize>)
        .transpose();
    let length = length.map_err(|_| HttpError::Malformed("bad Content-Length".into()))?;
    let body = buf.get(head_len..).unwrap_or_default();
    let body = if chunked {
        decode_chunked(body)?
    } else if let Some(length) = length {
        if length > MAX_BODY {
            return Err(HttpError::Malformed("body too large".into()));
        }
        body.get(..length).map(<[u8]>::to_vec)
    } else {
        eof.then(|| body.to_vec())
    };
    Ok(body.map(|body| HttpResponse { status, body }))
}

/// The body of a complete chunked encoding, `None` while incomplete.
fn decode_chunked(mut data: &[u8]) -> Result<Option<Vec<u8>>, HttpError> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_line = std::str::from_utf8(data.get(..line_end).unwrap_or_default())
            .map_err(|_| HttpError::Malformed("bad chunk size".into()))?;
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| HttpError::Malformed(format!("bad chunk size {size_hex:?}")))?;
        if body.len() + size > MAX_BODY {
            return Err(HttpError::Malformed("body too large".into()));
        }
        let rest = data.get(line_end + 2..).unwrap_or_default();
        if size == 0 {
            return Ok(Some(body));
        }
        let (Some(chunk), Some(after)) = (rest.get(..size), rest.get(size + 2..)) else {
            return Ok(None);
        };
        body.extend_from_slice(chunk);
        data = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_derive_ws_and_origin() {
        let u = HttpUrl::parse("http://nas.lan:6199/amph/").unwrap();
        assert_eq!(u.path("/config.json"), "/amph/config.json");
        assert_eq!(u.ws_url("/ws"), "ws://nas.lan:6199/amph/ws");
        let u = HttpUrl::parse("http://[::1]").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 80));
        assert_eq!(u.ws_url("ws"), "ws://[::1]:80/ws");
        assert!(HttpUrl::parse("https://x").unwrap().secure);
        assert!(HttpUrl::parse("ftp://x").is_err());
        assert!(HttpUrl::parse("localhost:6199").is_err());
    }

    #[test]
    fn bodies_by_length_chunks_or_close() {
        let r = try_parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}xx", false).unwrap();
        assert_eq!(r.unwrap().body, b"{}");
        assert!(
            try_parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}", false)
                .unwrap()
                .is_none()
        );
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n3;x=y\r\na\":\r\n1\r\n1\r\n0\r\n\r\n";
        assert_eq!(
            try_parse(chunked, false).unwrap().unwrap().body,
            b"{\"a\":1"
        );
        let open = b"HTTP/1.0 404 Not Found\r\n\r\nnope";
        assert!(try_parse(open, false).unwrap().is_none());
        let r = try_parse(open, true).unwrap().unwrap();
        assert_eq!((r.status, r.body.as_slice()), (404, &b"nope"[..]));
        assert!(try_parse(b"SSH-2.0-OpenSSH\r\n\r\n", true).is_err());
    }
}
