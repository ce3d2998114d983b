#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The runner against the simulated makemkvcon: real child processes (this crate's
//! binary), a `SimRig` in a temp dir, fast rates and short limits. Every case checks
//! that no child is left running and no temp directory is left in the output directory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amphigory::makemkv::progress::ProgressUpdate;
use amphigory::makemkv::runner::{
    ChildEvent, RipOutput, RipRequest, RunError, Runner, RunnerConfig, Source, TEMP_DIR_PREFIX,
};
use amphigory::makemkv::scan::parse_scan;
use amphigory::sim::{SimRig, builtin_disc};
use amphigory_wire::ErrorCode;
use tokio_util::sync::CancellationToken;

const DEVICE: &str = "/dev/sim0";
/// Blu-ray title 5: 642 777 088 bytes; about a second at the default test rate.
const TITLE: u32 = 5;
const TITLE_SIZE: u64 = 642_777_088;
const RATE: f64 = 640.0;
/// Upper bound on any one operation, so a regression fails instead of hanging.
const TEST_LIMIT: Duration = Duration::from_secs(60);

struct Setup {
    _temp: tempfile::TempDir,
    rig: SimRig,
    out: PathBuf,
}

fn setup(disc: &str, rate: f64, fault: Option<&str>) -> Setup {
    let temp = tempfile::tempdir().unwrap();
    let fault = fault.map(|f| f.parse().unwrap());
    let rig = SimRig::create(&temp.path().join("sim"), &[disc.to_owned()], rate, fault)
        .unwrap()
        .with_executable(env!("CARGO_BIN_EXE_amphigory"));
    let out = temp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    Setup {
        _temp: temp,
        rig,
        out,
    }
}

fn config() -> RunnerConfig {
    RunnerConfig {
        stall_timeout: Duration::from_secs(20),
        scan_limit: Duration::from_secs(30),
        rip_limit: None,
        kill_grace: Duration::from_secs(5),
        open_retry_backoff: Duration::from_millis(50),
        min_length_seconds: Some(60),
        free_space_margin: None,
        poll_interval: Duration::from_millis(100),
    }
}

/// Collects progress updates.
#[derive(Clone, Default)]
struct Progress(Arc<Mutex<Vec<ProgressUpdate>>>);

impl Progress {
    fn sink(&self) -> impl FnMut(ProgressUpdate) + Send + 'static {
        let all = self.0.clone();
        move |u| all.lock().unwrap().push(u)
    }

    fn percents(&self) -> Vec<u8> {
        self.0.lock().unwrap().iter().map(|u| u.percent).collect()
    }
}

fn request(s: &Setup, title: u32, expected_size: Option<u64>) -> RipRequest {
    RipRequest {
        source: Source::Device(DEVICE.into()),
        title,
        output_dir: s.out.clone(),
        filename: "Movie (2004).mkv".into(),
        expected_size,
        space_needed: expected_size,
        temp_dir: None,
        usual_rate: None,
    }
}

async fn rip_with(
    s: &Setup,
    config: RunnerConfig,
    req: &RipRequest,
    cancel: &CancellationToken,
    progress: &Progress,
) -> Result<RipOutput, RunError> {
    let runner = Runner::new(s.rig.command(), config);
    tokio::time::timeout(TEST_LIMIT, runner.rip(req, cancel, progress.sink()))
        .await
        .expect("rip did not finish in time")
}

async fn rip(s: &Setup, config: RunnerConfig) -> (Result<RipOutput, RunError>, Progress) {
    let progress = Progress::default();
    let req = request(s, TITLE, Some(TITLE_SIZE));
    let result = rip_with(s, config, &req, &CancellationToken::new(), &progress).await;
    (result, progress)
}

async fn scan(
    s: &Setup,
    config: RunnerConfig,
) -> (Result<amphigory_wire::scan::ScanResult, RunError>, Progress) {
    let runner = Runner::new(s.rig.command(), config);
    let progress = Progress::default();
    let source = Source::Device(DEVICE.into());
    let result = tokio::time::timeout(
        TEST_LIMIT,
        runner.scan(&source, &CancellationToken::new(), progress.sink()),
    )
    .await
    .expect("scan did not finish in time");
    (result, progress)
}

/// The error's code and detail, or a panic naming what came instead.
fn failure<T: std::fmt::Debug>(result: Result<T, RunError>) -> (ErrorCode, String) {
    match result {
        Err(RunError::Failed { code, detail, .. }) => (code, detail.unwrap_or_default()),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// Every simulated makemkvcon ever started for the drive has exited (and was reaped:
/// a zombie would still answer `kill(pid, 0)`), and the output directory holds no
/// temp directory.
fn assert_clean(s: &Setup, spawned: usize) {
    let pids = s.rig.pids(DEVICE);
    assert_eq!(pids.len(), spawned, "children started: {pids:?}");
    for pid in pids {
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None);
        assert_eq!(
            alive,
            Err(nix::errno::Errno::ESRCH),
            "child {pid} still exists"
        );
    }
    assert_no_temp(&s.out);
}

fn assert_no_temp(out: &Path) {
    let left: Vec<_> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(TEMP_DIR_PREFIX) || n.starts_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
}

fn assert_progress_complete(progress: &Progress) {
    let p = progress.percents();
    assert_eq!(p.first(), Some(&0), "{p:?}");
    assert_eq!(p.last(), Some(&100), "{p:?}");
    assert!(p.windows(2).all(|w| w[0] <= w[1]), "not increasing: {p:?}");
    assert_eq!(p.iter().filter(|x| **x == 100).count(), 1, "{p:?}");
}

#[tokio::test]
async fn scan_returns_the_parsed_disc() {
    let s = setup("demo-bluray", RATE, None);
    let (result, progress) = scan(&s, config()).await;
    let scan = result.unwrap();
    let expected = parse_scan(builtin_disc("demo-bluray").unwrap()).unwrap();
    assert_eq!(scan, expected);
    assert_eq!(scan.tracks[0].number, 0);
    assert_progress_complete(&progress);
    assert!(progress.percents().len() > 2, "{:?}", progress.percents());
    assert_clean(&s, 1);
}

#[tokio::test]
async fn rip_moves_the_file_to_the_requested_name() {
    let s = setup("demo-bluray", RATE, None);
    let events = Arc::new(Mutex::new(Vec::new()));
    let runner = Runner::new(s.rig.command(), config()).with_child_hook({
        let events = events.clone();
        move |e| events.lock().unwrap().push(e)
    });
    let progress = Progress::default();
    let req = request(&s, TITLE, Some(TITLE_SIZE));
    let out = runner
        .rip(&req, &CancellationToken::new(), progress.sink())
        .await
        .unwrap();
    assert_eq!(out.path, s.out.join("Movie (2004).mkv"));
    assert_eq!(out.size_bytes, TITLE_SIZE);
    assert_eq!(out.makemkv_name.as_deref(), Some("title_t05.mkv"));
    let meta = std::fs::metadata(&out.path).unwrap();
    assert_eq!(meta.len(), TITLE_SIZE);
    // Sparse: far fewer blocks than bytes.
    use std::os::unix::fs::MetadataExt;
    assert!(
        meta.blocks() * 512 < TITLE_SIZE / 100,
        "{} blocks",
        meta.blocks()
    );
    assert_progress_complete(&progress);
    let updates = progress.0.lock().unwrap().clone();
    assert!(
        updates.iter().any(|u| u.percent > 0 && u.percent < 100),
        "{updates:?}"
    );
    assert!(
        updates
            .iter()
            .any(|u| u.current_size_bytes.is_some_and(|b| b > 0))
    );
    let pid = s.rig.pids(DEVICE)[0];
    assert_eq!(
        *events.lock().unwrap(),
        [ChildEvent::Spawned { pid }, ChildEvent::Reaped { pid }]
    );
    let names: Vec<_> = std::fs::read_dir(&s.out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["Movie (2004).mkv"]);
    assert_clean(&s, 1);
}

#[tokio::test]
async fn stall_is_a_timeout() {
    let s = setup("demo-bluray", RATE, Some("stall@30"));
    let cfg = RunnerConfig {
        stall_timeout: Duration::from_secs(2),
        ..config()
    };
    let (result, _) = rip(&s, cfg).await;
    let (code, detail) = failure(result);
    assert_eq!(code, ErrorCode::MakemkvTimeout);
    assert!(detail.contains("without output"), "{detail}");
    assert_clean(&s, 1);
}

#[tokio::test]
async fn scan_over_its_hard_limit_is_a_timeout() {
    let s = setup("demo-bluray", RATE, None);
    let cfg = RunnerConfig {
        scan_limit: Duration::from_millis(100),
        ..config()
    };
    let (result, _) = scan(&s, cfg).await;
    assert_eq!(failure(result).0, ErrorCode::MakemkvTimeout);
    assert_clean(&s, 1);
}

#[tokio::test]
async fn eject_mid_rip_is_disc_ejected() {
    let s = setup("demo-bluray", RATE, Some("eject@50"));
    let (result, progress) = rip(&s, config()).await;
    let (code, detail) = failure(result);
    assert_eq!(code, ErrorCode::DiscEjected, "{detail}");
    assert!(detail.contains("MEDIUM NOT PRESENT"), "{detail}");
    assert!(!progress.percents().contains(&100));
    assert!(
        !s.rig.drives().unwrap()[0].state.present,
        "the disc left the drive"
    );
    assert_clean(&s, 1);
}

/// Issue 12, case 8b: an unrecoverable read error (MSG 2003, sense key MEDIUM ERROR) is
/// fatal (SPEC §6.6), although the simulated MakeMKV, like the real one when it skips
/// bad sectors, would carry on and report the title saved.
#[tokio::test]
async fn case8b_a_medium_error_mid_rip_is_disc_unreadable() {
    let s = setup("demo-bluray", RATE, Some("badsector@50"));
    let (result, progress) = rip(&s, config()).await;
    let (code, detail) = failure(result);
    assert_eq!(code, ErrorCode::DiscUnreadable, "{detail}");
    assert!(detail.contains("MEDIUM ERROR"), "{detail}");
    assert!(!progress.percents().contains(&100), "stopped at once");
    assert_clean(&s, 1);
}

#[tokio::test]
async fn disc_removed_through_the_rig_is_disc_ejected() {
    let s = setup("demo-bluray", 100.0, None);
    let progress = Progress::default();
    let rig_dir = s.rig.dir().to_owned();
    let ejector = {
        let all = progress.0.clone();
        let mut ejected = false;
        move |u: ProgressUpdate| {
            if u.percent >= 5 && !ejected {
                ejected = true;
                let rig = SimRig::open(&rig_dir).unwrap();
                rig.eject(DEVICE).unwrap();
            }
            all.lock().unwrap().push(u);
        }
    };
    let runner = Runner::new(s.rig.command(), config());
    let req = request(&s, TITLE, Some(TITLE_SIZE));
    let result = runner.rip(&req, &CancellationToken::new(), ejector).await;
    assert_eq!(failure(result).0, ErrorCode::DiscEjected);
    assert_clean(&s, 1);
}

#[tokio::test]
async fn unreadable_disc_is_retried_once() {
    let s = setup("demo-bluray", RATE, Some("unreadable"));
    let (result, _) = scan(&s, config()).await;
    let (code, detail) = failure(result);
    assert_eq!(code, ErrorCode::DiscUnreadable);
    assert!(detail.contains("attempt 2"), "{detail}");
    assert_clean(&s, 2);
    let (result, _) = rip(&s, config()).await;
    assert_eq!(failure(result).0, ErrorCode::DiscUnreadable);
    assert_clean(&s, 4);
}

#[tokio::test]
async fn spinup_succeeds_on_the_retry() {
    let s = setup("demo-bluray", RATE, Some("spinup"));
    let (result, progress) = scan(&s, config()).await;
    assert!(result.unwrap().tracks.len() >= 7);
    assert_progress_complete(&progress);
    assert_clean(&s, 2);
    // Once per sim directory: the rip that follows opens at once.
    let (result, _) = rip(&s, config()).await;
    result.unwrap();
    assert_clean(&s, 3);
}

#[tokio::test]
async fn spinup_during_a_rip_succeeds_on_the_retry() {
    let s = setup("demo-bluray", RATE, Some("spinup"));
    let (result, progress) = rip(&s, config()).await;
    assert_eq!(result.unwrap().size_bytes, TITLE_SIZE);
    assert_progress_complete(&progress);
    assert_clean(&s, 2);
}

#[tokio::test]
async fn crash_is_makemkv_failed_with_status_and_stderr() {
    let s = setup("demo-bluray", RATE, Some("exit@40"));
    let (result, _) = rip(&s, config()).await;
    let (code, detail) = failure(result);
    assert_eq!(code, ErrorCode::MakemkvFailed);
    assert!(detail.contains("exit status 11"), "{detail}");
    assert!(detail.contains("simulated crash"), "{detail}");
    assert!(detail.contains("[5014]"), "last MakeMKV messages: {detail}");
    assert_clean(&s, 1);
}

#[tokio::test]
async fn free_space_question_is_output_write_failed() {
    let s = setup("demo-bluray", RATE, Some("nospace@50"));
    let (result, _) = rip(&s, config()).await;
    let (code, detail) = failure(result);
    assert_eq!(code, ErrorCode::OutputWriteFailed, "{detail}");
    assert!(detail.contains("[5038]"), "{detail}");
    assert_clean(&s, 1);
}

#[tokio::test]
async fn cancel_mid_rip_kills_and_cleans_up() {
    let s = setup("demo-bluray", 100.0, None);
    let cancel = CancellationToken::new();
    let progress = Progress::default();
    let canceller = {
        let (all, cancel) = (progress.0.clone(), cancel.clone());
        move |u: ProgressUpdate| {
            if u.percent >= 5 {
                cancel.cancel();
            }
            all.lock().unwrap().push(u);
        }
    };
    let runner = Runner::new(s.rig.command(), config());
    let req = request(&s, TITLE, Some(TITLE_SIZE));
    let result = runner.rip(&req, &cancel, canceller).await;
    assert!(matches!(result, Err(RunError::Cancelled)), "{result:?}");
    assert!(!progress.percents().contains(&100));
    assert_clean(&s, 1);
    assert_eq!(std::fs::read_dir(&s.out).unwrap().count(), 0);
}

#[tokio::test]
async fn bad_title_is_makemkv_failed() {
    let s = setup("demo-bluray", RATE, None);
    let progress = Progress::default();
    let req = request(&s, 42, None);
    let result = rip_with(&s, config(), &req, &CancellationToken::new(), &progress).await;
    let (code, detail) = failure(result);
    assert_eq!(code, ErrorCode::MakemkvFailed);
    assert!(detail.contains("[5037]"), "{detail}");
    assert_clean(&s, 1);
}

#[tokio::test]
async fn empty_drive_is_no_disc() {
    let s = setup("demo-dvd", RATE, None);
    s.rig.eject(DEVICE).unwrap();
    let (result, _) = scan(&s, config()).await;
    assert_eq!(failure(result).0, ErrorCode::NoDisc);
    let (result, _) = rip(&s, config()).await;
    assert_eq!(failure(result).0, ErrorCode::NoDisc);
    assert_clean(&s, 2);
}

#[tokio::test]
async fn output_problems_fail_before_makemkv_starts() {
    let s = setup("demo-bluray", RATE, None);
    let progress = Progress::default();
    let cancel = CancellationToken::new();
    // Missing directory.
    let mut req = request(&s, TITLE, None);
    req.output_dir = s.out.join("missing");
    let result = rip_with(&s, config(), &req, &cancel, &progress).await;
    assert_eq!(failure(result).0, ErrorCode::OutputWriteFailed);
    // An existing file is never replaced.
    let req = request(&s, TITLE, None);
    std::fs::write(s.out.join(&req.filename), b"keep me").unwrap();
    let result = rip_with(&s, config(), &req, &cancel, &progress).await;
    assert_eq!(failure(result).0, ErrorCode::OutputWriteFailed);
    assert_eq!(
        std::fs::read(s.out.join(&req.filename)).unwrap(),
        b"keep me"
    );
    // Not enough room for the expected size plus margin.
    let mut req = request(&s, TITLE, Some(u64::MAX / 4));
    req.filename = "other.mkv".into();
    let cfg = RunnerConfig {
        free_space_margin: Some(1 << 30),
        ..config()
    };
    let (code, detail) = failure(rip_with(&s, cfg, &req, &cancel, &progress).await);
    assert_eq!(code, ErrorCode::OutputWriteFailed);
    assert!(detail.contains("needed"), "{detail}");
    // A file name that is a path.
    req.filename = "../escape.mkv".into();
    req.expected_size = None;
    req.space_needed = None;
    let result = rip_with(&s, config(), &req, &cancel, &progress).await;
    assert_eq!(failure(result).0, ErrorCode::InvalidTask);
    assert!(progress.percents().is_empty());
    assert_clean(&s, 0);
}

#[tokio::test]
async fn missing_makemkvcon_is_a_spawn_error() {
    let runner = Runner::new(
        amphigory::makemkv::runner::MakemkvconCommand::new("/nonexistent/makemkvcon"),
        config(),
    );
    let result = runner
        .scan(&Source::DiscIndex(0), &CancellationToken::new(), |_| {})
        .await;
    let error = result.unwrap_err();
    assert!(matches!(error, RunError::Spawn { .. }), "{error:?}");
    assert_eq!(error.to_task_error().code, ErrorCode::MakemkvFailed);
}
