#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(dead_code)]
//! Shared test helpers: locating the shared fixtures beside the repository, and
//! [`daemon`], the harness that runs the real daemon process in a temporary directory.

use std::path::PathBuf;

pub mod daemon;
#[cfg(target_os = "linux")]
pub mod dbus;
pub mod queue;

/// `<repo>/../shared/fixtures/<rel>`. When the shared folder is missing (a bare clone) the
/// test is skipped with a notice, except under `CI=true`, where skipping would hide
/// regressions. A missing file inside a present folder is always a failure.
pub fn shared_fixture(rel: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    if !root.is_dir() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "shared fixtures missing at {} (required under CI)",
                root.display()
            );
        }
        eprintln!("skipping: ../shared/fixtures missing ({})", root.display());
        return None;
    }
    let path = root.join(rel);
    assert!(path.is_file(), "fixture {} not found", path.display());
    Some(path)
}

/// Waits (up to 30 s) until the daemon knows its drives and every disc is scanned (the
/// proactive scan at start-up), so a test starts from an idle daemon.
pub async fn wait_scanned(status: &amphigory::core::StatusHandle) {
    use amphigory_wire::drive::DriveState;
    let mut rx = status.watch();
    let idle = |s: &amphigory::core::StatusSnapshot| {
        !s.drives.is_empty() && s.drives.iter().all(|d| d.state == DriveState::Scanned)
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), rx.wait_for(idle))
        .await
        .expect("every disc is scanned at start-up")
        .unwrap();
}
