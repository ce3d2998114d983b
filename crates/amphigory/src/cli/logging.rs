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
    open_capped(file, MAX_LOG_BYTES)
}

fn open_capped(file: &Path, max: u64) -> std::io::Result<BasicRollingFileAppender> {
    let condition = RollingConditionBasic::new().max_size(max);
    BasicRollingFileAppender::new_with_buffer_capacity(file, condition, KEPT_LOGS, 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn the_log_is_capped_and_rotated_through_the_kept_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("daemon.log");
        let mut log = open_capped(&file, 1000).unwrap();
        for i in 0..200 {
            writeln!(
                log,
                "2026-12-05T10:00:00Z  INFO line {i:04} of the daemon's log"
            )
            .unwrap();
        }
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        assert!(size(&file) <= 1100, "current file capped: {}", size(&file));
        for n in 1..=KEPT_LOGS {
            let old = dir.path().join(format!("daemon.log.{n}"));
            assert!(size(&old) > 0 && size(&old) <= 1100, "{}", old.display());
        }
        assert!(
            !dir.path()
                .join(format!("daemon.log.{}", KEPT_LOGS + 1))
                .exists()
        );
        let last = std::fs::read_to_string(&file).unwrap();
        assert!(
            last.contains("line 0199"),
            "the newest lines are in daemon.log"
        );
    }
}
