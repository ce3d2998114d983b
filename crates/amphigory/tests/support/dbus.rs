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

/// An object a test serves on a bus (a stand-in for a desktop service), with the
/// runtime that answers its calls; both live as long as this.
pub struct Served {
    _runtime: tokio::runtime::Runtime,
    _conn: zbus::Connection,
}

impl PrivateBus {
    /// Serves `object` at `path` under the well-known `name` on this bus.
    pub fn serve<I: zbus::object_server::Interface>(
        &self,
        name: &str,
        path: &str,
        object: I,
    ) -> Served {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let conn = runtime.block_on(async {
            zbus::connection::Builder::address(self.address.as_str())
                .unwrap()
                .name(name)
                .unwrap()
                .serve_at(path, object)
                .unwrap()
                .build()
                .await
                .unwrap()
        });
        Served {
            _runtime: runtime,
            _conn: conn,
        }
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
