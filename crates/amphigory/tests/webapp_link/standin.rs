//! A stand-in for the real Amphigory webapp, as far as the daemon's link sees it: an axum
//! server on `127.0.0.1` serving `/config.json` and accepting WebSockets at `/ws`. Like the
//! real one it broadcasts every message it receives to every socket (so the daemon gets
//! its own echoes); it records every message with the connection it came on, sends
//! `request`s, counts config fetches, and can be stopped and restarted on the same port.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// One message the stand-in received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Connection number (1, 2, … over the stand-in's whole life, restarts included).
    pub conn: usize,
    /// When it arrived.
    pub at: Instant,
    /// The message.
    pub msg: Value,
}

struct Shared {
    /// The WebSocket connections, which outlive the server's graceful shutdown (an
    /// upgraded connection is no longer the server's): a restart waits for them, or the
    /// port is still in use.
    connections_alive: TaskTracker,
    config: Mutex<String>,
    config_fetches: watch::Sender<usize>,
    connections: AtomicUsize,
    /// Every message received, in order.
    log: Mutex<Vec<Received>>,
    inbox: mpsc::UnboundedSender<Received>,
    /// What every socket sends out: echoes and requests.
    outbound: broadcast::Sender<String>,
}

/// The stand-in webapp.
pub struct StandIn {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    inbox: mpsc::UnboundedReceiver<Received>,
    running: Option<(CancellationToken, JoinHandle<()>)>,
}

impl StandIn {
    /// Starts on a free port, serving `config` at `/config.json`.
    pub async fn start(config: Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (inbox_tx, inbox) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            connections_alive: TaskTracker::new(),
            config: Mutex::new(config.to_string()),
            config_fetches: watch::channel(0).0,
            connections: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            inbox: inbox_tx,
            outbound: broadcast::channel(4096).0,
        });
        let mut standin = Self {
            addr,
            shared,
            inbox,
            running: None,
        };
        standin.serve(listener);
        standin
    }

    /// A port nobody listens on (bound then released), for a webapp that is down.
    pub async fn dead_port() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    }

    /// Starts on `addr` (a restart, or a webapp that comes up late).
    pub async fn start_on(addr: SocketAddr, config: Value) -> Self {
        let mut standin = Self::start(config).await;
        standin.stop().await;
        standin.addr = addr;
        standin.restart().await;
        standin
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn serve(&mut self, listener: TcpListener) {
        let stop = CancellationToken::new();
        let app = Router::new()
            .route("/config.json", get(config_json))
            .route("/ws", get(ws_upgrade))
            .with_state((self.shared.clone(), stop.clone()));
        let signal = stop.clone();
        let task = tokio::spawn(async move {
            // No Nagle: a request must not wait for the ACK of an earlier echo.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app)
                .with_graceful_shutdown(signal.cancelled_owned())
                .await
                .unwrap();
        });
        self.running = Some((stop, task));
    }

    /// Stops: every socket is dropped and the port released.
    pub async fn stop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            stop.cancel();
            task.await.unwrap();
            self.shared.connections_alive.close();
            self.shared.connections_alive.wait().await;
            self.shared.connections_alive.reopen();
        }
    }

    /// Starts again on the same port.
    pub async fn restart(&mut self) {
        assert!(self.running.is_none(), "still running");
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    /// Sends `msg` to every connected socket, as the real webapp sends requests.
    pub fn send(&self, msg: Value) {
        let _ = self.shared.outbound.send(msg.to_string());
    }

    pub fn config_fetches(&self) -> usize {
        *self.shared.config_fetches.borrow()
    }

    /// Waits until `/config.json` has been fetched more than `count` times.
    pub async fn fetched_more_than(&self, count: usize, within: Duration) {
        let mut fetches = self.shared.config_fetches.subscribe();
        tokio::time::timeout(within, fetches.wait_for(|n| *n > count))
            .await
            .unwrap_or_else(|_| {
                panic!("config.json not fetched more than {count} times within {within:?}")
            })
            .unwrap();
    }

    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Every message received so far.
    pub fn log(&self) -> Vec<Received> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The next received message matching `pred`, skipping the others; panics after
    /// `within`.
    pub async fn next_where(
        &mut self,
        within: Duration,
        pred: impl Fn(&Received) -> bool,
    ) -> Received {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.inbox.recv()).await {
                Ok(Some(r)) if pred(&r) => return r,
                Ok(Some(_)) => {}
                Ok(None) => panic!("stand-in inbox closed"),
                Err(_) => panic!("no matching message within {within:?}"),
            }
        }
    }

    /// The next message of this `type`.
    pub async fn next_of(&mut self, kind: &str, within: Duration) -> Received {
        self.next_where(within, |r| r.msg["type"] == kind).await
    }
}

async fn config_json(
    State((shared, _)): State<(Arc<Shared>, CancellationToken)>,
) -> impl IntoResponse {
    shared.config_fetches.send_modify(|n| *n += 1);
    let body = shared.config.lock().unwrap().clone();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

async fn ws_upgrade(
    ws: WebSocketUpgrade,
    State((shared, stop)): State<(Arc<Shared>, CancellationToken)>,
) -> impl IntoResponse {
    let tracker = shared.connections_alive.clone();
    ws.on_upgrade(move |socket| tracker.track_future(connection(socket, shared, stop)))
}

async fn connection(socket: WebSocket, shared: Arc<Shared>, stop: CancellationToken) {
    let conn = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
    let mut outbound = shared.outbound.subscribe();
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            inbound = stream.next() => match inbound {
                Some(Ok(Message::Text(text))) => {
                    let msg: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                    let received = Received { conn, at: Instant::now(), msg };
                    shared.log.lock().unwrap().push(received.clone());
                    let _ = shared.inbox.send(received);
                    // Like the real webapp: everything goes to every socket.
                    let _ = shared.outbound.send(text.as_str().to_owned());
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            out = outbound.recv() => match out {
                Ok(text) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
