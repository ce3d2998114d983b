#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The daemon-level harness: the real `amphigory daemon` process on simulated drives in a
//! temporary directory, driven the way the webapp drives it (files in the queue
//! directory) and observed through its results, its log and its process table.
//!
//! - [`Rig`]: one temporary root holding the queue (`tasks/`), rip destinations (`out/`)
//!   and, per daemon, a state directory. The daemon gets `TMPDIR` and `HOME` inside the
//!   root too, and an `XDG_RUNTIME_DIR` of its own (its control socket), so its simulated
//!   drives and anything else it puts in default places belong to this test (and this
//!   daemon) alone; [`Rig::sim_pids`] finds a simulated makemkvcon of this test by that.
//! - [`Daemon`]: a running daemon process; its stderr log is collected line by line
//!   (ANSI stripped) so tests wait for log lines instead of sleeping. Dropping it kills it.
//! - [`wait_for`]: the one bounded wait of every test: re-checks a condition whenever a
//!   watched directory changes (the `notify` crate), or every few milliseconds when there
//!   is nothing to watch (processes, sockets), and fails with a message at the deadline.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use amphigory::queue::{NewTask, Queue, RipSpec, TaskState};
use notify::{RecursiveMode, Watcher};
use serde_json::Value;
use tempfile::TempDir;

mod proc_table;
mod process;

#[allow(unused_imports)] // not every test crate uses every helper
pub use process::{Daemon, started_ids};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_amphigory");
/// Logged once the queue is open, recovery done and the engine about to start.
pub const READY: &str = "task queue at";
/// Generous limit for anything a test waits for (a loaded CI machine, debug build).
pub const WAIT: Duration = Duration::from_secs(30);
/// Re-check period of [`wait_for`] with nothing to watch (and safety net with a watch).
const POLL: Duration = Duration::from_millis(10);
const SAFETY_RECHECK: Duration = Duration::from_millis(250);

/// Waits until `check` returns `Some`, re-checking on every file-system event in `watch`
/// (and at least every 250 ms) or, with nothing to watch, every 10 ms. Panics with `what`
/// after `timeout`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    watch: &[&Path],
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    let (tx, rx) = mpsc::channel::<()>();
    // The watcher lives (and is set up before the first check) for the whole wait.
    let _watcher = (!watch.is_empty()).then(|| {
        let events = tx.clone();
        let mut w = notify::recommended_watcher(move |_: notify::Result<notify::Event>| {
            let _ = events.send(());
        })
        .unwrap();
        for dir in watch {
            w.watch(dir, RecursiveMode::NonRecursive).unwrap();
        }
        w
    });
    let period = if watch.is_empty() {
        POLL
    } else {
        SAFETY_RECHECK
    };
    loop {
        if let Some(value) = check() {
            return value;
        }
        let now = Instant::now();
        assert!(
            now < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        let _ = rx.recv_timeout(period.min(deadline - now));
        while rx.try_recv().is_ok() {}
    }
}

/// How a daemon is started.
#[derive(Debug, Clone)]
pub struct DaemonSpec {
    /// Its state directory name under the root, and its `$USER` (so its daemon id).
    pub name: String,
    /// Number of simulated drives.
    pub drives: usize,
    /// The disc in each: a built-in disc name or a transcript path.
    pub disc: String,
    /// Simulated read rate, MB/s.
    pub sim_rate: f64,
    /// Show the tray on this D-Bus session bus (`DBUS_SESSION_BUS_ADDRESS`) instead of
    /// running `--headless`.
    pub tray_bus: Option<String>,
    /// More `amphigory daemon` arguments (`--socket PATH`, hidden test options such as
    /// `--lease-ms`).
    pub args: Vec<String>,
    /// `--log-level`.
    pub log_level: &'static str,
    /// Run as this (unprivileged) user id, group id the same; the rig hands the daemon's
    /// directories to it first (see [`Rig::hand_over`]). Needs root.
    pub uid: Option<u32>,
    /// Start it under this open-file limit, soft and hard (`ulimit -n`), so it cannot
    /// raise it.
    pub open_files: Option<u64>,
    /// More environment variables (set after the test's own `AMPHIGORY_*` are removed),
    /// e.g. `DBUS_SYSTEM_BUS_ADDRESS` for a stand-in logind.
    pub env: Vec<(String, String)>,
}

impl DaemonSpec {
    /// One drive, fast enough that an extra (0.2–0.6 GB) rips in a few ticks.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            drives: 1,
            disc: "demo-bluray".to_owned(),
            sim_rate: 20_000.0,
            tray_bus: None,
            args: Vec::new(),
            log_level: "info",
            uid: None,
            open_files: None,
            env: Vec::new(),
        }
    }

    /// With this extra environment variable.
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// With these extra daemon arguments.
    pub fn with_args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }
}

/// A temporary root with a queue directory, an output directory and per-daemon state.
pub struct Rig {
    root: TempDir,
    queue: Queue,
}

impl Default for Rig {
    fn default() -> Self {
        Self::new()
    }
}

impl Rig {
    /// A fresh root: `tasks/` (with its sub-directories), `out/`, `tmp/`, `home/`, `run/`.
    pub fn new() -> Self {
        let root = tempfile::Builder::new()
            .prefix("amphigory-daemon-test-")
            .tempdir()
            .unwrap();
        for dir in ["out", "tmp", "home"] {
            fs::create_dir(root.path().join(dir)).unwrap();
        }
        // The webapp's side of the queue: a throw-away state directory of its own.
        let queue = Queue::open(
            root.path().join("tasks"),
            &root.path().join("enqueuer-state"),
            "test-webapp",
        )
        .unwrap();
        Self { root, queue }
    }

    /// The temporary root.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The queue directory.
    pub fn tasks(&self) -> PathBuf {
        self.root().join("tasks")
    }

    /// Where rips go.
    pub fn out(&self) -> PathBuf {
        self.root().join("out")
    }

    /// A daemon's state directory.
    pub fn state_dir(&self, name: &str) -> PathBuf {
        self.root().join(format!("state-{name}"))
    }

    /// The webapp's handle on the queue (enqueue exactly as the webapp does).
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// `tasks/<state>/<id>.json`.
    pub fn path(&self, state: TaskState, id: &str) -> PathBuf {
        self.queue.layout().file(state, id)
    }

    /// `tasks/<state>/`.
    pub fn dir(&self, state: TaskState) -> PathBuf {
        self.queue.layout().dir(state)
    }

    /// Enqueues a scan as the webapp would; returns its id.
    pub fn enqueue_scan(&self) -> String {
        self.queue.enqueue(&NewTask::scan()).unwrap()
    }

    /// Enqueues a rip of `track` into `out/<movie>/<movie>.mkv` (webapp shape: `output`
    /// string and `output_info`); returns its id and the file it will write.
    pub fn enqueue_rip(&self, track: u32, movie: &str) -> (String, PathBuf) {
        let spec = self.rip_spec(track, movie);
        let file = spec.output_path();
        (self.queue.enqueue(&NewTask::rip(spec)).unwrap(), file)
    }

    /// The rip spec `enqueue_rip` uses.
    pub fn rip_spec(&self, track: u32, movie: &str) -> RipSpec {
        RipSpec {
            track,
            expected_size_bytes: None,
            expected_duration: None,
            directory: self.out().join(movie),
            filename: format!("{movie}.mkv"),
        }
    }

    /// Writes `queued/<id>.json` as given (temp name in the queue directory, then a
    /// rename into `queued/`), without touching `tasks.json`.
    pub fn put_raw(&self, id: &str, task: &Value) {
        self.put_bytes(
            TaskState::Queued,
            id,
            &serde_json::to_vec_pretty(task).unwrap(),
        );
    }

    /// Writes `<state>/<id>.json` with these bytes, atomically.
    pub fn put_bytes(&self, state: TaskState, id: &str, bytes: &[u8]) {
        let temp = self.tasks().join(format!(".write-{id}.tmp"));
        fs::write(&temp, bytes).unwrap();
        fs::rename(&temp, self.path(state, id)).unwrap();
    }

    /// Rewrites `tasks.json` in place (truncate and write, not atomic: as the webapp does).
    pub fn write_order(&self, ids: &[&str]) {
        fs::write(
            self.tasks().join("tasks.json"),
            serde_json::to_vec(ids).unwrap(),
        )
        .unwrap();
    }

    /// The ids `tasks.json` lists.
    pub fn order(&self) -> Vec<String> {
        let bytes = fs::read(self.tasks().join("tasks.json")).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// `complete/<id>.json`, parsed, if it is there.
    pub fn result(&self, id: &str) -> Option<Value> {
        let bytes = fs::read(self.path(TaskState::Complete, id)).ok()?;
        Some(
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!("complete/{id}.json is not whole JSON ({e}): {bytes:?}")
            }),
        )
    }

    /// Waits for `complete/<id>.json`.
    pub fn wait_result(&self, id: &str, timeout: Duration) -> Value {
        let dir = self.dir(TaskState::Complete);
        wait_for(&format!("the result of {id}"), timeout, &[&dir], || {
            self.result(id)
        })
    }

    /// Waits for the results of all of `ids`.
    pub fn wait_results(&self, ids: &[String], timeout: Duration) -> BTreeMap<String, Value> {
        let dir = self.dir(TaskState::Complete);
        let what = format!("the results of {} tasks", ids.len());
        wait_for(&what, timeout, &[&dir], || {
            let found: BTreeMap<String, Value> = ids
                .iter()
                .filter_map(|id| self.result(id).map(|r| (id.clone(), r)))
                .collect();
            (found.len() == ids.len()).then_some(found)
        })
    }

    /// Sorted entry names of `tasks/<state>/` (hidden ones included).
    pub fn names(&self, state: TaskState) -> Vec<String> {
        names_in(&self.dir(state))
    }

    /// Waits until `tasks/<state>/` holds exactly `expected` (sorted names); a result
    /// is written before its claim is cleared, so this is how "finished" is awaited.
    pub fn wait_names(&self, state: TaskState, expected: &[String]) {
        let dir = self.dir(state);
        let what = format!("{state}/ to hold {expected:?}");
        wait_for(&what, WAIT, &[&dir], || {
            (self.names(state) == expected).then_some(())
        });
    }

    /// Starts a daemon with one fast drive and waits until it is ready.
    pub fn start(&self, name: &str) -> Daemon {
        self.start_with(&DaemonSpec::new(name))
    }

    /// Starts a daemon and waits until it is ready and idle: every drive's disc scanned
    /// (the proactive scan at start-up).
    pub fn start_with(&self, spec: &DaemonSpec) -> Daemon {
        let daemon = self.launch(spec);
        daemon.wait_log(READY, WAIT);
        for i in 0..spec.drives {
            daemon.wait_log(&format!("disc in /dev/sim{i} scanned"), WAIT);
        }
        daemon
    }

    /// A daemon's `XDG_RUNTIME_DIR` (created, mode 0700).
    fn runtime_dir(&self, name: &str) -> PathBuf {
        use std::os::unix::fs::DirBuilderExt;
        let dir = self.root().join(format!("run-{name}"));
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .unwrap();
        dir
    }

    /// Starts a daemon and returns at once (it may still be recovering).
    pub fn launch(&self, spec: &DaemonSpec) -> Daemon {
        let discs = vec![spec.disc.as_str(); spec.drives].join(",");
        let mut command = Command::new(self.program_for(spec));
        command
            .arg("daemon")
            .arg("--tasks-dir")
            .arg(self.tasks())
            .arg("--state-dir")
            .arg(self.state_dir(&spec.name))
            .args([
                "--simulate",
                &discs,
                "--sim-rate",
                &spec.sim_rate.to_string(),
            ])
            .args(["--ws-port", "0", "--no-webapp"])
            .args(["--log-level", spec.log_level])
            .args(&spec.args)
            .env("USER", &spec.name)
            .env("NO_COLOR", "1")
            .env("TMPDIR", self.root().join("tmp"))
            .env("HOME", self.root().join("home"))
            .env("XDG_RUNTIME_DIR", self.runtime_dir(&spec.name))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(uid) = spec.uid {
            use std::os::unix::process::CommandExt;
            self.hand_over(&spec.name, uid);
            command.uid(uid).gid(uid);
        }
        // No desktop notifications from tests unless a test asks for them (and gives
        // the daemon a bus of its own).
        if !spec.args.iter().any(|a| a == "--notifications") {
            command.args(["--notifications", "off"]);
        }
        match &spec.tray_bus {
            Some(bus) => command.env("DBUS_SESSION_BUS_ADDRESS", bus),
            None => command.arg("--headless"),
        };
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("AMPHIGORY_") {
                command.env_remove(key);
            }
        }
        command.envs(spec.env.iter().map(|(k, v)| (k, v)));
        if let Some(limit) = spec.open_files {
            limit_open_files(&mut command, limit);
        }
        Daemon::spawn(command, &spec.name)
    }

    /// The binary to run for `spec`: the build's own, or, for a daemon running as another
    /// user, a copy in this test's root, since the build's folder may be closed to others
    /// (a clone in a `mktemp -d` folder is `0700`).
    fn program_for(&self, spec: &DaemonSpec) -> PathBuf {
        if spec.uid.is_none() {
            return PathBuf::from(BIN);
        }
        let bin = self.root().join("bin");
        let copy = bin.join("amphigory");
        if !copy.exists() {
            fs::create_dir_all(&bin).unwrap();
            fs::copy(BIN, &copy).unwrap();
        }
        copy
    }

    /// Makes everything a daemon named `name` uses writable by `uid` (its state, runtime,
    /// temp and home directories, the queue folders, `out/`), so it can run as that user.
    /// Files already in the queue stay the test's (root's), as the webapp's would.
    pub fn hand_over(&self, name: &str, uid: u32) {
        use std::os::unix::fs::PermissionsExt;
        let root = self.root();
        fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
        let state = self.state_dir(name);
        fs::create_dir_all(&state).unwrap();
        let dirs = [
            state,
            self.runtime_dir(name),
            root.join("tmp"),
            root.join("home"),
            self.out(),
            self.tasks(),
            self.dir(TaskState::Queued),
            self.dir(TaskState::InProgress),
            self.dir(TaskState::Complete),
            self.dir(TaskState::Failed),
        ];
        for dir in dirs {
            std::os::unix::fs::chown(&dir, Some(uid), Some(uid)).unwrap();
        }
    }

    /// Pids of live simulated makemkvcon processes of this test (found by the sim
    /// directory in their environment, or this root on their command line).
    pub fn sim_pids(&self) -> Vec<u32> {
        proc_table::sim_makemkvcons(self.root())
    }

    /// Waits until no simulated makemkvcon of this test is alive.
    pub fn wait_no_sims(&self, timeout: Duration) {
        wait_for("no simulated makemkvcon left", timeout, &[], || {
            self.sim_pids().is_empty().then_some(())
        });
    }

    /// Hidden entries (temp files, temp directories) anywhere under `out/`.
    pub fn hidden_in_out(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        hidden_under(&self.out(), &mut found);
        found
    }
}

/// Makes `command` start with `limit` as both its soft and hard open-file limit.
fn limit_open_files(command: &mut Command, limit: u64) {
    use nix::sys::resource::{Resource, setrlimit};
    use std::os::unix::process::CommandExt;
    // SAFETY: runs in the forked child before exec; setrlimit is a single system call
    // (async-signal-safe) and nothing is allocated.
    unsafe {
        command.pre_exec(move || {
            setrlimit(Resource::RLIMIT_NOFILE, limit, limit).map_err(std::io::Error::from)
        });
    }
}

fn hidden_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            found.push(path.clone());
        }
        if entry.file_type().unwrap().is_dir() {
            hidden_under(&path, found);
        }
    }
}

/// Sorted entry names of a directory.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Ids in `ids` that appear more than once.
pub fn duplicates(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut twice: Vec<String> = ids
        .iter()
        .filter(|id| !seen.insert(id.as_str()))
        .cloned()
        .collect();
    twice.sort();
    twice.dedup();
    twice
}
