//! What no client — or web page — may do to the server: connect from a foreign origin,
//! hurt it with oversized frames or garbage, stall the others by not reading, linger
//! without answering pings, or outnumber it; and how it shuts down.

use std::time::{Duration, Instant};

use amphigory::core::DaemonEvent;
use amphigory::servers::ws::WsServerConfig;
use futures_util::SinkExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};

use super::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_origin_is_refused_with_403_and_local_ones_are_accepted() {
    let server = start(config()).await;
    for foreign in [
        "http://evil.example",
        "null",
        "http://localhost.evil.example:3000",
        "http://amphigory.lan:6200",
        "https://amphigory.lan:6199",
    ] {
        match try_connect(server.addr, Some(foreign)).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 403, "{foreign}");
            }
            Err(other) => panic!("{foreign}: expected HTTP 403, got {other}"),
            Ok(_) => panic!("{foreign} was accepted"),
        }
    }
    for local in [
        None,
        Some("http://localhost:3000"),
        Some("http://127.0.0.1:8080"),
        Some("http://[::1]:5173"),
        Some(WEBAPP),
    ] {
        let mut client = try_connect(server.addr, local).await.unwrap();
        assert_eq!(next_json(&mut client).await["type"], "sync", "{local:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_mb_frame_and_garbage_do_not_hurt_the_server() {
    let server = start(config()).await;
    let (mut watcher, _) = connect(server.addr).await;
    let (mut garbage, _) = connect(server.addr).await;
    let (mut big, _) = connect(server.addr).await;

    for text in [
        "not json {{{",
        "",
        "{}",
        "[1,2,3]",
        r#"{"type":"request"}"#,
        r#"{"type":"request","request_id":1,"method":"list_drives","params":"nope"}"#,
        r#"{"type":"disc_event","event":"inserted","device":"/dev/sr0"}"#,
        r#"{"type":"progress","task_id":"echo","percent":5}"#,
        r#"{"type":"config_updated","extra":"#,
    ] {
        garbage.send(Message::text(text)).await.unwrap();
    }
    garbage
        .send(Message::binary(vec![0u8, 159, 146, 150]))
        .await
        .unwrap();
    send_json(
        &mut garbage,
        json!({"type":"request","request_id":"still-here","method":"list_drives"}),
    )
    .await;
    let answer = next_json(&mut garbage).await;
    assert_eq!(
        answer["request_id"], "still-here",
        "garbage was ignored, not fatal"
    );

    // 10 MB in one frame: the server refuses it after reading its header and closes
    // this connection (1009 when the close frame gets through), without buffering it.
    let sent = tokio::time::timeout(WAIT, big.send(Message::text("x".repeat(10 << 20)))).await;
    assert!(
        sent.is_ok(),
        "the server does not leave a 10 MB sender hanging"
    );
    let (code, _) = read_to_end(&mut big).await;
    assert!(matches!(code, None | Some(1009)), "{code:?}");

    // Everybody else is still served, and the server still accepts.
    server.bus.publish(DaemonEvent::Paused);
    assert_eq!(
        next_json(&mut watcher).await,
        json!({"type":"daemon","event":"paused"})
    );
    assert_eq!(
        next_json(&mut garbage).await,
        json!({"type":"daemon","event":"paused"})
    );
    let (_fresh, sync) = connect(server.addr).await;
    assert_eq!(sync["queue_depth"], 2);
}

/// A ~16 KiB progress message, numbered by its task id.
fn fat_progress(n: usize, speed: &str) -> DaemonEvent {
    DaemonEvent::TaskProgress {
        task_id: format!("t-{n}"),
        percent: u8::try_from(n % 101).unwrap(),
        eta_seconds: Some(1),
        current_size_bytes: Some(n as u64),
        speed: Some(speed.to_owned()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_delay_the_others() {
    const EVENTS: usize = 2000;
    // Bursts fit the reader's queue: it must get everything, the stalled one cannot.
    const BATCH: usize = 50;
    let server = start(WsServerConfig {
        client_queue_len: 64,
        max_skipped: 16,
        write_timeout: Duration::from_secs(2),
        ..config()
    })
    .await;
    // Connected, handshake done, and then never read from (until the end).
    let mut stalled = try_connect(server.addr, None).await.unwrap();
    let (mut reader, _) = connect(server.addr).await;

    // 2000 × 16 KiB = 32 MB: far more than the stalled client's socket buffers hold.
    let speed = "s".repeat(16 * 1024);
    let mut worst = Duration::ZERO;
    let started = Instant::now();
    for batch in 0..EVENTS / BATCH {
        let sent = Instant::now();
        for n in batch * BATCH..(batch + 1) * BATCH {
            server.bus.publish(fat_progress(n, &speed));
        }
        for n in batch * BATCH..(batch + 1) * BATCH {
            let message = next_json(&mut reader).await;
            assert_eq!(
                message["task_id"],
                format!("t-{n}"),
                "in order, none missing"
            );
        }
        worst = worst.max(sent.elapsed());
    }
    let total = started.elapsed();
    eprintln!("reader got {EVENTS} messages in {total:?}; slowest batch of {BATCH}: {worst:?}");
    assert!(worst < Duration::from_secs(5), "{worst:?}");

    // The stalled client was skipped and then dropped: it ends early.
    let (_, texts) = read_to_end(&mut stalled).await;
    eprintln!("the stalled client got {texts} of {} messages", EVENTS + 2);
    assert!(texts < EVENTS, "{texts}");

    // And the reader is still fine.
    server.bus.publish(DaemonEvent::Resumed);
    assert_eq!(next_of(&mut reader, "daemon").await["event"], "resumed");
}

/// A raw client: completes the handshake and then only reads bytes, never answering.
async fn mute_client(addr: std::net::SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    tcp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_does_not_answer_pings_is_dropped_and_one_that_does_stays() {
    let ping = Duration::from_millis(100);
    let server = start(WsServerConfig {
        ping_interval: ping,
        heartbeat_interval: Duration::from_millis(50),
        ..config()
    })
    .await;
    let mut mute = mute_client(server.addr).await;
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    let read_all = async {
        loop {
            match mute.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(WAIT, read_all)
        .await
        .expect("the mute peer is dropped");
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    assert!(
        seen.windows(2).any(|w| w == [0x89, 0x00]),
        "a ping was sent"
    );

    // A reading client answers pings (tungstenite does) across many intervals.
    let (mut live, _) = connect(server.addr).await;
    for _ in 0..12 {
        next_of(&mut live, "heartbeat").await;
    }
    send_json(
        &mut live,
        json!({"type":"request","request_id":"ok","method":"list_drives"}),
    )
    .await;
    assert_eq!(next_of(&mut live, "response").await["request_id"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_told_why_and_closed() {
    let server = start(WsServerConfig {
        max_clients: 2,
        max_refusing: 1,
        ..config()
    })
    .await;
    let (_a, _) = connect(server.addr).await;
    let (mut b, _) = connect(server.addr).await;
    match try_connect(server.addr, None).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
            assert_eq!(response.headers()["retry-after"], "10");
            let body = String::from_utf8(response.body().clone().unwrap()).unwrap();
            assert!(
                body.contains("too many websocket clients (at most 2)"),
                "{body}"
            );
        }
        other => panic!("a third is refused with HTTP 503: {other:?}"),
    }
    b.close(None).await.unwrap();
    read_to_end(&mut b).await;
    // The freed slot is reusable once the server's task for `b` has ended, a moment
    // after the closing handshake: retry connecting (bounded) rather than sleep.
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(mut c) = try_connect(server.addr, None).await {
            assert_eq!(next_json(&mut c).await["type"], "sync");
            break;
        }
        assert!(Instant::now() < deadline, "the slot never came back");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_close_frames_and_run_returns() {
    let server = start(config()).await;
    let (mut a, _) = connect(server.addr).await;
    let (mut b, _) = connect(server.addr).await;
    let started = Instant::now();
    server.shutdown.cancel();
    for client in [&mut a, &mut b] {
        let (code, texts) = read_to_end(client).await;
        assert_eq!((code, texts), (Some(1001), 0), "going away");
    }
    tokio::time::timeout(WAIT, server.task)
        .await
        .expect("run returns")
        .unwrap();
    eprintln!("shutdown took {:?}", started.elapsed());
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "listeners are closed"
    );
}
