#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! WebSocket fan-out (SPEC §12: progress reaches 100 clients within 2 ms, p99) and the
//! cost of idle connections. Plain `std` timing: `cargo bench -p amphigory --bench
//! ws_fanout`. Run without `--bench` (as `cargo test --all-targets` does) it is a small
//! smoke run.
//!
//! - **Fan-out**: 100 clients (tokio-tungstenite, on their own one-thread runtime in this
//!   process, so arrival and publish times share one clock) are connected to the real
//!   server (its own two-thread runtime, like the daemon on a 2-core machine). Events are
//!   published on the bus one at a time; each one's latency is publish → arrival at the
//!   *last* of the 100 clients. p50/p99 over 300 events after 20 warm-up ones.
//! - **Idle connections**: 1,000 clients are connected from a child process (this binary
//!   again, with `AMPHIGORY_WS_FANOUT_CHILD` set), so this process's `VmRSS` growth is
//!   the server's alone: (RSS with them − RSS before) / 1,000.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use amphigory::core::{DaemonEvent, EventBus, StatusHandle, StatusSnapshot};
use amphigory::servers::ws::{self, WsContext, WsServerConfig};
use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;

const CHILD_ENV: &str = "AMPHIGORY_WS_FANOUT_CHILD";
const WARM_UP: usize = 20;

struct Plan {
    clients: usize,
    events: usize,
    idle: usize,
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child(&spec);
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let plan = if full {
        Plan {
            clients: 100,
            events: 300,
            idle: 1000,
        }
    } else {
        Plan {
            clients: 10,
            events: 20,
            idle: 50,
        }
    };
    // The daemon's runtime: one worker, as `amphigory daemon` builds it.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let bus = EventBus::new();
    let shutdown = CancellationToken::new();
    let (addr, server) = server_rt.block_on(start(bus.clone(), shutdown.clone()));
    idle_connections(addr, plan.idle);
    fan_out(addr, &bus, &plan);
    shutdown.cancel();
    server_rt.block_on(server).unwrap();
}

async fn start(
    bus: EventBus,
    shutdown: CancellationToken,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let config = WsServerConfig {
        port: 0,
        max_clients: 4096,
        ..WsServerConfig::default()
    };
    let listeners = ws::bind(config).await.unwrap();
    let addr = *listeners
        .local_addrs()
        .iter()
        .find(|a| a.is_ipv4())
        .unwrap();
    let status = StatusHandle::new(StatusSnapshot {
        daemon_id: "bench@host".into(),
        ..StatusSnapshot::default()
    });
    let ctx = WsContext {
        bus,
        status,
        config_changed: Arc::new(Notify::new()),
    };
    (addr, tokio::spawn(ws::run(listeners, ctx, shutdown)))
}

type Client = WebSocketStream<TcpStream>;

/// Connects and reads the opening `sync` and `daemon connected`.
async fn connect(addr: SocketAddr) -> Client {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    // tungstenite zero-fills its whole read buffer (128 KiB by default) before every
    // read: at a hundred clients in this process that would be the benchmark's main cost.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let (mut client, _) =
        tokio_tungstenite::client_async_with_config(format!("ws://{addr}/"), tcp, Some(config))
            .await
            .unwrap();
    for _ in 0..2 {
        client.next().await.unwrap().unwrap();
    }
    client
}

fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn idle_connections(addr: SocketAddr, count: usize) {
    let before = vm_rss_kib();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, format!("{addr} {count}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    let started = Instant::now();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready", "the child connected its clients");
    let connected_in = started.elapsed();
    let after = vm_rss_kib();
    match (before, after) {
        (Some(before), Some(after)) => {
            let growth = after.saturating_sub(before);
            println!(
                "idle: {count} connections held (connected in {connected_in:.2?}); server RSS \
                 {before} KiB -> {after} KiB: +{growth} KiB, {:.1} KiB per connection",
                growth as f64 / count as f64
            );
        }
        _ => println!("idle: {count} connections held; VmRSS not available here"),
    }
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(b"bye\n");
    drop(stdin);
    child.wait().unwrap();
}

/// Child mode: hold `count` connections (answering pings, reading heartbeats) until stdin
/// says so.
fn child(spec: &str) {
    let (addr, count) = spec.split_once(' ').unwrap();
    let addr: SocketAddr = addr.parse().unwrap();
    let count: usize = count.parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..count {
            let mut client = connect(addr).await;
            tokio::spawn(async move { while let Some(Ok(_)) = client.next().await {} });
        }
        println!("ready");
        let _ = std::io::stdout().flush();
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await
        .unwrap();
    });
}

/// `"task_id":"b-<n>"` → n, without parsing the whole message.
fn event_number(text: &str) -> Option<usize> {
    let rest = text.split_once("\"task_id\":\"b-")?.1;
    rest.split('"').next()?.parse().ok()
}

fn progress(n: usize) -> DaemonEvent {
    DaemonEvent::TaskProgress {
        task_id: format!("b-{n}"),
        percent: u8::try_from(n % 101).unwrap(),
        eta_seconds: Some(600),
        current_size_bytes: Some(n as u64 * 1_000_000),
        speed: Some("42.3 MB/s".into()),
    }
}

fn fan_out(addr: SocketAddr, bus: &EventBus, plan: &Plan) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let total = WARM_UP + plan.events;
    let counts: Arc<Vec<AtomicUsize>> = Arc::new((0..total).map(|_| AtomicUsize::new(0)).collect());
    let (all_in, all_in_rx) = std::sync::mpsc::channel::<usize>();
    let clients = rt.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..plan.clients {
            clients.push(connect(addr).await);
        }
        clients
    });
    let readers: Vec<_> = clients
        .into_iter()
        .map(|client| {
            rt.spawn(read_events(
                client,
                total,
                plan.clients,
                counts.clone(),
                all_in.clone(),
            ))
        })
        .collect();
    let mut sent = Vec::with_capacity(total);
    for n in 0..total {
        sent.push(Instant::now());
        bus.publish(progress(n));
        let done = all_in_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(done, n);
        // Pacing: one event at a time, like progress (a few per second per drive).
        std::thread::sleep(Duration::from_micros(500));
    }
    let arrivals: Vec<Vec<Instant>> = readers
        .into_iter()
        .map(|r| rt.block_on(r).unwrap())
        .collect();
    report(plan, &sent, &arrivals);
}

async fn read_events(
    mut client: Client,
    total: usize,
    clients: usize,
    counts: Arc<Vec<AtomicUsize>>,
    all_in: std::sync::mpsc::Sender<usize>,
) -> Vec<Instant> {
    let mut arrivals = Vec::with_capacity(total);
    while arrivals.len() < total {
        let text = match client.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
            other => panic!("client lost its connection: {other:?}"),
        };
        let now = Instant::now();
        let Some(n) = event_number(text.as_str()) else {
            continue;
        };
        assert_eq!(n, arrivals.len(), "in order, none missing");
        arrivals.push(now);
        if counts[n].fetch_add(1, Ordering::AcqRel) + 1 == clients {
            all_in.send(n).unwrap();
        }
    }
    arrivals
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn report(plan: &Plan, sent: &[Instant], arrivals: &[Vec<Instant>]) {
    let mut to_all = Vec::new();
    let mut to_each = Vec::new();
    for (n, at) in sent.iter().enumerate().skip(WARM_UP) {
        let per_client: Vec<Duration> = arrivals.iter().map(|a| a[n] - *at).collect();
        to_all.push(per_client.iter().copied().max().unwrap());
        to_each.extend(per_client);
    }
    to_all.sort();
    to_each.sort();
    println!(
        "fan-out: {} clients, {} events: publish -> arrival at every client p50 {:?}, p99 {:?}, \
         max {:?} (target p99 <= 2 ms); at each client p50 {:?}, p99 {:?}",
        plan.clients,
        plan.events,
        percentile(&to_all, 0.50),
        percentile(&to_all, 0.99),
        to_all.last().unwrap(),
        percentile(&to_each, 0.50),
        percentile(&to_each, 0.99),
    );
}
