//! Opening the link: TCP, TLS for an `https://` webapp, the WebSocket handshake, all
//! within one time limit; and why a connection could not be made, or ended.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::config::http::HttpUrl;
use crate::tls;

/// A WebSocket to the webapp, plain or over TLS.
pub type Socket = WebSocketStream<tls::Stream>;

/// Why a connection to the webapp could not be made, or ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The TCP connection failed.
    #[error("{0}")]
    Connect(std::io::Error),
    /// TLS failed (an `https://` webapp).
    #[error("{0}")]
    Tls(#[from] tls::TlsError),
    /// The WebSocket handshake, or reading, failed.
    #[error("{0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// Nothing connected in time.
    #[error("no connection within {0:?}")]
    Timeout(Duration),
    /// A message could not be encoded.
    #[error("{0}")]
    Encode(#[from] serde_json::Error),
    /// A message could not be written.
    #[error("write failed: {0}")]
    Write(tokio_tungstenite::tungstenite::Error),
    /// A message could not be written in time.
    #[error("the webapp stopped reading")]
    WriteTimeout,
    /// The webapp closed the connection.
    #[error("closed by the webapp")]
    Closed,
    /// The daemon's event bus closed.
    #[error("event bus closed")]
    BusClosed,
    /// The daemon is stopping.
    #[error("daemon stopping")]
    Stopping,
}

/// Opens the webapp's `/ws` (`ws://`, or `wss://` for an `https://` webapp), all of it
/// (connect, TLS, WebSocket handshake) within `within`.
pub async fn open(url: &HttpUrl, within: Duration) -> Result<Socket, LinkError> {
    let ws_url = url.ws_url("/ws");
    let connecting = async {
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(LinkError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let stream = tls::wrap(tcp, &url.host, url.secure).await?;
        let request = ws_url.as_str().into_client_request()?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(1 << 20))
            .max_frame_size(Some(1 << 20));
        let (ws, _) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
        Ok(ws)
    };
    timeout(within, connecting)
        .await
        .map_err(|_| LinkError::Timeout(within))?
}
