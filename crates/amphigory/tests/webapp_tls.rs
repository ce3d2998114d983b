//! Issue 13, item 8: an `https://` webapp (a TLS reverse proxy in front of the
//! container). A local TLS server on 127.0.0.1, with a certificate for `localhost` signed
//! by a CA made for the test (no network), serves `/config.json` and `/ws`. The daemon
//! binary, told to trust that CA (`AMPHIGORY_WEBAPP_CA_FILE`), fetches its config over
//! HTTPS and registers over `wss://`; without it, it refuses the certificate and says
//! so.
//! (Linux only: the test server is rustls, which the daemon uses on Linux alone.)
#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::StreamExt;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(20);

/// A CA, and a server key and certificate for `localhost` it signed.
struct Pki {
    ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server_chain: vec![server.der().clone()],
        server_key: PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
    }
}

/// The TLS webapp: `/config.json` answered, `/ws` accepted; WebSocket messages go to
/// `inbox`; every `/config.json` served is counted.
struct TlsWebapp {
    port: u16,
    inbox: mpsc::UnboundedReceiver<Value>,
    config_fetches: Arc<AtomicUsize>,
}

async fn tls_webapp(pki: &Pki) -> TlsWebapp {
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.server_chain.clone(), pki.server_key.clone_key())
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, inbox) = mpsc::unbounded_channel();
    let config_fetches = Arc::new(AtomicUsize::new(0));
    let fetches = config_fetches.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, tx, fetches) = (acceptor.clone(), tx.clone(), fetches.clone());
            tokio::spawn(async move {
                // A failed handshake (an untrusting client) just ends the connection.
                if let Ok(tls) = acceptor.accept(tcp).await {
                    serve(tls, tx, fetches).await;
                }
            });
        }
    });
    TlsWebapp {
        port,
        inbox,
        config_fetches,
    }
}

/// One connection: the request head decides between `/config.json` and `/ws`.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    inbox: mpsc::UnboundedSender<Value>,
    fetches: Arc<AtomicUsize>,
) {
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        if stream.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    if head.starts_with(b"GET /config.json ") {
        fetches.fetch_add(1, Ordering::SeqCst);
        let body = r#"{"tasks_directory": "/data/tasks", "heartbeat_interval": 5}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        return;
    }
    let replayed = Prefixed {
        prefix: head,
        at: 0,
        inner: stream,
    };
    let Ok(mut ws) = tokio_tungstenite::accept_async(replayed).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Text(text) = message {
            let _ = inbox.send(serde_json::from_str(text.as_str()).unwrap_or(Value::Null));
        }
    }
}

/// A stream that first gives back bytes already read from it.
struct Prefixed<S> {
    prefix: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.at < self.prefix.len() {
            let n = buf.remaining().min(self.prefix.len() - self.at);
            let at = self.at;
            buf.put_slice(&self.prefix[at..at + n]);
            self.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The daemon binary pointed at `https://localhost:<port>`; its log lines on a channel.
fn daemon(
    root: &Path,
    port: u16,
    ca_file: Option<&Path>,
) -> (Child, mpsc::UnboundedReceiver<String>) {
    for dir in ["home", "tmp", "run"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    let yaml = format!("webapp_url: https://localhost:{port}\ndaemon_id: tls@box\n");
    std::fs::write(root.join("daemon.yaml"), yaml).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_amphigory"));
    command
        .arg("--socket")
        .arg(root.join("run/daemon.sock"))
        .arg("daemon")
        .arg("--config")
        .arg(root.join("daemon.yaml"))
        .arg("--tasks-dir")
        .arg(root.join("tasks"))
        .arg("--state-dir")
        .arg(root.join("state"))
        .args(["--simulate", "demo-dvd", "--ws-port", "0", "--headless"])
        .env("HOME", root.join("home"))
        .env("TMPDIR", root.join("tmp"))
        .env("NO_COLOR", "1")
        .env_remove("AMPHIGORY_WEBAPP_CA_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(ca) = ca_file {
        command.env("AMPHIGORY_WEBAPP_CA_FILE", ca);
    }
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, lines)
}

async fn line_with(lines: &mut mpsc::UnboundedReceiver<String>, needle: &str) -> String {
    tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.recv().await {
            if line.contains(needle) {
                return line;
            }
        }
        panic!("the daemon exited without logging {needle:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("no log line with {needle:?} within {WAIT:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item8_an_https_webapp_is_reached_over_tls_and_verified() {
    let pki = pki();
    let mut webapp = tls_webapp(&pki).await;
    let root = tempfile::tempdir().unwrap();
    let ca_file = root.path().join("home-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();

    let (mut trusting, mut log) = daemon(&root.path().join("a"), webapp.port, Some(&ca_file));
    line_with(&mut log, "webapp config fetched and cached").await;
    assert!(webapp.config_fetches.load(Ordering::SeqCst) >= 1);
    let first = tokio::time::timeout(WAIT, webapp.inbox.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first["type"], "daemon_config", "{first}");
    assert_eq!(first["daemon_id"], "tls@box");
    line_with(
        &mut log,
        &format!(
            "webapp link connected to wss://localhost:{}/ws",
            webapp.port
        ),
    )
    .await;
    let _ = trusting.kill();
    let _ = trusting.wait();

    // Not told to trust the home CA: the certificate is refused, and the log says why.
    let mut webapp = tls_webapp(&pki).await;
    let (mut wary, mut log) = daemon(&root.path().join("b"), webapp.port, None);
    let line = line_with(&mut log, "webapp unreachable").await;
    assert!(
        line.contains("TLS handshake with localhost failed"),
        "{line}"
    );
    let line = line_with(&mut log, "webapp link: cannot connect").await;
    assert!(line.contains("certificate"), "{line}");
    assert!(
        webapp.inbox.try_recv().is_err(),
        "nothing reached the webapp"
    );
    assert_eq!(webapp.config_fetches.load(Ordering::SeqCst), 0);
    let _ = wary.kill();
    let _ = wary.wait();
}
