//! The CLI test harness: the real binary against one daemon of the shared daemon
//! harness (its socket taken from the daemon's `control socket at PATH` log line), a
//! `watch --json` child read line by line, `script` for a pseudo-terminal, and a fake
//! daemon that speaks another protocol.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use serde_json::Value;

use super::support::daemon::{BIN, Daemon, DaemonSpec, Rig, WAIT};

/// The CLI against one daemon.
pub struct Cli {
    pub socket: PathBuf,
}

impl Cli {
    /// Talks to `daemon`, at the socket path it logged.
    pub fn of(daemon: &Daemon) -> Self {
        Self {
            socket: socket_of(daemon),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command.arg("--socket").arg(&self.socket).args(args);
        command.env("NO_COLOR", "1").stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("AMPHIGORY_") {
                command.env_remove(key);
            }
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs a command that must succeed; its stdout.
    pub fn human(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", describe(&out));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command with `--json` that must succeed; its one line of JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let text = self.human(&all);
        assert_eq!(text.lines().count(), 1, "one line: {text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["ok"], true, "{value}");
        value
    }

    /// Spawns `watch --json --replay` with stdout piped: the replay covers whatever
    /// happened before it subscribed, so no event of the test is missed.
    pub fn watch_json(&self) -> EventLines {
        let mut child = self
            .command(&["watch", "--json", "--replay"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = lines_of(child.stdout.take().unwrap());
        EventLines { child, lines }
    }
}

/// The control socket a daemon logged (`control socket at PATH`).
pub fn socket_of(daemon: &Daemon) -> PathBuf {
    let line = daemon.wait_log("control socket at ", WAIT);
    let (_, path) = line.split_once("control socket at ").unwrap();
    PathBuf::from(path.trim())
}

pub fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Lines of `reader`, read on a thread, as a channel.
pub fn lines_of(reader: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// A running `watch --json`, killed on drop.
pub struct EventLines {
    child: Child,
    pub lines: mpsc::Receiver<String>,
}

impl EventLines {
    /// The next envelope whose data matches `wanted`.
    pub fn until(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no {what} from watch --json: {e}"));
            let envelope: Value = serde_json::from_str(&line).unwrap();
            if wanted(&envelope["data"]) {
                return envelope;
            }
        }
    }
}

impl Drop for EventLines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn slow_daemon(rig: &Rig) -> Daemon {
    // 100 MB/s: the 25 GB main feature would take minutes; tests stop it long before.
    rig.start_with(&DaemonSpec {
        sim_rate: 100.0,
        ..DaemonSpec::new("a")
    })
}

/// Output of a command run in a pseudo-terminal by `script`, until `done` says enough.
pub fn in_terminal(cli: &Cli, args: &str, done: impl Fn(&str) -> bool) -> Option<String> {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`script` (util-linux) is required under CI"
        );
        eprintln!("skipping: `script` is not installed");
        return None;
    }
    let line = format!("{BIN} --socket {} {args}", cli.socket.display());
    let mut child = Command::new("script")
        .args(["-q", "-c", &line, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env("COLUMNS", "120")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    let text = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(bytes) => seen.extend(bytes),
            Err(_) => break None,
        }
        let text = String::from_utf8_lossy(&seen).into_owned();
        if done(&text) {
            break Some(text);
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    Some(text.unwrap_or_else(|| panic!("{args} never drew: {}", String::from_utf8_lossy(&seen))))
}

/// A socket answering every request line with `answer`.
pub fn fake_daemon(dir: &Path, answer: &'static str) -> PathBuf {
    let path = dir.join("fake.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let reader = BufReader::new(stream.try_clone().unwrap());
            for _ in reader.lines() {
                let _ = writeln!(stream, "{answer}");
            }
        }
    });
    path
}
