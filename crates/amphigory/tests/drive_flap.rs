#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! A drive that goes away while its task is still dying and comes back (issue 15): the
//! old task's end must not free the drive under the next one. Before the fix, task B
//! started beside A's makemkvcon, A's completion cleared B's entry, C started beside B,
//! and B could no longer be cancelled or stopped at shutdown.
//!
//! The simulated drive: A's makemkvcon is stopped (SIGSTOP) so it dies only when the
//! runner's kill escalates to SIGKILL; the drive's state file is moved away (the drive
//! disappears) and back (it returns with its disc); then B and C are queued.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use amphigory::core::DaemonEvent;
use amphigory::core::StatusSnapshot;
use amphigory::daemon::{self, DaemonHandle, DaemonOptions, SimOptions};
use amphigory::queue::{NewTask, RipSpec};
use amphigory::sim::state::state_path;
use amphigory_wire::ErrorCode;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(40);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drive_that_flaps_mid_task_never_runs_two_makemkvcon_and_every_task_stays_cancellable() {
    let root = tempfile::tempdir().unwrap();
    let stop = CancellationToken::new();
    let handle = start(root.path(), stop.clone()).await;
    let mut events = Recorder::new(handle.bus.subscribe());
    let rig = handle.sim().unwrap().clone();
    let device = rig.devices()[0].clone();
    let rip = |name: &str| enqueue_rip(&handle, root.path(), name);

    let a = rip("A");
    events.until(|e| matches!(e, DaemonEvent::TaskProgress { task_id, percent, .. } if *task_id == a && *percent > 0)).await;
    let a_children = live(&rig.pids(&device));
    assert_eq!(a_children.len(), 1, "one makemkvcon for A: {a_children:?}");
    for pid in &a_children {
        kill(Pid::from_raw(*pid as i32), Signal::SIGSTOP).unwrap();
    }

    // The drive goes away (A is told to stop, but its makemkvcon cannot die yet) and
    // comes back with its disc.
    let state = state_path(rig.dir(), 0);
    let away = root.path().join("sim0.json.away");
    std::fs::rename(&state, &away).unwrap();
    wait_status(&handle, |s| s.drives.is_empty()).await;
    std::fs::rename(&away, &state).unwrap();
    wait_status(&handle, |s| {
        s.drives.len() == 1 && s.drives[0].disc_inserted_at.is_some()
    })
    .await;

    let b = rip("B");
    let c = rip("C");
    let started_b = events
        .until(|e| matches!(e, DaemonEvent::TaskStarted { task_id, .. } if *task_id == b))
        .await;
    let a_end = events
        .position(|e| matches!(e, DaemonEvent::TaskFinished { task_id, .. } if *task_id == a));
    assert!(
        a_end.is_some_and(|at| at < started_b),
        "B started on the drive before A's makemkvcon had ended: {:#?}",
        events.seen
    );
    assert!(live(&a_children).is_empty(), "A's makemkvcon still alive");
    let b_children = wait_children(&rig, &device, &a_children).await;

    // B is the drive's task: it can be cancelled, and only then does C start.
    assert_eq!(cancel(&handle, &b).await, Ok(b.clone()));
    let b_end = events
        .until(|e| matches!(e, DaemonEvent::TaskFinished { task_id, .. } if *task_id == b))
        .await;
    let DaemonEvent::TaskFinished { error, .. } = &events.seen[b_end] else {
        unreachable!()
    };
    assert_eq!(
        error.as_ref().map(|e| e.code),
        Some(ErrorCode::TaskCancelled)
    );
    let started_c = events
        .until(|e| matches!(e, DaemonEvent::TaskStarted { task_id, .. } if *task_id == c))
        .await;
    assert!(started_c > b_end);
    assert!(live(&b_children).is_empty(), "B's makemkvcon still alive");
    let seen: Vec<_> = [a_children.clone(), b_children.clone()].concat();
    wait_children(&rig, &device, &seen).await;

    // Shutdown stops C and leaves no makemkvcon behind.
    stop.cancel();
    tokio::time::timeout(WAIT, handle.wait())
        .await
        .expect("the daemon stops");
    assert!(
        live(&rig.pids(&device)).is_empty(),
        "a makemkvcon outlived the daemon"
    );
}

/// A daemon on one simulated Blu-ray drive, reading slowly enough that a rip lasts.
async fn start(root: &Path, stop: CancellationToken) -> DaemonHandle {
    let mut options = DaemonOptions::new(root.join("tasks"), root.join("state"));
    options.simulate = Some(SimOptions {
        discs: vec!["demo-bluray".into()],
        rate_mbps: 200.0, // the 26 GB main feature would take minutes
        fault: None,
    });
    options.sim_executable = Some(PathBuf::from(env!("CARGO_BIN_EXE_amphigory")));
    std::fs::create_dir_all(root.join("out")).unwrap();
    daemon::start(options, stop).await.unwrap()
}

fn enqueue_rip(handle: &DaemonHandle, root: &Path, name: &str) -> String {
    handle
        .queue
        .enqueue(&NewTask::rip(RipSpec {
            track: 0,
            expected_size_bytes: None,
            expected_duration: None,
            directory: root.join("out"),
            filename: format!("{name}.mkv"),
        }))
        .unwrap()
}

/// Every event seen so far, in order, and the receiver for more.
struct Recorder {
    rx: broadcast::Receiver<DaemonEvent>,
    seen: Vec<DaemonEvent>,
}

impl Recorder {
    fn new(rx: broadcast::Receiver<DaemonEvent>) -> Self {
        Self {
            rx,
            seen: Vec::new(),
        }
    }

    fn position(&self, want: impl Fn(&DaemonEvent) -> bool) -> Option<usize> {
        self.seen.iter().position(want)
    }

    /// The index of the first event (seen already or coming) that matches.
    async fn until(&mut self, want: impl Fn(&DaemonEvent) -> bool) -> usize {
        if let Some(at) = self.position(&want) {
            return at;
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let event = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out; seen {:#?}", self.seen))
                .unwrap();
            self.seen.push(event);
            if want(self.seen.last().unwrap()) {
                return self.seen.len() - 1;
            }
        }
    }
}

async fn wait_status(handle: &DaemonHandle, want: impl Fn(&StatusSnapshot) -> bool) {
    let mut rx = handle.status.watch();
    tokio::time::timeout(WAIT, rx.wait_for(|s| want(s)))
        .await
        .expect("status reached")
        .unwrap();
}

/// The one live makemkvcon of `device` not among `old`: there is exactly one.
async fn wait_children(rig: &amphigory::sim::SimRig, device: &str, old: &[u32]) -> Vec<u32> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let all = live(&rig.pids(device));
        assert!(all.len() <= 1, "two makemkvcon on {device}: {all:?}");
        let new: Vec<u32> = all.into_iter().filter(|p| !old.contains(p)).collect();
        if !new.is_empty() {
            return new;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no new makemkvcon on {device}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await; // polling /proc: there is no event
    }
}

async fn cancel(handle: &DaemonHandle, id: &str) -> Result<String, String> {
    handle
        .engine
        .cancel(Some(id.to_owned()))
        .await
        .map_err(|e| e.to_string())
}

/// Those of `pids` that are alive (not gone, not a zombie waiting to be reaped).
fn live(pids: &[u32]) -> Vec<u32> {
    pids.iter()
        .copied()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
                .unwrap_or(false)
        })
        .collect()
}
