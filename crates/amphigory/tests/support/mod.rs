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
