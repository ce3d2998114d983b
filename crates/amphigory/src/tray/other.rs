//! Platforms without a tray backend: the daemon runs headless.

use std::process::ExitCode;

use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use super::platform::{MainSide, Platform, Waker, join};

/// No tray: waits for the daemon.
pub(super) struct Headless;

impl Platform for Headless {
    fn waker() -> Option<Waker> {
        None
    }

    fn run(runtime: &Runtime, _main: MainSide, daemon: JoinHandle<ExitCode>) -> ExitCode {
        tracing::info!("no tray icon on this platform: running headless");
        join(runtime, daemon)
    }
}
