//! Connections to the webapp, plain or over TLS: an `https://` webapp URL means `wss://`
//! for the link and HTTPS for `/config.json` (SPEC §7.2: home setups often put a TLS
//! reverse proxy in front of the container). The server's certificate is verified
//! against the system's roots, plus the PEM file named by `AMPHIGORY_WEBAPP_CA_FILE`
//! (a home CA, or the proxy's self-signed certificate).
//!
//! One small boundary, one backend per platform: rustls with the system's root store on
//! Linux (no OpenSSL), the platform's own TLS (Security.framework) on macOS, which also
//! honours roots the user added to the keychain.

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

#[cfg(target_os = "macos")]
#[path = "native.rs"]
mod backend;
#[cfg(not(target_os = "macos"))]
#[path = "rustls.rs"]
mod backend;

/// Environment variable naming a PEM file of extra roots to trust for the webapp.
pub const EXTRA_ROOTS_ENV: &str = "AMPHIGORY_WEBAPP_CA_FILE";

/// A byte stream to the webapp, plain or encrypted.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection to the webapp.
pub type Stream = Box<dyn Io>;

/// Why a TLS connection could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The extra roots could not be read.
    #[error("cannot read the extra roots in {path} (${EXTRA_ROOTS_ENV}): {reason}")]
    ExtraRoots {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The handshake failed (certificate not trusted, name mismatch, not TLS…).
    #[error("TLS handshake with {host} failed: {reason}")]
    Handshake {
        /// The server's name.
        host: String,
        /// Why.
        reason: String,
    },
    /// The TLS stack could not be set up.
    #[error("TLS is not available: {0}")]
    Setup(String),
}

/// `tcp` as is, or, with `secure`, after a TLS handshake with `host` (verified).
pub async fn wrap(tcp: TcpStream, host: &str, secure: bool) -> Result<Stream, TlsError> {
    if !secure {
        return Ok(Box::new(tcp));
    }
    backend::handshake(tcp, host, extra_roots_file().as_deref()).await
}

/// The file named by [`EXTRA_ROOTS_ENV`], if set and not empty.
fn extra_roots_file() -> Option<PathBuf> {
    std::env::var_os(EXTRA_ROOTS_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The text of the extra roots file.
fn read_extra_roots(path: &std::path::Path) -> Result<String, TlsError> {
    let text = std::fs::read_to_string(path).map_err(|e| TlsError::ExtraRoots {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if pem_certificates(&text).is_empty() {
        return Err(TlsError::ExtraRoots {
            path: path.to_owned(),
            reason: "no PEM certificate in it".to_owned(),
        });
    }
    Ok(text)
}

/// Each `-----BEGIN CERTIFICATE-----` … `-----END CERTIFICATE-----` block of `text`.
fn pem_certificates(text: &str) -> Vec<&str> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let Some(from_start) = rest.get(start..) else {
            break;
        };
        let Some(stop) = from_start.find(END) else {
            break;
        };
        let block_end = stop + END.len();
        blocks.extend(from_start.get(..block_end));
        rest = from_start.get(block_end..).unwrap_or_default();
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_blocks_are_found_and_keys_are_not() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n\
                   -----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n\
                   -----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----";
        let blocks = pem_certificates(pem);
        assert_eq!(blocks.len(), 2);
        assert!(blocks[0].starts_with("-----BEGIN CERTIFICATE-----\nAAEC"));
        assert!(blocks[1].ends_with("CCCC\n-----END CERTIFICATE-----"));
        assert!(pem_certificates("-----BEGIN CERTIFICATE-----\nno end").is_empty());
    }
}
