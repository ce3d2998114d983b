//! Where the daemon's log goes: stderr (coloured on a terminal), or with `--log-file` a
//! plain-text file with timestamps, capped at [`MAX_LOG_BYTES`] and rotated through
//! [`KEPT_LOGS`] older files (`daemon.log.1`, …) by `rolling-file`. The LaunchAgent passes
//! `--log-file ~/Library/Logs/Amphigory/daemon.log`; the systemd unit leaves stderr to
//! the journal, which caps and rotates itself.

use std::path::Path;
use std::sync::Mutex;

use rolling_file::{BasicRollingFileAppender, RollingConditionBasic};
use tracing_subscriber::EnvFilter;

/// Size at which the log file is rotated.
pub const MAX_LOG_BYTES: u64 = 10 * 1024 * 1024;
/// Rotated files kept beside the current one.
pub const KEPT_LOGS: usize = 4;

/// `level` (a level name or a full tracing filter; `RUST_LOG` wins) as a filter.
fn filter(level: &str) -> EnvFilter {
    EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Logs to stderr at `level`.
pub(crate) fn to_stderr(level: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(level))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Logs to `file` (its folder made if missing) at `level`, rotated by size; stderr when
/// the file cannot be opened, after saying why there.
pub(crate) fn to_file(level: &str, file: &Path) {
    let appender = file
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| open(file));
    match appender {
        Ok(appender) => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter(level))
                .with_writer(Mutex::new(appender))
                .with_ansi(false)
                .with_target(false)
                .try_init();
        }
        Err(e) => {
            eprintln!(
                "amphigory: cannot log to {}: {e}; logging to stderr",
                file.display()
            );
            to_stderr(level);
        }
    }
}

/// The appender, unbuffered: a line is in the file as soon as it is logged, so a crash
/// loses none.
fn open(file: &Path) -> std::io::Result<BasicRollingFileAppender> {
    let condition = RollingConditionBasic::new().max_size(MAX_LOG_BYTES);
    BasicRollingFileAppender::new_with_buffer_capacity(file, condition, KEPT_LOGS, 0)
}
