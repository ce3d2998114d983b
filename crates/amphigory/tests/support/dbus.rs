//! A private D-Bus session bus for the tests that need one (the tray, notifications):
//! `dbus-daemon --session` (Debian's `dbus` package). Without it a test is skipped with a
//! notice, except under `CI=true`, where `.ci/run` installs it and a skip would hide
//! regressions.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A `dbus-daemon --session` of this test alone; killed on drop.
pub struct PrivateBus {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    /// Its address, for `DBUS_SESSION_BUS_ADDRESS`.
    pub address: String,
}

impl PrivateBus {
    /// `None` (with a notice) when `dbus-daemon` is not installed, outside CI.
    pub fn start() -> Option<Self> {
        let spawned = Command::new("dbus-daemon")
            .args(["--session", "--print-address", "--nofork"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("dbus-daemon is required under CI=true (Debian package `dbus`)");
                }
                eprintln!("skipping: dbus-daemon not found (install Debian's `dbus` package)");
                return None;
            }
            Err(e) => panic!("cannot start dbus-daemon: {e}"),
        };
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut address = String::new();
        stdout.read_line(&mut address).unwrap();
        let address = address.trim().to_owned();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        Some(Self {
            child,
            _stdout: stdout,
            address,
        })
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
