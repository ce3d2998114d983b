//! The in-process daemon rig and helpers of the drive registry tests.

use super::*;

/// Limit of any single wait; whole tests stay well under a minute.
pub(crate) const WAIT: Duration = Duration::from_secs(45);
pub(crate) const DAEMON_ID: &str = "tester@host";
/// MB/s at which the smallest `demo-bluray` extra (title 7, 201 MB) takes about 3 s.
pub(crate) const SLOW_RATE: f64 = 70.0;
/// MB/s at which any extra takes well under a second.
pub(crate) const FAST_RATE: f64 = 2000.0;

/// An in-process daemon on simulated drives in a temporary directory.
pub(crate) struct Rig {
    pub(crate) root: TempDir,
    pub(crate) stop: CancellationToken,
    pub(crate) handle: Option<DaemonHandle>,
}

impl Rig {
    /// Starts a daemon on one simulated drive per disc, changed by `change`, and waits
    /// until every disc is scanned (the proactive scan at start-up).
    pub(crate) async fn start(
        discs: &[&str],
        rate_mbps: f64,
        change: impl FnOnce(&mut DaemonOptions),
    ) -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("out")).unwrap();
        let mut options = options(root.path(), discs, rate_mbps);
        change(&mut options);
        let stop = CancellationToken::new();
        let handle = daemon::start(options, stop.clone()).await.unwrap();
        support::wait_scanned(&handle.status).await;
        Self {
            root,
            stop,
            handle: Some(handle),
        }
    }

    pub(crate) fn handle(&self) -> &DaemonHandle {
        self.handle.as_ref().unwrap()
    }

    pub(crate) fn rig(&self) -> &amphigory::sim::SimRig {
        self.handle().sim().expect("simulated drives")
    }

    pub(crate) fn out(&self) -> PathBuf {
        self.root.path().join("out")
    }

    pub(crate) fn status(&self) -> StatusSnapshot {
        self.handle().status.get()
    }

    /// The drive at `device` (`/dev/simN`) in the status.
    pub(crate) fn drive(&self, device: &str) -> DriveStatus {
        drive_in(&self.status(), device)
    }

    pub(crate) fn enqueue(&self, task: &NewTask) -> String {
        self.handle().queue.enqueue(task).unwrap()
    }

    /// `complete/<id>.json`, parsed.
    pub(crate) fn result(&self, id: &str) -> Value {
        let path = self.handle().queue.layout().file(TaskState::Complete, id);
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
    }

    pub(crate) fn is_queued(&self, id: &str) -> bool {
        self.handle()
            .queue
            .layout()
            .file(TaskState::Queued, id)
            .exists()
    }

    /// Waits (watching the status) until `want` holds; returns that snapshot.
    pub(crate) async fn wait_status(
        &self,
        what: &str,
        want: impl FnMut(&StatusSnapshot) -> bool,
    ) -> StatusSnapshot {
        let mut rx = self.handle().status.watch();
        let snapshot = tokio::time::timeout(WAIT, rx.wait_for(want))
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}: {:?}", self.status()))
            .unwrap();
        snapshot.clone()
    }

    /// Stops the daemon and waits until it has.
    pub(crate) async fn shutdown(&mut self) {
        self.stop.cancel();
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(WAIT, handle.wait())
                .await
                .expect("the daemon stops in time");
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub(crate) fn options(root: &Path, discs: &[&str], rate_mbps: f64) -> DaemonOptions {
    let mut options = DaemonOptions::new(root.join("tasks"), root.join("state"));
    options.daemon_id = DAEMON_ID.into();
    options.simulate = Some(SimOptions {
        discs: discs.iter().map(|d| (*d).to_owned()).collect(),
        rate_mbps,
        fault: None,
    });
    options.sim_executable = Some(env!("CARGO_BIN_EXE_amphigory").into());
    options.heartbeat_interval = Duration::from_secs(3600);
    options
}

pub(crate) fn drive_id(device: &str) -> String {
    daemon::drive_id(DAEMON_ID, device)
}

pub(crate) fn drive_in(status: &StatusSnapshot, device: &str) -> DriveStatus {
    status
        .drives
        .iter()
        .find(|d| d.device == device)
        .cloned()
        .unwrap_or_else(|| panic!("no drive {device} in {:?}", status.drives))
}

/// The smallest title of the disc in `drive`, from its cached scan: (number, bytes).
pub(crate) fn smallest_track(drive: &DriveStatus) -> (u32, u64) {
    let scan = serde_json::to_value(drive.scan_result.as_ref().expect("a cached scan")).unwrap();
    scan["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                u32::try_from(t["number"].as_u64().unwrap()).unwrap(),
                t["size_bytes"].as_u64().unwrap(),
            )
        })
        .min_by_key(|&(_, size)| size)
        .unwrap()
}

pub(crate) fn rip(out: &Path, movie: &str, track: u32, drive: Option<&str>) -> NewTask {
    let mut task = NewTask::rip(RipSpec {
        track,
        expected_size_bytes: None,
        expected_duration: None,
        directory: out.join(movie),
        filename: format!("{movie}.mkv"),
    });
    task.drive = drive.map(str::to_owned);
    task
}

pub(crate) fn scan(drive: Option<&str>, fingerprint: Option<&str>) -> NewTask {
    let mut task = NewTask::scan();
    task.drive = drive.map(str::to_owned);
    task.disc_fingerprint = fingerprint.map(str::to_owned);
    task
}

pub(crate) fn fingerprint(disc: &str) -> String {
    amphigory::sim::disc_fingerprint(disc).unwrap()
}

/// Bus events with the instant each was received.
pub(crate) struct Events {
    rx: broadcast::Receiver<DaemonEvent>,
    pub(crate) seen: Vec<(Instant, DaemonEvent)>,
}

impl Events {
    pub(crate) fn new(handle: &DaemonHandle) -> Self {
        Self {
            rx: handle.bus.subscribe(),
            seen: Vec::new(),
        }
    }

    /// The next event matching `want` (every event on the way is kept in `seen`).
    pub(crate) async fn wait(
        &mut self,
        what: &str,
        want: impl Fn(&DaemonEvent) -> bool,
    ) -> DaemonEvent {
        let rx = &mut self.rx;
        let seen = &mut self.seen;
        tokio::time::timeout(WAIT, async {
            loop {
                let event = rx.recv().await.expect("the bus is open and keeps up");
                seen.push((Instant::now(), event.clone()));
                if want(&event) {
                    return event;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}; seen: {:#?}", self.kinds()))
    }

    /// Waits until every one of `ids` finished; returns their errors.
    pub(crate) async fn finished(
        &mut self,
        ids: &[String],
    ) -> BTreeMap<String, Option<amphigory_wire::TaskError>> {
        let mut done = BTreeMap::new();
        while done.len() < ids.len() {
            let event = self
                .wait(&format!("the end of {ids:?}"), |e| {
                    matches!(e, DaemonEvent::TaskFinished { task_id, .. } if ids.contains(task_id))
                })
                .await;
            if let DaemonEvent::TaskFinished { task_id, error, .. } = event {
                done.insert(task_id, error);
            }
        }
        done
    }

    /// When `id` started and on which drive.
    pub(crate) fn started(&self, id: &str) -> (Instant, String) {
        self.seen
            .iter()
            .find_map(|(at, e)| match e {
                DaemonEvent::TaskStarted {
                    task_id, drive_id, ..
                } if task_id == id => Some((*at, drive_id.clone())),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{id} never started: {:#?}", self.kinds()))
    }

    /// When `id` finished.
    pub(crate) fn finished_at(&self, id: &str) -> Instant {
        self.position_of(id, |e| matches!(e, DaemonEvent::TaskFinished { .. }))
            .map(|i| self.seen[i].0)
            .unwrap_or_else(|| panic!("{id} never finished: {:#?}", self.kinds()))
    }

    pub(crate) fn position_of(
        &self,
        id: &str,
        kind: impl Fn(&DaemonEvent) -> bool,
    ) -> Option<usize> {
        self.seen
            .iter()
            .position(|(_, e)| kind(e) && e.task_id() == Some(id))
    }

    /// Progress percents of `id`, in order.
    pub(crate) fn percents(&self, id: &str) -> Vec<u8> {
        self.seen
            .iter()
            .filter_map(|(_, e)| match e {
                DaemonEvent::TaskProgress {
                    task_id, percent, ..
                } if task_id == id => Some(*percent),
                _ => None,
            })
            .collect()
    }

    /// A short account of what was seen (for failure messages).
    pub(crate) fn kinds(&self) -> Vec<String> {
        self.seen
            .iter()
            .filter(|(_, e)| !matches!(e, DaemonEvent::TaskProgress { .. }))
            .map(|(_, e)| format!("{e:?}"))
            .collect()
    }
}

pub(crate) fn is_disc(e: &DaemonEvent, kind: DiscEventKind, device: &str) -> bool {
    matches!(e, DaemonEvent::Disc { event, device: d, .. } if *event == kind && d == device)
}

/// Is process `pid` running (a zombie is not)?
pub(crate) fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    })
}

/// Asserts that no simulated makemkvcon started for `device` is still running: the runner
/// reaps its child before the task's result is written, so this holds at once.
pub(crate) fn assert_no_child(rig: &amphigory::sim::SimRig, device: &str) {
    let pids = rig.pids(device);
    assert!(
        !pids.is_empty(),
        "no simulated makemkvcon ever ran on {device}"
    );
    let alive: Vec<u32> = pids.into_iter().filter(|&p| running(p)).collect();
    assert!(
        alive.is_empty(),
        "simulated makemkvcon still running: {alive:?}"
    );
}

/// Entries of `dir` (recursively) whose names start with a dot.
pub(crate) fn hidden_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            found.push(path.clone());
        }
        if entry.file_type().unwrap().is_dir() {
            found.extend(hidden_under(&path));
        }
    }
    found
}
