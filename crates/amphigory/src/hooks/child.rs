//! Running one hook: its argv (no shell), its environment, the event's JSON written to
//! its stdin and closed, in a process group of its own so a time-out kills everything it
//! started. stderr is drained on the side (only its last [`STDERR_TAIL`] bytes kept) so
//! the hook can never block on a full pipe, and the child is always reaped.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use crate::config::hooks::HookEvent;

/// How much of a hook's stderr is kept for the log.
pub const STDERR_TAIL: usize = 2048;
/// After the hook exits, how long a grandchild that kept its stderr open may delay the
/// tail (we stop reading then; the grandchild is the user's business).
const STDERR_GRACE: Duration = Duration::from_millis(500);
/// On shutdown, how long a hook has between SIGTERM and SIGKILL.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// One hook to run.
#[derive(Debug, Clone)]
pub struct HookRun {
    /// Which hook.
    pub hook: HookEvent,
    /// Program, then its arguments.
    pub argv: Vec<String>,
    /// Added to the daemon's environment.
    pub env: Vec<(&'static str, String)>,
    /// Written to its stdin, which is then closed.
    pub stdin: Vec<u8>,
}

/// How a hook ended.
#[derive(Debug)]
pub enum Ended {
    /// It exited (or was killed by a signal nobody here sent).
    Exited(ExitStatus),
    /// It ran past its limit: its process group was killed.
    TimedOut,
    /// The daemon stopped: its process group was terminated.
    Stopped,
}

/// Runs `run` to its end, within `limit`; logs how it ended. Never fails.
pub async fn run(run: HookRun, limit: Duration, shutdown: CancellationToken) {
    let key = run.hook.key();
    let program = run.argv.first().cloned().unwrap_or_default();
    let mut command = Command::new(&program);
    command
        .args(run.argv.get(1..).unwrap_or_default())
        .envs(run.env.iter().map(|(k, v)| (*k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        // A backstop only: every path below reaps the child itself.
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            tracing::warn!("hook {key}: cannot start {program}: {e}");
            return;
        }
    };
    tracing::debug!("hook {key}: started {program} (pid {:?})", child.id());
    let tail = Arc::new(Mutex::new(Vec::new()));
    let reader = child
        .stderr
        .take()
        .map(|stderr| tokio::spawn(keep_tail(stderr, tail.clone())));
    let ended = supervise(&mut child, run.stdin, limit, &shutdown).await;
    if let Some(mut reader) = reader
        && tokio::time::timeout(STDERR_GRACE, &mut reader)
            .await
            .is_err()
    {
        reader.abort();
        tracing::debug!("hook {key}: stderr still open after it ended; not read further");
    }
    let tail = tail.lock().map(|t| tail_text(&t)).unwrap_or_default();
    log_end(&key, &program, &ended, limit, &tail);
}

/// Feeds stdin and waits for the child within `limit` (or until shutdown), killing its
/// process group when it must; the child is reaped on every path.
async fn supervise(
    child: &mut Child,
    stdin: Vec<u8>,
    limit: Duration,
    shutdown: &CancellationToken,
) -> Ended {
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    let pipe = child.stdin.take();
    let feed = async move {
        if let Some(mut pipe) = pipe {
            // A hook that does not read its stdin closes it: EPIPE is fine (the daemon
            // ignores SIGPIPE, as every Rust program does).
            let _ = pipe.write_all(&stdin).await;
            let _ = pipe.shutdown().await;
        }
    };
    let waited = tokio::select! {
        status = async { feed.await; child.wait().await } => Some(Ok(status)),
        () = tokio::time::sleep(limit) => Some(Err(Ended::TimedOut)),
        () = shutdown.cancelled() => None,
    };
    match waited {
        Some(Ok(Ok(status))) => Ended::Exited(status),
        Some(Ok(Err(e))) => {
            tracing::warn!("hook: waiting for pid {group:?} failed: {e}");
            kill_and_reap(child, group, Signal::SIGKILL).await;
            Ended::TimedOut
        }
        Some(Err(ended)) => {
            kill_and_reap(child, group, Signal::SIGKILL).await;
            ended
        }
        None => {
            // Shutdown: the hook is not left behind; it gets a moment to finish its work
            // cleanly (SIGTERM), then everything in its group is killed.
            signal_group(group, Signal::SIGTERM);
            if tokio::time::timeout(SHUTDOWN_GRACE, child.wait())
                .await
                .is_err()
            {
                kill_and_reap(child, group, Signal::SIGKILL).await;
            }
            signal_group(group, Signal::SIGKILL);
            Ended::Stopped
        }
    }
}

fn signal_group(group: Option<Pid>, signal: Signal) {
    if let Some(group) = group {
        // ESRCH (the group is gone already) is the expected case after a clean exit.
        let _ = killpg(group, signal);
    }
}

async fn kill_and_reap(child: &mut Child, group: Option<Pid>, signal: Signal) {
    signal_group(group, signal);
    let _ = child.start_kill();
    let _ = child.wait().await;
}

/// Reads `from` to its end, keeping its last [`STDERR_TAIL`] bytes in `tail`.
async fn keep_tail(mut from: impl AsyncRead + Unpin, tail: Arc<Mutex<Vec<u8>>>) {
    let mut buffer = [0u8; 4096];
    while let Ok(n) = from.read(&mut buffer).await {
        let Some(read) = buffer.get(..n).filter(|r| !r.is_empty()) else {
            break;
        };
        // A std mutex: held for a copy of at most a few KB, never across an await.
        if let Ok(mut tail) = tail.lock() {
            tail.extend_from_slice(read);
            let excess = tail.len().saturating_sub(STDERR_TAIL);
            tail.drain(..excess);
        }
    }
}

fn tail_text(tail: &[u8]) -> String {
    String::from_utf8_lossy(tail).trim().replace('\n', " | ")
}

fn log_end(key: &str, program: &str, ended: &Ended, limit: Duration, tail: &str) {
    let stderr = if tail.is_empty() {
        String::new()
    } else {
        format!("; stderr: {tail}")
    };
    match ended {
        Ended::Exited(status) if status.success() => {
            tracing::info!("hook {key} ({program}) exited 0{stderr}");
        }
        Ended::Exited(status) => tracing::warn!("hook {key} ({program}) failed: {status}{stderr}"),
        Ended::TimedOut => tracing::warn!(
            "hook {key} ({program}) still running after {}s: its process group was killed{stderr}",
            limit.as_secs_f64()
        ),
        Ended::Stopped => {
            tracing::info!("hook {key} ({program}) stopped: the daemon is shutting down");
        }
    }
}
