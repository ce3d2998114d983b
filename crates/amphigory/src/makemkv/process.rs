//! A supervised child process (SPEC §6.5), modelled on ripgrep's `crates/cli/src/process.rs`:
//! stdout read line by line, stderr drained on the side so the child can never block on
//! a full pipe, a bounded stderr tail kept for error details, and the child always killed
//! as a whole process group and always reaped.
//!
//! - The child starts in its **own process group**, so a kill reaches anything it forks,
//!   and a terminal's Ctrl-C reaches only the daemon, which then stops the child cleanly.
//! - On Linux it gets **`PR_SET_PDEATHSIG = SIGKILL`**: if the daemon dies, so does
//!   makemkvcon. The signal follows the *thread* that spawned the child, not the
//!   process. Spawns happen in [`SupervisedChild::spawn`], called from the runner's
//!   async code, i.e. on a runtime worker thread, which lives as long as the runtime.
//!   Never spawn from `spawn_blocking` or inside `block_in_place`: those threads retire
//!   after idling and would take makemkvcon with them mid-rip.
//! - [`SupervisedChild::kill`]: SIGTERM to the group, a grace period, SIGKILL to the
//!   group, then reap. Dropping an unreaped child sends SIGKILL to the group, and tokio's
//!   `kill_on_drop` reaps it in the background.
//! - stdin is `/dev/null`: makemkvcon's questions (MSG 5038…) must never get an answer
//!   by accident.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Longest stdout line kept; the rest of a longer line is dropped.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Stderr tail kept: at most this many bytes …
pub const STDERR_TAIL_BYTES: usize = 4096;
/// … and at most this many lines.
pub const STDERR_TAIL_LINES: usize = 20;
/// Lines buffered between the stdout reader and the consumer.
const LINE_BUFFER: usize = 256;
/// How long to wait for the stderr drain after the child is gone (a grandchild may
/// still hold the pipe).
const STDERR_JOIN_TIMEOUT: Duration = Duration::from_secs(1);

/// A running child in its own process group, with stdout as lines.
#[derive(Debug)]
pub struct SupervisedChild {
    child: Child,
    pid: u32,
    lines: mpsc::Receiver<String>,
    stdout_task: JoinHandle<()>,
    stderr_task: Option<JoinHandle<String>>,
    status: Option<ExitStatus>,
}

impl SupervisedChild {
    /// Starts `program args…` with `env` added to the daemon's environment.
    pub fn spawn(
        program: &Path,
        args: &[OsString],
        env: &[(OsString, OsString)],
    ) -> io::Result<Self> {
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        die_with_parent(&mut command);
        let mut child = command.spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| io::Error::other("child exited before its pid was read"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("child stdout not captured"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| io::Error::other("child stderr not captured"))?;
        let (tx, lines) = mpsc::channel(LINE_BUFFER);
        let stdout_task = tokio::spawn(read_lines(BufReader::new(stdout), tx));
        let stderr_task = Some(tokio::spawn(drain_tail(stderr)));
        Ok(Self {
            child,
            pid,
            lines,
            stdout_task,
            stderr_task,
            status: None,
        })
    }

    /// The child's pid, which is also its process group id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The next stdout line (without its end, invalid UTF-8 replaced), or `None` at end
    /// of output. Cancel-safe: a line is never lost when another `select!` branch wins.
    pub async fn next_line(&mut self) -> Option<String> {
        self.lines.recv().await
    }

    /// Waits for the child to exit and reaps it. Cancel-safe.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = self.child.wait().await?;
        self.status = Some(status);
        Ok(status)
    }

    /// SIGTERM to the whole group, up to `grace` to exit, then SIGKILL to the group;
    /// always reaps. Returns the exit status (a signal death, usually).
    pub async fn kill(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        signal_group(self.pid, Signal::SIGTERM);
        if let Ok(waited) = tokio::time::timeout(grace, self.child.wait()).await {
            let status = waited?;
            self.status = Some(status);
            return Ok(status);
        }
        tracing::warn!(
            pid = self.pid,
            "child ignored SIGTERM for {grace:?}; sending SIGKILL"
        );
        signal_group(self.pid, Signal::SIGKILL);
        self.wait().await
    }

    /// The last lines the child wrote to stderr (bounded, see [`STDERR_TAIL_BYTES`]).
    /// Call after the child exited; waits briefly for the drain to finish.
    pub async fn stderr_tail(&mut self) -> String {
        let Some(mut task) = self.stderr_task.take() else {
            return String::new();
        };
        match tokio::time::timeout(STDERR_JOIN_TIMEOUT, &mut task).await {
            Ok(Ok(tail)) => tail,
            Ok(Err(e)) => format!("(stderr reader failed: {e})"),
            Err(_) => {
                task.abort();
                "(stderr still open after the child exited)".to_owned()
            }
        }
    }
}

impl Drop for SupervisedChild {
    fn drop(&mut self) {
        if self.status.is_none() {
            // Not reaped, so the group id cannot have been reused yet.
            signal_group(self.pid, Signal::SIGKILL);
        }
        self.stdout_task.abort();
        if let Some(task) = &self.stderr_task {
            task.abort();
        }
    }
}

/// Kills the process group of a child this daemon started in an earlier life (the pid
/// it recorded), e.g. a makemkvcon orphaned on macOS, where there is no parent-death
/// signal. Returns `false` when no such group exists. The caller must be sure the pid
/// is still that child's (pids are reused): record it with the task and check before.
pub fn kill_orphan_group(pid: u32) -> io::Result<bool> {
    let pgid = i32::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
    match killpg(Pid::from_raw(pgid), Signal::SIGKILL) {
        Ok(()) => Ok(true),
        Err(nix::errno::Errno::ESRCH) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Best-effort signal to a process group; a group already gone is fine.
fn signal_group(pid: u32, signal: Signal) {
    let Ok(pgid) = i32::try_from(pid) else {
        return;
    };
    match killpg(Pid::from_raw(pgid), signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pid, "cannot send {signal} to the process group: {e}"),
    }
}

/// Linux: the child gets SIGKILL when the spawning thread dies (see the module docs).
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs between fork and exec and only makes two syscalls
    // (prctl, getppid); it allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)?;
            // The parent may have died before prctl took effect.
            if nix::unistd::getppid() != parent {
                return Err(io::Error::from(nix::errno::Errno::ESRCH));
            }
            Ok(())
        });
    }
}

/// Elsewhere there is no parent-death signal: the engine records the pid instead.
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// Reads stdout line by line until EOF or until the consumer is gone.
async fn read_lines<R: AsyncBufRead + Unpin>(mut reader: R, tx: mpsc::Sender<String>) {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match read_capped_line(&mut reader, &mut buf).await {
            Ok(false) => return,
            Ok(true) => {
                let end = buf.iter().rposition(|b| *b != b'\n' && *b != b'\r');
                let line = buf.get(..end.map_or(0, |e| e + 1)).unwrap_or_default();
                if tx
                    .send(String::from_utf8_lossy(line).into_owned())
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!("reading child stdout failed: {e}");
                return;
            }
        }
    }
}

/// One line into `buf` (at most [`MAX_LINE_BYTES`], the excess skipped). `false` at EOF
/// with nothing read.
async fn read_capped_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> io::Result<bool> {
    let mut read_any = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(read_any);
        }
        read_any = true;
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(buf.len());
        buf.extend_from_slice(chunk.get(..take.min(room)).unwrap_or_default());
        reader.consume(take);
        if done {
            return Ok(true);
        }
    }
}

/// Drains stderr to EOF, keeping the tail.
async fn drain_tail<R: AsyncRead + Unpin>(mut stderr: R) -> String {
    let mut tail = TailBuffer::default();
    let mut chunk = [0u8; 1024];
    loop {
        match stderr.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => tail.push(chunk.get(..n).unwrap_or_default()),
        }
    }
    tail.into_string()
}

/// The last [`STDERR_TAIL_LINES`] lines, at most [`STDERR_TAIL_BYTES`] in all.
#[derive(Debug, Default)]
struct TailBuffer {
    lines: VecDeque<String>,
    bytes: usize,
    partial: Vec<u8>,
}

impl TailBuffer {
    fn push(&mut self, data: &[u8]) {
        for &b in data {
            if b == b'\n' {
                self.end_line();
            } else if self.partial.len() < STDERR_TAIL_BYTES {
                self.partial.push(b);
            }
        }
    }

    fn end_line(&mut self) {
        let line = String::from_utf8_lossy(&self.partial)
            .trim_end_matches('\r')
            .to_owned();
        self.partial.clear();
        self.bytes += line.len();
        self.lines.push_back(line);
        while self.lines.len() > STDERR_TAIL_LINES
            || (self.bytes > STDERR_TAIL_BYTES && self.lines.len() > 1)
        {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.len();
            }
        }
    }

    fn into_string(mut self) -> String {
        if !self.partial.is_empty() {
            self.end_line();
        }
        Vec::from(self.lines).join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        let mut tail = TailBuffer::default();
        for i in 0..50 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        tail.push(b"no newline");
        let s = tail.into_string();
        assert!(s.starts_with("line 31\n"), "{s}");
        assert!(s.ends_with("line 49\nno newline"), "{s}");
        let mut big = TailBuffer::default();
        big.push(&[b'x'; 10_000]);
        big.push(b"\nend\n");
        assert!(big.into_string().len() <= STDERR_TAIL_BYTES + 4);
    }

    #[tokio::test]
    async fn lines_are_capped_and_split() {
        let data = format!("a\r\n{}\nlast", "y".repeat(MAX_LINE_BYTES + 10));
        let (tx, mut rx) = mpsc::channel(8);
        read_lines(BufReader::new(data.as_bytes()), tx).await;
        assert_eq!(rx.recv().await.as_deref(), Some("a"));
        assert_eq!(rx.recv().await.map(|l| l.len()), Some(MAX_LINE_BYTES));
        assert_eq!(rx.recv().await.as_deref(), Some("last"));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn kill_reaps_the_group_and_keeps_stderr() {
        let args: Vec<OsString> = ["-c", "echo err >&2; echo out; sleep 30 & wait"]
            .iter()
            .map(OsString::from)
            .collect();
        let mut child = SupervisedChild::spawn(Path::new("/bin/sh"), &args, &[]).unwrap();
        assert_eq!(child.next_line().await.as_deref(), Some("out"));
        let status = child.kill(Duration::from_secs(5)).await.unwrap();
        assert!(!status.success());
        // The backgrounded `sleep` holds stderr open: the tail only completes (instead
        // of "still open") because the whole group died.
        assert_eq!(child.stderr_tail().await, "err");
    }
}
