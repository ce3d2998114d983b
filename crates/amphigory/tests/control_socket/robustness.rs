//! Bad input: malformed JSON, unknown actions, wrong argument types, oversized and
//! non-UTF-8 lines each get `ok:false` with a clear error, and the connection goes on.

use serde_json::json;

use super::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_and_the_connection_stays_usable() {
    let daemon = Daemon::start().await;
    let mut c = daemon.connect().await;
    let cases: [(&[u8], &str); 9] = [
        (b"not json", "malformed request"),
        (b"{\"action\": \"status\"", "malformed request"),
        (b"[1, 2]", "malformed request"),
        (b"{\"args\": {}}", "malformed request"),
        (b"{\"action\": 7}", "malformed request"),
        (b"{\"action\": \"fly\"}", "unknown action 'fly'"),
        (
            b"{\"action\": \"pause\", \"args\": {\"now\": \"yes\"}}",
            "bad arguments for 'pause'",
        ),
        (
            b"{\"action\": \"cancel\", \"args\": {\"task_id\": 12}}",
            "bad arguments for 'cancel'",
        ),
        (
            b"{\"action\": \"subscribe\", \"args\": [true]}",
            "bad arguments for 'subscribe'",
        ),
    ];
    for (line, expected) in cases {
        c.send_raw(line).await;
        let response = c.next().await;
        let text = String::from_utf8_lossy(line);
        assert_eq!(response["ok"], false, "{text} → {response}");
        let error = response["error"].as_str().unwrap();
        assert!(error.contains(expected), "{text} → {error}");
        c.assert_usable().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_binary_lines_are_refused_without_closing() {
    let daemon = Daemon::start().await;
    let mut c = daemon.connect().await;
    let huge = format!(
        "{{\"action\": \"status\", \"args\": {{\"pad\": \"{}\"}}}}",
        "x".repeat(200 * 1024)
    );
    c.send_raw(huge.as_bytes()).await;
    let error = c.next().await;
    assert_eq!(error["ok"], false);
    assert!(
        error["error"].as_str().unwrap().contains("too long"),
        "{error}"
    );
    c.assert_usable().await;
    c.send_raw(b"\xff\xfe{\"action\":\"status\"}").await;
    let error = c.next().await;
    assert!(
        error["error"].as_str().unwrap().contains("UTF-8"),
        "{error}"
    );
    c.send_raw(b"").await;
    c.send_raw(b"   ").await;
    c.assert_usable().await;
    let ok = c.request(json!({"action": "status"})).await;
    assert_eq!(ok["ok"], true, "blank lines are skipped, not answered");
}
