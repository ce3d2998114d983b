#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// Linux only (the whole file); elsewhere an empty test crate, documented here.
#![cfg_attr(not(target_os = "linux"), allow(missing_docs))]
#![cfg(target_os = "linux")]
//! Keeping the machine awake on Linux (SPEC §11.1): the real `amphigory daemon` on a
//! simulated drive, its system bus (`DBUS_SYSTEM_BUS_ADDRESS`) a private `dbus-daemon`
//! on which this test plays logind: `Inhibit` answers with one end of a socket pair and
//! the test keeps the other, so it sees the daemon close its descriptor as EOF. Without
//! `dbus-daemon` these tests are skipped with a notice, except under `CI=true`. The run
//! without any system bus needs no `dbus-daemon` and always runs.

mod support;

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::daemon::{BIN, Daemon, DaemonSpec, Rig, WAIT, wait_for};
use support::dbus::{PrivateBus, Served};

/// A 215 MB title: at 20 MB/s its rip runs for about ten seconds.
const TITLE_6: u32 = 6;
const SLOW_RATE: f64 = 20.0;
/// The harness's default: a rip in a few ticks.
const FAST_RATE: f64 = 20_000.0;

/// One `Inhibit` call as logind received it, and the test's end of the descriptor.
struct Inhibited {
    args: (String, String, String, String),
    ours: UnixStream,
}

/// The stand-in `org.freedesktop.login1.Manager`.
struct FakeLogind {
    calls: mpsc::Sender<Inhibited>,
}

#[zbus::interface(name = "org.freedesktop.login1.Manager")]
impl FakeLogind {
    fn inhibit(
        &self,
        what: String,
        who: String,
        why: String,
        mode: String,
    ) -> zbus::fdo::Result<zbus::zvariant::OwnedFd> {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let args = (what, who, why, mode);
        self.calls.send(Inhibited { args, ours }).unwrap();
        Ok(std::os::fd::OwnedFd::from(theirs).into())
    }
}

/// logind on `bus`, for the test's life.
struct Logind {
    _served: Served,
    calls: mpsc::Receiver<Inhibited>,
}

impl Logind {
    fn serve(bus: &PrivateBus) -> Self {
        let (tx, calls) = mpsc::channel();
        let served = bus.serve(
            "org.freedesktop.login1",
            "/org/freedesktop/login1",
            FakeLogind { calls: tx },
        );
        Self {
            _served: served,
            calls,
        }
    }
}

fn status_json(socket: &str) -> Value {
    let out = Command::new(BIN)
        .args(["--socket", socket, "status", "--json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn status_text(socket: &str) -> String {
    let out = Command::new(BIN)
        .args(["--socket", socket, "status"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn start_daemon(
    rig: &Rig,
    name: &str,
    rate: f64,
    system_bus: &str,
    extra: &[&str],
) -> (Daemon, String) {
    let socket = rig.root().join(format!("{name}.sock"));
    let socket = socket.to_str().unwrap().to_owned();
    let spec = DaemonSpec {
        sim_rate: rate,
        ..DaemonSpec::new(name)
    }
    .with_args(&["--socket", &socket])
    .with_args(extra)
    .with_env("DBUS_SYSTEM_BUS_ADDRESS", system_bus);
    (rig.start_with(&spec), socket)
}

#[test]
fn the_inhibitor_is_held_while_a_rip_runs_and_closed_when_the_queue_idles() {
    let Some(bus) = PrivateBus::start() else {
        return;
    };
    let logind = Logind::serve(&bus);
    let rig = Rig::new();
    let (daemon, socket) = start_daemon(&rig, "awake", SLOW_RATE, &bus.address, &[]);
    let idle = status_json(&socket);
    assert_eq!(idle["keep_awake"]["held"], false, "{idle:#}");
    assert_eq!(idle["keep_awake"]["backend"], "logind", "{idle:#}");

    let (id, _file) = rig.enqueue_rip(TITLE_6, "Awake");
    let call = logind
        .calls
        .recv_timeout(WAIT)
        .expect("logind's Inhibit is called when the rip starts");
    let (what, who, why, mode) = &call.args;
    assert_eq!((what.as_str(), mode.as_str()), ("sleep:idle", "block"));
    assert_eq!(who, "Amphigory");
    assert_eq!(why, "Ripping 1 task(s)");

    let held = wait_for("status to show the inhibitor held", WAIT, &[], || {
        let status = status_json(&socket);
        (status["keep_awake"]["held"] == true).then_some(status)
    });
    assert!(
        !held["running"].as_array().unwrap().is_empty(),
        "held while the rip runs: {held:#}"
    );
    let text = status_text(&socket);
    assert!(text.contains("Awake    held (logind)"), "{text}");
    // The daemon's end is still open: a read would block, not see EOF.
    call.ours.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let open = (&call.ours).read(&mut byte);
    assert!(
        matches!(&open, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the descriptor is open while the rip runs: {open:?}"
    );

    let result = rig.wait_result(&id, WAIT);
    assert_eq!(result["status"], "success", "{result:#}");
    let finished = Instant::now();
    call.ours.set_nonblocking(false).unwrap();
    call.ours.set_read_timeout(Some(WAIT)).unwrap();
    let eof = (&call.ours).read(&mut byte);
    assert!(matches!(eof, Ok(0)), "EOF once the queue idles: {eof:?}");
    // Released within a second of the last task ending (a loaded debug build gets slack).
    assert!(
        finished.elapsed() < Duration::from_secs(3),
        "{:?}",
        finished.elapsed()
    );
    daemon.wait_log("the machine may sleep again", WAIT);
    let after = wait_for("status to show it released", WAIT, &[], || {
        let status = status_json(&socket);
        (status["keep_awake"]["held"] == false).then_some(status)
    });
    assert!(after["keep_awake"].get("problem").is_none(), "{after:#}");
    assert!(
        logind.calls.try_recv().is_err(),
        "one Inhibit per busy period"
    );
}

#[test]
fn keep_awake_false_never_calls_logind() {
    let Some(bus) = PrivateBus::start() else {
        return;
    };
    let logind = Logind::serve(&bus);
    let rig = Rig::new();
    let config = rig.root().join("daemon.yaml");
    std::fs::write(&config, "keep_awake: false\n").unwrap();
    let config = config.to_str().unwrap().to_owned();
    let (_daemon, socket) =
        start_daemon(&rig, "off", FAST_RATE, &bus.address, &["--config", &config]);
    let (id, _file) = rig.enqueue_rip(TITLE_6, "Off");
    assert_eq!(rig.wait_result(&id, WAIT)["status"], "success");
    let status = status_json(&socket);
    assert_eq!(status["keep_awake"]["enabled"], false, "{status:#}");
    assert!(status_text(&socket).contains("Awake    off"));
    assert!(
        logind.calls.try_recv().is_err(),
        "no Inhibit with keep_awake: false"
    );
}

#[test]
fn without_a_system_bus_rips_go_on_and_it_is_logged_once() {
    let rig = Rig::new();
    let nowhere = format!("unix:path={}", rig.root().join("no-bus").display());
    let (daemon, socket) = start_daemon(&rig, "nobus", FAST_RATE, &nowhere, &[]);
    for movie in ["First", "Second"] {
        let (id, file) = rig.enqueue_rip(TITLE_6, movie);
        let result = rig.wait_result(&id, WAIT);
        assert_eq!(result["status"], "success", "{result:#}");
        assert!(file.is_file());
    }
    let status = status_json(&socket);
    let problem = status["keep_awake"]["problem"].as_str();
    assert_eq!(status["keep_awake"]["held"], false, "{status:#}");
    // The problem is shown while tasks run and cleared when idle; the log has it once.
    assert!(problem.is_none(), "{status:#}");
    daemon.wait_log("cannot keep the machine awake: no D-Bus system bus", WAIT);
    let warnings = daemon
        .log_lines()
        .iter()
        .filter(|l| l.contains("cannot keep the machine awake"))
        .count();
    assert_eq!(warnings, 1, "{}", daemon.log_text());
}
