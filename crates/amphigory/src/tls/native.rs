//! TLS on macOS: the platform's own (Security.framework, through `native-tls`), which
//! verifies against the system's and the user's keychain roots, plus the extra roots
//! file.

use std::path::Path;

use tokio::net::TcpStream;

use super::{Stream, TlsError, pem_certificates, read_extra_roots};

/// A verified TLS session with `host` over `tcp`.
pub(super) async fn handshake(
    tcp: TcpStream,
    host: &str,
    extra: Option<&Path>,
) -> Result<Stream, TlsError> {
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(path) = extra {
        let text = read_extra_roots(path)?;
        for block in pem_certificates(&text) {
            let certificate = native_tls::Certificate::from_pem(block.as_bytes()).map_err(|e| {
                TlsError::ExtraRoots {
                    path: path.to_owned(),
                    reason: e.to_string(),
                }
            })?;
            builder.add_root_certificate(certificate);
        }
    }
    let connector = builder
        .build()
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let tls = tokio_native_tls::TlsConnector::from(connector)
        .connect(host, tcp)
        .await
        .map_err(|e| TlsError::Handshake {
            host: host.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(Box::new(tls))
}
