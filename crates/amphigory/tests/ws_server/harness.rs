//! The WebSocket server test harness: a real server on `127.0.0.1:0` with a real event bus
//! and status handle the test drives, and real `tokio-tungstenite` clients.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use amphigory::core::status::RunningTask;
use amphigory::core::{EventBus, StatusHandle, StatusSnapshot};
use amphigory::servers::ws::{self, WsContext, WsServerConfig};
use amphigory_wire::drive::{DriveState, DriveStatus, ScanStatus};
use amphigory_wire::task::TaskType;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;

/// How long any single expected message may take.
pub const WAIT: Duration = Duration::from_secs(10);
/// The webapp origin every test server trusts.
pub const WEBAPP: &str = "http://amphigory.lan:6199";
pub const DAEMON_ID: &str = "purp@beehive";

pub type Client = WebSocketStream<TcpStream>;

pub struct Server {
    pub addr: SocketAddr,
    pub addrs: Vec<SocketAddr>,
    pub bus: EventBus,
    pub status: StatusHandle,
    pub config_changed: Arc<Notify>,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<()>,
}

/// Heartbeats hourly (out of the way) unless a test wants them.
pub fn config() -> WsServerConfig {
    WsServerConfig {
        port: 0,
        webapp_origin: Some(format!("{WEBAPP}/")),
        heartbeat_interval: Duration::from_secs(3600),
        ..WsServerConfig::default()
    }
}

pub fn drive(device: &str, state: DriveState, volume: Option<&str>) -> DriveStatus {
    DriveStatus {
        drive_id: format!("{DAEMON_ID}:{device}"),
        daemon_id: DAEMON_ID.into(),
        device: format!("/dev/{device}"),
        label: Some(format!("Drive {device}")),
        state,
        disc_volume: volume.map(str::to_owned),
        ..DriveStatus::default()
    }
}

/// Two drives: `sr0` scanning a Blu-ray (task `scan-1` at 40 %), `sr1` empty.
pub fn snapshot() -> StatusSnapshot {
    let mut sr0 = drive("sr0", DriveState::Scanning, Some("DEMO_BLURAY"));
    sr0.scan_status = Some(ScanStatus::InProgress);
    sr0.scan_task_id = Some("scan-1".into());
    StatusSnapshot {
        daemon_id: DAEMON_ID.into(),
        version: "0.1.0".into(),
        paused: false,
        queue_depth: 2,
        drives: vec![sr0, drive("sr1", DriveState::Empty, None)],
        running: vec![RunningTask {
            task_id: "scan-1".into(),
            task_type: TaskType::Scan,
            drive_id: format!("{DAEMON_ID}:sr0"),
            percent: 40,
            eta_seconds: Some(12),
            current_size_bytes: None,
            speed: None,
        }],
        problems: Vec::new(),
        webapp_link: None,
        current_drive: Some(format!("{DAEMON_ID}:sr0")),
        keep_awake: None,
        discs_needed: Vec::new(),
    }
}

pub async fn start(config: WsServerConfig) -> Server {
    let listeners = ws::bind(config).await.unwrap();
    let addrs = listeners.local_addrs();
    assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    let addr = *addrs.iter().find(|a| a.is_ipv4()).unwrap();
    assert_eq!(listeners.port(), addr.port());
    let bus = EventBus::new();
    let status = StatusHandle::new(snapshot());
    let config_changed = Arc::new(Notify::new());
    let shutdown = CancellationToken::new();
    let ctx = WsContext {
        bus: bus.clone(),
        status: status.clone(),
        config_changed: config_changed.clone(),
    };
    let task = tokio::spawn(ws::run(listeners, ctx, shutdown.clone()));
    Server {
        addr,
        addrs,
        bus,
        status,
        config_changed,
        shutdown,
        task,
    }
}

/// Connects, with this `Origin` header if any.
pub async fn try_connect(
    addr: SocketAddr,
    origin: Option<&str>,
) -> Result<Client, tungstenite::Error> {
    let mut request = format!("ws://{addr}/").into_client_request()?;
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(origin).unwrap());
    }
    let tcp = TcpStream::connect(addr).await?;
    let (client, _response) = tokio_tungstenite::client_async(request, tcp).await?;
    Ok(client)
}

/// Connects and reads the opening `sync` and `daemon connected`; returns the `sync`.
pub async fn connect(addr: SocketAddr) -> (Client, Value) {
    let mut client = try_connect(addr, None).await.unwrap();
    let sync = next_json(&mut client).await;
    assert_eq!(sync["type"], "sync");
    assert_eq!(
        next_json(&mut client).await,
        serde_json::json!({"type":"daemon","event":"connected"})
    );
    (client, sync)
}

/// The next text message as JSON (pings and pongs are skipped; tungstenite answers them).
pub async fn next_json(client: &mut Client) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, client.next())
            .await
            .expect("a message in time")
            .expect("the connection is open")
            .expect("a readable message");
        match message {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The next message of this `type`, skipping others (heartbeats…).
pub async fn next_of(client: &mut Client, kind: &str) -> Value {
    loop {
        let v = next_json(client).await;
        if v["type"] == kind {
            return v;
        }
    }
}

pub async fn send_json(client: &mut Client, value: Value) {
    client.send(Message::text(value.to_string())).await.unwrap();
}

/// Reads until the server ends the connection; returns the close frame's code, if one
/// came, and how many text messages arrived before it.
pub async fn read_to_end(client: &mut Client) -> (Option<u16>, usize) {
    let mut texts = 0;
    loop {
        let next = tokio::time::timeout(WAIT, client.next())
            .await
            .expect("the server ends the connection in time");
        match next {
            Some(Ok(Message::Text(_))) => texts += 1,
            Some(Ok(Message::Close(frame))) => return (frame.map(|f| u16::from(f.code)), texts),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return (None, texts),
        }
    }
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}
