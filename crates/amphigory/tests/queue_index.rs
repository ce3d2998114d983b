#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The queue's index under the webapp's whole repertoire (issue 16): random sequences of
//! adds, reorders of `tasks.json` (whole or caught half written), cancels (a queued file
//! deleted), task files written in two goes, and lost file-system events, against one or
//! two daemons (real `Queue`s on one directory, each fed by its own lossy watcher, each
//! claiming and finishing as its engine would). Whatever the interleaving, every task runs
//! exactly once unless cancelled first; once the webapp is done and a safety rescan ran,
//! each daemon runs what is left in `tasks.json` order.
//!
//! And, on the real daemon: with every notification lost, the safety rescan still starts
//! each task within its interval.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amphigory::queue::{Queue, QueueWatcher, TaskState};
use proptest::prelude::*;
use serde_json::json;
use support::daemon::{DaemonSpec, Rig, WAIT, wait_for};
use support::queue::success;
use tokio::sync::Notify;

/// One thing the webapp, a daemon or the file system does.
#[derive(Debug, Clone)]
enum Op {
    /// A new task: file renamed into `queued/`, then appended to `tasks.json`.
    Add,
    /// A new task whose file is written in two goes: the first half now.
    AddHalf,
    /// The second half of the oldest file still half written.
    FinishHalf,
    /// `tasks.json` rewritten in another order (by this seed).
    Reorder(u64),
    /// `tasks.json` caught half written by the next passes, until the next write.
    HalfOrder,
    /// The webapp deletes the n-th queued file (cancel).
    Cancel(usize),
    /// Daemon d claims the next task and finishes it.
    Pass(usize),
    /// Daemon d's safety rescan.
    Rescan(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Add),
        1 => Just(Op::AddHalf),
        1 => Just(Op::FinishHalf),
        1 => any::<u64>().prop_map(Op::Reorder),
        1 => Just(Op::HalfOrder),
        1 => (0usize..8).prop_map(Op::Cancel),
        4 => (0usize..2).prop_map(Op::Pass),
        1 => (0usize..2).prop_map(Op::Rescan),
    ]
}

/// The webapp's side of one queue directory, and what the daemons ran.
struct World {
    _tmp: tempfile::TempDir,
    tasks: PathBuf,
    daemons: Vec<(Queue, QueueWatcher)>,
    order: Vec<String>,
    half_written: Vec<String>,
    cancelled: BTreeSet<String>,
    /// Every run, by daemon: `(daemon, id)` in the order they happened.
    runs: Vec<(usize, String)>,
    next_id: usize,
}

impl World {
    fn new(daemons: usize, loss_percent: u8) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let tasks = tmp.path().join("tasks");
        let daemons = (0..daemons)
            .map(|d| {
                let state = tmp.path().join(format!("state-{d}"));
                let queue = Queue::open(&tasks, &state, format!("d{d}@host")).unwrap();
                let watcher = queue
                    .watch_lossy(Arc::new(Notify::new()), loss_percent)
                    .unwrap();
                (queue, watcher)
            })
            .collect();
        Self {
            _tmp: tmp,
            tasks,
            daemons,
            order: Vec::new(),
            half_written: Vec::new(),
            cancelled: BTreeSet::new(),
            runs: Vec::new(),
            next_id: 0,
        }
    }

    fn queued(&self, id: &str) -> PathBuf {
        self.tasks.join("queued").join(format!("{id}.json"))
    }

    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("20251227T143052.{:06}-scan", self.next_id)
    }

    fn body(id: &str) -> String {
        json!({"id": id, "type": "scan", "created_at": "2025-12-27T14:30:52"}).to_string()
    }

    /// `tasks.json` rewritten in place, as the webapp writes it.
    fn write_order(&self) {
        fs::write(
            self.tasks.join("tasks.json"),
            serde_json::to_vec(&self.order).unwrap(),
        )
        .unwrap();
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Add => {
                let id = self.new_id();
                let temp = self.tasks.join(format!(".incoming-{id}"));
                fs::write(&temp, Self::body(&id)).unwrap();
                fs::rename(&temp, self.queued(&id)).unwrap();
                self.order.push(id);
                self.write_order();
            }
            Op::AddHalf => {
                let id = self.new_id();
                let body = Self::body(&id);
                fs::write(self.queued(&id), &body[..body.len() / 2]).unwrap();
                self.order.push(id.clone());
                self.write_order();
                self.half_written.push(id);
            }
            Op::FinishHalf => self.finish_half(),
            Op::Reorder(seed) => {
                let mut rng = *seed | 1;
                for i in (1..self.order.len()).rev() {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    self.order
                        .swap(i, usize::try_from(rng % (i as u64 + 1)).unwrap());
                }
                self.write_order();
            }
            Op::HalfOrder => {
                let whole = serde_json::to_vec(&self.order).unwrap();
                fs::write(self.tasks.join("tasks.json"), &whole[..whole.len() / 2]).unwrap();
            }
            Op::Cancel(n) => {
                let queued: Vec<String> = self
                    .order
                    .iter()
                    .filter(|id| self.queued(id).exists())
                    .cloned()
                    .collect();
                if let Some(id) = queued.get(n % queued.len().max(1)) {
                    if fs::remove_file(self.queued(id)).is_ok() {
                        self.cancelled.insert(id.clone());
                        self.half_written.retain(|h| h != id);
                    }
                }
            }
            Op::Pass(d) => {
                self.pass(d % self.daemons.len());
            }
            Op::Rescan(d) => self.daemons[d % self.daemons.len()].0.request_rescan(),
        }
    }

    fn finish_half(&mut self) {
        if self.half_written.is_empty() {
            return;
        }
        let id = self.half_written.remove(0);
        if self.queued(&id).exists() {
            fs::write(self.queued(&id), Self::body(&id)).unwrap();
        }
    }

    /// Daemon `d` claims what its engine would and finishes it; false when nothing.
    fn pass(&mut self, d: usize) -> bool {
        let queue = &self.daemons[d].0;
        let claim = queue.next_by_target(|_| true).unwrap();
        let rejected = queue.take_rejected();
        assert!(rejected.is_empty(), "{rejected:?}");
        let Some(claim) = claim else {
            return false;
        };
        queue.finish(&claim, &success(&claim)).unwrap();
        self.runs.push((d, claim.id().to_owned()));
        true
    }

    /// The webapp is done: every file whole, `tasks.json` whole; each daemon rescans,
    /// then they take turns until neither finds work.
    fn drain(&mut self) -> BTreeMap<usize, Vec<String>> {
        while !self.half_written.is_empty() {
            self.finish_half();
        }
        self.write_order();
        for (queue, _) in &self.daemons {
            queue.request_rescan();
        }
        let before = self.runs.len();
        loop {
            let ran: Vec<bool> = (0..self.daemons.len()).map(|d| self.pass(d)).collect();
            if !ran.contains(&true) {
                break;
            }
        }
        let mut by_daemon: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (d, id) in &self.runs[before..] {
            by_daemon.entry(*d).or_default().push(id.clone());
        }
        by_daemon
    }

    fn check(&mut self) {
        let drained = self.drain();
        let mut seen = BTreeSet::new();
        for (_, id) in &self.runs {
            assert!(seen.insert(id.clone()), "{id} ran twice: {:?}", self.runs);
            assert!(
                self.tasks
                    .join("complete")
                    .join(format!("{id}.json"))
                    .exists()
            );
        }
        for id in &self.order {
            let cancelled = self.cancelled.contains(id);
            assert_eq!(seen.contains(id), !cancelled, "{id}: cancelled {cancelled}");
        }
        let position: BTreeMap<&String, usize> = self
            .order
            .iter()
            .enumerate()
            .map(|(i, id)| (id, i))
            .collect();
        for (d, ids) in drained {
            let places: Vec<usize> = ids.iter().map(|id| position[id]).collect();
            assert!(
                places.windows(2).all(|w| w[0] < w[1]),
                "daemon {d} ran {ids:?} out of tasks.json order {:?}",
                self.order
            );
        }
        assert_eq!(fs::read_dir(self.tasks.join("queued")).unwrap().count(), 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_task_runs_exactly_once_in_order_whatever_the_webapp_does(
        daemons in 1usize..=2,
        loss in prop_oneof![Just(0u8), Just(30u8), Just(100u8)],
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let mut world = World::new(daemons, loss);
        for op in &ops {
            world.apply(op);
        }
        world.check();
    }
}

#[test]
fn with_every_notification_lost_the_safety_rescan_still_starts_each_task() {
    let rig = Rig::new();
    let spec = DaemonSpec::new("a").with_args(&["--lose-fs-events", "100"]);
    let daemon = rig.start_with(&spec);
    let rescan = amphigory::queue::RESCAN_INTERVAL;
    for _ in 0..2 {
        let began = Instant::now();
        let id = rig.enqueue_scan();
        let result = rig.wait_result(&id, WAIT);
        let took = began.elapsed();
        assert_eq!(result["status"], "success", "{result:#}");
        // Within the interval (plus slack for a loaded machine), never left waiting.
        assert!(
            took < rescan + Duration::from_secs(3),
            "{id} started after {took:?}"
        );
    }
    assert!(
        daemon
            .log_index(&["file-system notifications unavailable"])
            .is_none()
    );
    wait_for("no task left queued", WAIT, &[], || {
        names_in(&rig.dir(TaskState::Queued))
            .is_empty()
            .then_some(())
    });
}

fn names_in(dir: &Path) -> Vec<String> {
    support::daemon::names_in(dir)
}
