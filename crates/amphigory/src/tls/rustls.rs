//! TLS on Linux (and any non-macOS platform): rustls with the `ring` provider, roots from
//! the system's store (`/etc/ssl/certs` and friends) plus the extra roots file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::{Stream, TlsError, pem_certificates, read_extra_roots};

/// The client configuration, built once per extra roots file (reading the system's
/// roots takes milliseconds, and the link reconnects often).
fn config(extra: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    type Built = (Option<PathBuf>, Arc<ClientConfig>);
    static CONFIG: Mutex<Option<Built>> = Mutex::new(None);
    let mut cached = CONFIG.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((path, config)) = cached.as_ref() {
        if path.as_deref() == extra {
            return Ok(config.clone());
        }
    }
    let config = build_config(extra)?;
    *cached = Some((extra.map(Path::to_owned), config.clone()));
    Ok(config)
}

fn build_config(extra: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    for error in &system.errors {
        tracing::debug!("reading the system's roots: {error}");
    }
    let (added, ignored) = roots.add_parsable_certificates(system.certs);
    tracing::debug!("{added} system roots ({ignored} unusable)");
    if let Some(path) = extra {
        let text = read_extra_roots(path)?;
        for block in pem_certificates(&text) {
            let certificate = CertificateDer::from_pem_slice(block.as_bytes()).map_err(|e| {
                TlsError::ExtraRoots {
                    path: path.to_owned(),
                    reason: e.to_string(),
                }
            })?;
            roots.add(certificate).map_err(|e| TlsError::ExtraRoots {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        }
    }
    // ring, not aws-lc-rs: a far lighter build (no cmake, no C toolchain beyond cc), and
    // the post-quantum key exchange it lacks is not what a LAN webapp's proxy speaks.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A verified TLS session with `host` over `tcp`.
pub(super) async fn handshake(
    tcp: TcpStream,
    host: &str,
    extra: Option<&Path>,
) -> Result<Stream, TlsError> {
    let name = ServerName::try_from(host.to_owned()).map_err(|e| TlsError::Handshake {
        host: host.to_owned(),
        reason: e.to_string(),
    })?;
    let tls = TlsConnector::from(config(extra)?)
        .connect(name, tcp)
        .await
        .map_err(|e| TlsError::Handshake {
            host: host.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(Box::new(tls))
}
