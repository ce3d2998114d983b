#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! A running daemon process and its log: stderr read line by line on a thread (ANSI
//! stripped), so tests wait on a condition variable for the line they expect.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStderr, Command, ExitStatus};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::WAIT;

/// A running `amphigory daemon`.
pub struct Daemon {
    child: Child,
    log: Arc<LogBook>,
    name: String,
}

impl Daemon {
    /// Spawns `command` (stderr piped) and starts collecting its log.
    pub(super) fn spawn(mut command: Command, name: &str) -> Self {
        let mut child = command.spawn().unwrap();
        let log = LogBook::collect(child.stderr.take().unwrap(), name);
        Self {
            child,
            log,
            name: name.to_owned(),
        }
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its name (state directory and `$USER`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits for a log line containing `needle`; returns it.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> String {
        self.wait_log_from(0, needle, timeout).1
    }

    /// Waits for a log line containing `needle` at index `from` or later; returns its
    /// index and text.
    pub fn wait_log_from(&self, from: usize, needle: &str, timeout: Duration) -> (usize, String) {
        let found = self.log.wait(timeout, |lines, closed| {
            let hit = lines
                .iter()
                .enumerate()
                .skip(from)
                .find(|(_, l)| l.contains(needle));
            match hit {
                Some((i, l)) => Some(Some((i, l.clone()))),
                None if closed => Some(None),
                None => None,
            }
        });
        match found {
            Some(Some(hit)) => hit,
            Some(None) => panic!(
                "daemon {} exited without logging {needle:?}:\n{}",
                self.name,
                self.log_text()
            ),
            None => panic!(
                "daemon {} did not log {needle:?} within {timeout:?}:\n{}",
                self.name,
                self.log_text()
            ),
        }
    }

    /// Every log line so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lines()
    }

    /// The log so far, one string.
    pub fn log_text(&self) -> String {
        self.log.lines().join("\n")
    }

    /// Index of the first log line containing all of `needles`.
    pub fn log_index(&self, needles: &[&str]) -> Option<usize> {
        self.log
            .lines()
            .iter()
            .position(|l| needles.iter().all(|n| l.contains(n)))
    }

    /// The WebSocket server's IPv4 address, as logged.
    pub fn ws_addr(&self) -> SocketAddr {
        let line = self.wait_log("websocket listening on 127.0.0.1:", WAIT);
        let addr = line.rsplit(' ').next().unwrap();
        addr.parse().unwrap()
    }

    /// The `sync` message a new WebSocket client gets first: the daemon's status now.
    pub fn sync(&self) -> Value {
        use tokio_tungstenite::tungstenite::{self, Message};
        let addr = self.ws_addr();
        let stream = TcpStream::connect_timeout(&addr, WAIT).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let (mut ws, _) = tungstenite::client(format!("ws://{addr}/"), stream).unwrap();
        loop {
            if let Message::Text(text) = ws.read().unwrap() {
                let value: Value = serde_json::from_str(text.as_str()).unwrap();
                if value["type"] == "sync" {
                    let _ = ws.close(None);
                    return value;
                }
            }
        }
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn sigterm(&self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    }

    /// SIGKILL, then reaps it.
    pub fn kill9(&mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.child.wait().unwrap()
    }

    /// Waits for it to exit (its log closes) and reaps it.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let closed = self
            .log
            .wait(timeout, |_, closed| closed.then_some(()))
            .is_some();
        assert!(
            closed,
            "daemon {} still running after {timeout:?}:\n{}",
            self.name,
            self.log_text()
        );
        self.child.wait().unwrap()
    }

    /// SIGTERM, then waits; asserts a clean exit (status 0).
    pub fn stop(&mut self) {
        self.sigterm();
        let status = self.wait_exit(WAIT);
        assert!(
            status.success(),
            "daemon {} exited with {status}:\n{}",
            self.name,
            self.log_text()
        );
    }
}

impl Drop for Daemon {
    /// Kills it if it still runs; when a test fails, shows its log first.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- log of daemon {} ---\n{}", self.name, self.log_text());
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A daemon's stderr, line by line, for waiting on.
struct LogBook {
    state: Mutex<(Vec<String>, bool)>,
    changed: Condvar,
}

impl LogBook {
    /// Reads `stderr` on a thread until it closes (the daemon exited). With
    /// `AMPHIGORY_TEST_LOGS=1` the lines are echoed, prefixed with the daemon's name.
    fn collect(stderr: ChildStderr, name: &str) -> Arc<Self> {
        let book = Arc::new(Self {
            state: Mutex::new((Vec::new(), false)),
            changed: Condvar::new(),
        });
        let (writer, name) = (book.clone(), name.to_owned());
        let echo = std::env::var("AMPHIGORY_TEST_LOGS").is_ok_and(|v| v == "1");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let line = strip_ansi(&line);
                if echo {
                    eprintln!("[{name}] {line}");
                }
                writer.state.lock().unwrap().0.push(line);
                writer.changed.notify_all();
            }
            writer.state.lock().unwrap().1 = true;
            writer.changed.notify_all();
        });
        book
    }

    fn lines(&self) -> Vec<String> {
        self.state.lock().unwrap().0.clone()
    }

    /// Waits until `check(lines, closed)` returns `Some`; `None` at the deadline.
    fn wait<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&[String], bool) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap();
        loop {
            if let Some(value) = check(&state.0, state.1) {
                return Some(value);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            state = self.changed.wait_timeout(state, deadline - now).unwrap().0;
        }
    }
}

/// Removes ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The task id a daemon log line is about (`task=<id>` or `task_id=<id>`).
pub fn task_of(line: &str) -> Option<&str> {
    line.split_whitespace().find_map(|w| {
        w.strip_prefix("task=")
            .or_else(|| w.strip_prefix("task_id="))
    })
}

/// Ids of every `starting <type> task` line of a log, in order.
pub fn started_ids(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.contains("starting ") && l.contains(" task "))
        .filter_map(|l| task_of(l).map(str::to_owned))
        .collect()
}
