#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Chaos: the real daemon process is killed with SIGKILL at random moments while it works
//! a stream of scans and small rips, renewing 1 s leases every 100 ms, restarted, killed
//! again — 50 times here, 300 with `AMPHIGORY_HEAVY=1` — then left to finish. The moments come from a seeded generator
//! (printed; `AMPHIGORY_CRASH_SEED=<n>` replays a run's choices, though not its timing).
//!
//! After every kill: no simulated makemkvcon of this test outlives the daemon, every
//! result file is whole JSON, and a result once written never changes (a finished task
//! is never run again). At the end: every task has exactly one result (`failed/` holds a
//! copy iff it failed; `RETRIES_EXHAUSTED` is the one acceptable failure, for a task whose
//! runs were all killed), every rip that succeeded is whole where its result says,
//! nothing is left in `in_progress/` but the webapp's own task, and no temporary file or
//! directory is left in the queue, the output folders or the state directory.
//!
//! One moment is too narrow to hit reliably at random: a rip whose file was already moved
//! into place when the daemon died, before its result was written. A second test builds
//! exactly what such a kill leaves behind.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use amphigory::queue::TaskState;
use serde_json::{Value, json};
use support::daemon::{Daemon, DaemonSpec, Rig, WAIT, names_in, started_ids};

/// `demo-bluray` extras: (title, size in bytes).
const EXTRAS: [(u32, u64); 4] = [
    (4, 356_515_840),
    (5, 642_777_088),
    (6, 214_958_080),
    (7, 201_326_592),
];
/// The webapp's tasks, which must come through untouched.
const TRANSCODE_QUEUED: &str = "20251227T143052.123456-transcode";
const TRANSCODE_RUNNING: &str = "20251227T143051.000000-transcode";

/// How hard to shake it.
struct Plan {
    kills: usize,
    tasks: usize,
    /// Kill after 0 ..= this many ms (a task takes 0.6–0.8 s).
    max_delay_ms: u64,
}

impl Plan {
    fn from_env() -> Self {
        if std::env::var("AMPHIGORY_HEAVY").is_ok_and(|v| v == "1") {
            Self {
                kills: 300,
                tasks: 160,
                max_delay_ms: 1500,
            }
        } else {
            Self {
                kills: 50,
                tasks: 36,
                max_delay_ms: 1200,
            }
        }
    }
}

/// SplitMix64: small, seedable, good enough to scatter kills.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn seed() -> u64 {
    std::env::var("AMPHIGORY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            now.as_nanos() as u64 ^ u64::from(std::process::id())
        })
}

/// What a task should produce.
#[derive(Debug, Clone)]
enum Want {
    Scan,
    Rip { file: PathBuf, size: u64 },
}

/// The webapp side: tasks enqueued so far.
struct Stream {
    tasks: BTreeMap<String, Want>,
}

impl Stream {
    /// Enqueues a scan or (usually) an extra's rip into its own folder.
    fn push(&mut self, rig: &Rig, rng: &mut Rng) {
        let n = self.tasks.len();
        if rng.below(5) < 2 {
            self.tasks.insert(rig.enqueue_scan(), Want::Scan);
            return;
        }
        let (track, size) = EXTRAS[usize::try_from(rng.below(4)).unwrap()];
        let (id, file) = rig.enqueue_rip(track, &format!("Extra {n:03}"));
        self.tasks.insert(id, Want::Rip { file, size });
    }
}

/// Tallies for the closing line.
#[derive(Default)]
struct Tally {
    kills: usize,
    kills_mid_task: usize,
    runs_started: usize,
    /// Rips whose output was placed but whose result was not yet written at the kill:
    /// recovery removed the output and the task ripped again.
    replaced_outputs: usize,
}

#[test]
fn sigkill_at_random_moments_never_loses_duplicates_or_strands_a_task() {
    let plan = Plan::from_env();
    let seed = seed();
    println!("crash test: seed {seed} (replay with AMPHIGORY_CRASH_SEED={seed})");
    let began = Instant::now();
    let mut rng = Rng(seed);
    let rig = Rig::new();
    let webapp = plant_webapp_tasks(&rig);
    let mut stream = Stream {
        tasks: BTreeMap::new(),
    };
    for _ in 0..8 {
        stream.push(&rig, &mut rng);
    }
    // A 1 s lease, renewed every 100 ms: every rip (0.6–0.8 s) renews it several times,
    // and the expiry check (every 200 ms) runs alongside, so a kill lands among renewals
    // and a restarted daemon recovers claims whose leases are still live.
    let spec = DaemonSpec::new("crash").with_args(&["--lease-ms", "1000"]);
    let mut seen = BTreeMap::new();
    let mut tally = Tally::default();
    for _ in 0..plan.kills {
        let mut daemon = rig.launch(&spec);
        // The webapp keeps adding work while the daemon starts up and runs.
        for _ in 0..rng.below(3) {
            if stream.tasks.len() < plan.tasks {
                stream.push(&rig, &mut rng);
            }
        }
        // Chaos timing, not synchronisation: the kill lands wherever it lands.
        std::thread::sleep(Duration::from_millis(rng.below(plan.max_delay_ms + 1)));
        daemon.kill9();
        tally.count(&daemon);
        rig.wait_no_sims(Duration::from_secs(5));
        check_results_are_whole_and_final(&rig, &mut seen);
    }
    while stream.tasks.len() < plan.tasks {
        stream.push(&rig, &mut rng);
    }
    let chaos = began.elapsed();

    let mut daemon = rig.start_with(&spec);
    let ids: Vec<String> = stream.tasks.keys().cloned().collect();
    let results = rig.wait_results(&ids, Duration::from_secs(240));
    rig.wait_names(
        TaskState::InProgress,
        &[format!("{TRANSCODE_RUNNING}.json")],
    );
    daemon.stop();
    tally.count(&daemon);
    check_results_are_whole_and_final(&rig, &mut seen);

    let outcomes = check_outcomes(&rig, &stream, &results);
    check_nothing_left_over(&rig, &ids, &webapp);
    rig.wait_no_sims(Duration::from_secs(5));
    println!(
        "crash test: seed {seed}; {} kills ({} while a task ran) in {chaos:.1?}; {} tasks, \
         {} runs started, {} placed outputs ripped again; outcomes {outcomes:?}; total {:.1?}",
        tally.kills,
        tally.kills_mid_task,
        ids.len(),
        tally.runs_started,
        tally.replaced_outputs,
        began.elapsed()
    );
}

impl Tally {
    /// Counts a finished daemon's runs; a run it started and never ended was killed.
    fn count(&mut self, daemon: &Daemon) {
        let lines = daemon.log_lines();
        let started = started_ids(&lines).len();
        let ended = lines
            .iter()
            .filter(|l| l.contains("task completed") || l.contains("task failed"))
            .count();
        self.runs_started += started;
        self.replaced_outputs += lines
            .iter()
            .filter(|l| l.contains("removed the output of a rip that has no result"))
            .count();
        if daemon.log_index(&["daemon stopped"]).is_none() {
            self.kills += 1;
            if started > ended {
                self.kills_mid_task += 1;
            }
        }
    }
}

/// The webapp's queued and in-progress tasks (lease long expired); returns their bytes.
fn plant_webapp_tasks(rig: &Rig) -> Vec<(PathBuf, Vec<u8>)> {
    let planted = [
        (TaskState::Queued, TRANSCODE_QUEUED),
        (TaskState::InProgress, TRANSCODE_RUNNING),
    ];
    let mut kept = Vec::new();
    for (state, id) in planted {
        let bytes = format!(r#"{{"id":"{id}","type":"transcode","input":"/in.mkv"}}"#);
        rig.put_bytes(state, id, bytes.as_bytes());
        let path = rig.path(state, id);
        let file = fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        kept.push((path, bytes.into_bytes()));
    }
    rig.write_order(&[TRANSCODE_QUEUED]);
    kept
}

/// Every `complete/` result parses whole, and one seen before is byte-identical now.
fn check_results_are_whole_and_final(rig: &Rig, seen: &mut BTreeMap<String, Vec<u8>>) {
    for name in rig.names(TaskState::Complete) {
        let Some(id) = name
            .strip_suffix(".json")
            .filter(|_| !name.starts_with('.'))
        else {
            continue;
        };
        let bytes = fs::read(rig.path(TaskState::Complete, id)).unwrap();
        let value: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("partial result complete/{name} ({e}): {bytes:?}"));
        assert!(value.is_object(), "{name}: {value}");
        if let Some(before) = seen.insert(id.to_owned(), bytes.clone()) {
            assert_eq!(before, bytes, "the result of {id} was written twice");
        }
    }
}

/// Checks each task's outcome; returns counts by outcome.
fn check_outcomes(
    rig: &Rig,
    stream: &Stream,
    results: &BTreeMap<String, Value>,
) -> BTreeMap<String, usize> {
    let mut outcomes = BTreeMap::new();
    for (id, want) in &stream.tasks {
        let result = &results[id];
        assert_eq!(result["task_id"], id.as_str(), "{result:#}");
        let failed_copy = rig.path(TaskState::Failed, id).exists();
        let outcome = match result["status"].as_str().unwrap() {
            "success" => {
                check_success(result, want);
                assert!(!failed_copy, "{id}: a failed/ copy of a success");
                "success".to_owned()
            }
            _ => {
                let code = result["error"]["code"].as_str().unwrap().to_owned();
                assert_eq!(code, "RETRIES_EXHAUSTED", "{id}: {result:#}");
                assert!(failed_copy, "{id}: failed without a failed/ copy");
                if let Want::Rip { file, .. } = want {
                    assert!(!file.exists(), "{id} failed but left {file:?}");
                }
                code
            }
        };
        *outcomes.entry(outcome).or_insert(0) += 1;
    }
    outcomes
}

fn check_success(result: &Value, want: &Want) {
    match want {
        Want::Scan => {
            assert_eq!(result["type"], "scan");
            assert_eq!(result["result"]["tracks"].as_array().unwrap().len(), 8);
        }
        Want::Rip { file, size } => {
            assert_eq!(result["type"], "rip");
            assert_eq!(result["result"]["output_path"], file.to_str().unwrap());
            assert_eq!(result["result"]["size_bytes"], *size);
            assert_eq!(fs::metadata(file).unwrap().len(), *size, "{file:?}");
        }
    }
}

/// Exactly one result per task and nothing else: no temp files, no claims, no partial
/// output; the webapp's files as they were.
fn check_nothing_left_over(rig: &Rig, ids: &[String], webapp: &[(PathBuf, Vec<u8>)]) {
    let expected: Vec<String> = ids.iter().map(|id| format!("{id}.json")).collect();
    assert_eq!(rig.names(TaskState::Complete), expected, "complete/");
    let failed = rig.names(TaskState::Failed);
    assert!(
        failed.iter().all(|n| expected.contains(n)),
        "failed/: {failed:?}"
    );
    assert_eq!(
        rig.names(TaskState::Queued),
        vec![format!("{TRANSCODE_QUEUED}.json")]
    );
    assert_eq!(
        rig.names(TaskState::InProgress),
        vec![format!("{TRANSCODE_RUNNING}.json")]
    );
    for (path, bytes) in webapp {
        assert_eq!(&fs::read(path).unwrap(), bytes, "{path:?} was touched");
    }
    let hidden: Vec<String> = names_in(&rig.tasks())
        .into_iter()
        .filter(|n| n.starts_with(".amphigory"))
        .collect();
    assert!(hidden.is_empty(), "temp files in the queue: {hidden:?}");
    assert!(rig.hidden_in_out().is_empty(), "{:?}", rig.hidden_in_out());
    let state = rig.state_dir("crash").join("queue");
    assert!(
        names_in(&state.join("claims")).is_empty(),
        "claim records left"
    );
    let temps: Vec<String> = names_in(&state)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(
        temps.is_empty(),
        "temp files in the state directory: {temps:?}"
    );
}

#[test]
fn a_rip_killed_after_placing_its_file_before_its_result_is_ripped_again() {
    let rig = Rig::new();
    let id = "20251227T170000.000000-rip";
    let movie = rig.out().join("Placed");
    fs::create_dir(&movie).unwrap();
    let file = movie.join("Placed.mkv");
    let (track, size) = EXTRAS[3];
    // What the kill leaves: the claim (its lease long expired), the file in place, and
    // its second link in the task's temporary directory (the runner keeps it there until
    // the result is written, as proof that this task put the file there).
    let task = json!({"id": id, "type": "rip", "track": {"number": track},
        "output_info": {"directory": format!("{}/", movie.display()), "filename": "Placed.mkv"}});
    rig.put_bytes(TaskState::InProgress, id, task.to_string().as_bytes());
    let claimed = fs::File::options()
        .write(true)
        .open(rig.path(TaskState::InProgress, id))
        .unwrap();
    claimed
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let temp = movie.join(format!(".amphigory-{id}"));
    fs::create_dir(&temp).unwrap();
    let ripped = temp.join(format!("title_t{track:02}.mkv"));
    fs::File::create(&ripped).unwrap().set_len(size).unwrap();
    fs::hard_link(&ripped, &file).unwrap();
    let placed = fs::metadata(&file).unwrap().ino();

    let daemon = rig.start("a");
    let result = rig.wait_result(id, WAIT);
    rig.wait_names(TaskState::InProgress, &[]);
    assert_eq!(result["status"], "success", "{result:#}");
    assert_eq!(result["result"]["output_path"], file.to_str().unwrap());
    assert_eq!(result["result"]["size_bytes"], size);
    assert_ne!(fs::metadata(&file).unwrap().ino(), placed, "ripped afresh");
    assert_eq!(fs::metadata(&file).unwrap().len(), size);
    assert!(
        daemon
            .log_index(&["removed the output of a rip that has no result"])
            .is_some(),
        "{}",
        daemon.log_text()
    );
    assert_eq!(names_in(&movie), ["Placed.mkv"]);
}
