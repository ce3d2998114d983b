#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `amphigory makemkv parse`: the real binary on saved transcripts.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn amphigory(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_amphigory"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    })
}

const SMALL_SCAN: &str = "TCOUNT:1\r\nCINFO:1,6206,\"DVD disc\"\r\nCINFO:2,0,\"A, B\"\r\n\
    TINFO:0,9,0,\"0:45:00\"\r\nSINFO:0,0,1,6202,\"Audio\"\r\nSINFO:0,0,3,0,\"eng\"\r\n";

#[test]
fn a_capture_prints_the_scan_result() {
    let Some(path) = support::shared_fixture("makemkv/bluray-logical-volume-id-info-macos.txt")
    else {
        return;
    };
    let out = amphigory(&["makemkv", "parse", path.to_str().unwrap()], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = stdout_json(&out);
    assert_eq!(v["disc_type"], "bluray");
    assert_eq!(v["tracks"][0]["number"], 0);
    assert_eq!(v["tracks"][0]["classification"], "main_feature");
    assert_eq!(v["tracks"][0]["confidence"], "high");
    assert_eq!(v["tracks"][0]["chapter_count"], 24);
    assert_eq!(v["tracks"][0]["subtitle_streams"][1]["forced"], true);
}

#[test]
fn a_failure_capture_prints_the_error_and_exits_1() {
    let Some(path) = support::shared_fixture("makemkv/error-no-drives-version-too-old-linux.txt")
    else {
        return;
    };
    let out = amphigory(&["makemkv", "parse", "--json", path.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    assert_eq!(v["error"]["code"], "MAKEMKV_FAILED");
    assert!(v["error"]["message"].as_str().unwrap().contains("key"));
    assert!(v["error"]["detail"].as_str().unwrap().contains("[5021]"));
}

#[test]
fn stdin_is_read_for_a_dash() {
    let out = amphigory(&["makemkv", "parse", "-"], SMALL_SCAN);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = stdout_json(&out);
    assert_eq!(v["disc_name"], "A, B");
    assert_eq!(v["disc_type"], "dvd");
    assert_eq!(v["tracks"][0]["audio_streams"][0]["language"], "eng");
}

#[test]
fn summary_prints_a_table() {
    let out = amphigory(&["makemkv", "parse", "--summary", "-"], SMALL_SCAN);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("A, B (dvd), 1 titles\n"), "{text}");
    assert!(
        text.contains("0:45:00") && text.contains("featurettes"),
        "{text}"
    );
    let out = amphigory(&["makemkv", "parse", "--summary", "-"], "TCOUNT:0\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("MAKEMKV_FAILED: "));
}

#[test]
fn an_unreadable_file_exits_1_with_a_message() {
    let out = amphigory(&["makemkv", "parse", "/nonexistent/transcript.txt"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/transcript.txt"), "{err}");
}

#[test]
fn json_and_summary_conflict() {
    let out = amphigory(&["makemkv", "parse", "--json", "--summary", "-"], "");
    assert_eq!(out.status.code(), Some(2));
}
