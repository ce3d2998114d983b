//! `amphigory demo`: the whole flow on a simulated drive in a fresh temporary directory —
//! a disc goes in, the webapp's scan task is answered, the main feature and one extra are
//! ripped with live progress, and the results are printed. Nothing is installed.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use amphigory_wire::TaskError;
use amphigory_wire::result::{RipOutput, TaskResult, Verification};
use amphigory_wire::scan::{Classification, ScanResult, Track};
use amphigory_wire::ws::DiscEventKind;
use anyhow::{Context, anyhow, bail};
use tokio::sync::broadcast::error::RecvError;

use super::progress_view::{ProgressView, human_bytes};
use crate::core::DaemonEvent;
use crate::daemon::{DaemonHandle, DaemonOptions, SimOptions};
use crate::queue::{NewTask, RipSpec, TaskState};

/// Options of `amphigory demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// The disc in the simulated drive: `demo-bluray`, `demo-dvd` or a transcript path.
    #[arg(long, default_value = "demo-bluray")]
    pub disc: String,
    /// Read rate of the simulated drive, MB/s.
    #[arg(long, value_name = "MBPS", default_value_t = crate::sim::DEFAULT_RATE_MBPS)]
    pub sim_rate: f64,
    /// Make the simulated drive fail once (see `amphigory daemon --help`).
    #[arg(long, value_name = "KIND[@PERCENT]")]
    pub sim_fault: Option<String>,
    /// Keep the temporary directory instead of removing it.
    #[arg(long)]
    pub keep: bool,
    /// Log level for the daemon's own messages.
    #[arg(long, default_value = "warn")]
    pub log_level: String,
}

/// How long any one demo step may take before the demo gives up (it never hangs).
const STEP_LIMIT: Duration = Duration::from_secs(300);
/// Longest wait for the simulated drive's disc to be detected.
const DETECTION_LIMIT: Duration = Duration::from_secs(10);

/// Runs the command.
pub fn run(args: &DemoArgs) -> ExitCode {
    super::init_logging(&args.log_level);
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("amphigory demo: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(demo(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("amphigory demo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn demo(args: &DemoArgs) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("amphigory-demo-")
        .tempdir()?;
    let root = dir.path().to_owned();
    let fault = args
        .sim_fault
        .as_deref()
        .map(str::parse::<crate::sim::Fault>)
        .transpose()?;
    let mut options = DaemonOptions::new(root.join("tasks"), root.join("state"));
    options.simulate = Some(SimOptions {
        discs: vec![args.disc.clone()],
        rate_mbps: args.sim_rate,
        fault,
    });
    let shutdown = super::shutdown_on_signals();
    let daemon = crate::daemon::start(options, shutdown.child_token()).await?;
    println!("Amphigory demo in {}", root.display());
    println!(
        "A simulated drive (/dev/sim0) holds the disc '{}'.",
        args.disc
    );
    let outcome = walk_through(&daemon, &root, &shutdown).await;
    shutdown.cancel();
    daemon.wait().await;
    if args.keep {
        let kept = dir.keep();
        println!("\nKept {}", kept.display());
    }
    outcome
}

/// The scripted flow: scan, pick titles, rip them, print results.
async fn walk_through(
    daemon: &DaemonHandle,
    root: &Path,
    stop: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let mut view = ProgressView::new();
    let mut events = daemon.bus.subscribe();
    announce_disc(daemon, &mut view).await;
    let scan_id = daemon.engine.enqueue(NewTask::scan()).await?;
    view.println(&format!(
        "\nQueued scan task {scan_id} (as the webapp would): answered from that scan"
    ));
    view.add(&scan_id, "Scanning disc");
    wait_for(
        &mut events,
        &mut view,
        daemon,
        std::slice::from_ref(&scan_id),
        stop,
    )
    .await?;
    let scan: ScanResult = read_result(daemon, &scan_id)?
        .result
        .map(serde_json::from_value)
        .transpose()?
        .ok_or_else(|| anyhow!("the scan result has no payload"))?;
    print_scan(&scan);
    let picks = pick_titles(&scan)?;
    let name = scan.disc_name.clone();
    let out_dir = root.join("ripped").join(&name);
    std::fs::create_dir_all(root.join("ripped"))?;
    let mut ids = Vec::new();
    for (track, label) in &picks {
        let filename = format!("{name} - {label}.mkv");
        let rip = NewTask::rip(RipSpec {
            track: track.number,
            expected_size_bytes: track.size_bytes,
            expected_duration: track.duration.clone(),
            directory: out_dir.clone(),
            filename,
        });
        let id = daemon.engine.enqueue(rip).await?;
        view.add(&id, &format!("Ripping title {} ({label})", track.number));
        ids.push(id);
    }
    println!();
    wait_for(&mut events, &mut view, daemon, &ids, stop).await?;
    print_rips(daemon, &root.join("state"), &ids)
}

/// Says what detection found: the disc, its fingerprint, and that it is being scanned
/// already (the scan task below is answered from that scan, not a second one).
async fn announce_disc(daemon: &DaemonHandle, view: &mut ProgressView) {
    let (recent, mut rx) = daemon.bus.subscribe_with_replay();
    let fingerprinted = |e: &DaemonEvent| {
        matches!(
            e,
            DaemonEvent::Disc {
                event: DiscEventKind::Fingerprinted,
                ..
            }
        )
    };
    let found = match recent.into_iter().find(fingerprinted) {
        Some(event) => Some(event),
        None => tokio::time::timeout(DETECTION_LIMIT, async {
            loop {
                match rx.recv().await {
                    Ok(event) if fingerprinted(&event) => return Some(event),
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                }
            }
        })
        .await
        .ok()
        .flatten(),
    };
    if let Some(DaemonEvent::Disc {
        device,
        fingerprint: Some(fp),
        ..
    }) = found
    {
        view.println(&format!(
            "Disc detected in {device}: fingerprint {fp}; the daemon scans it at once"
        ));
    }
}

/// Waits until every task in `ids` has a result, drawing progress meanwhile.
async fn wait_for(
    events: &mut tokio::sync::broadcast::Receiver<DaemonEvent>,
    view: &mut ProgressView,
    daemon: &DaemonHandle,
    ids: &[String],
    stop: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + STEP_LIMIT;
    let mut pending: Vec<String> = ids.to_vec();
    while !pending.is_empty() {
        let event = tokio::select! {
            () = stop.cancelled() => bail!("interrupted"),
            () = tokio::time::sleep_until(deadline) => bail!("timed out waiting for {pending:?}"),
            event = events.recv() => event,
        };
        match event {
            Ok(event) => {
                view.apply(&event);
                if let DaemonEvent::TaskFinished { task_id, .. } = &event {
                    pending.retain(|id| id != task_id);
                }
            }
            // Missed events: the result files are the truth.
            Err(RecvError::Lagged(_)) => pending.retain(|id| read_result(daemon, id).is_err()),
            Err(RecvError::Closed) => bail!("the daemon stopped"),
        }
    }
    Ok(())
}

fn read_result(daemon: &DaemonHandle, id: &str) -> anyhow::Result<TaskResult> {
    let path = daemon.queue.layout().file(TaskState::Complete, id);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// The main feature and the largest extra.
fn pick_titles(scan: &ScanResult) -> anyhow::Result<Vec<(Track, &'static str)>> {
    let main = scan
        .tracks
        .iter()
        .find(|t| t.classification == Classification::MainFeature)
        .ok_or_else(|| anyhow!("the scan found no main feature"))?;
    let mut picks = vec![(main.clone(), "main feature")];
    let extra = scan
        .tracks
        .iter()
        .filter(|t| {
            matches!(
                t.classification,
                Classification::Featurettes | Classification::DeletedScenes
            )
        })
        .max_by_key(|t| t.size_bytes.unwrap_or(0));
    if let Some(extra) = extra {
        picks.push((extra.clone(), "extra"));
    }
    Ok(picks)
}

fn print_scan(scan: &ScanResult) {
    println!(
        "\nDisc: {} ({:?}), {} titles",
        scan.disc_name,
        scan.disc_type,
        scan.tracks.len()
    );
    println!(
        "  {:>5}  {:>8}  {:>9}  {:>8}  {:<14}  audio",
        "title", "duration", "size", "chapters", "class"
    );
    // Ranked for reading; the result itself lists titles by number.
    for t in crate::makemkv::classify::ranked(&scan.tracks) {
        let audio: Vec<_> = t
            .audio_streams
            .iter()
            .filter_map(|a| a.language.clone())
            .collect();
        println!(
            "  {:>5}  {:>8}  {:>9}  {:>8}  {:<14}  {}",
            t.number,
            t.duration.as_deref().unwrap_or("?"),
            t.size_bytes.map_or_else(|| "?".into(), human_bytes),
            t.chapters,
            serde_json::to_value(t.classification)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            audio.join(",")
        );
    }
}

fn print_rips(daemon: &DaemonHandle, state_dir: &Path, ids: &[String]) -> anyhow::Result<()> {
    println!("\nResults:");
    let mut failures = Vec::<TaskError>::new();
    for id in ids {
        let result = read_result(daemon, id)?;
        match (result.error, result.result) {
            (Some(e), _) => {
                println!("  {id}: FAILED {} — {}", e.code, e.message);
                failures.push(e);
            }
            (None, Some(payload)) => {
                let out: RipOutput = serde_json::from_value(payload)?;
                println!(
                    "  {id}: {} ({}, {} s)",
                    out.output_path,
                    human_bytes(out.size_bytes),
                    result.duration_seconds.unwrap_or(0)
                );
                if let Some(v) = &out.verification {
                    println!("    {}", verification_line(v));
                }
            }
            (None, None) => println!("  {id}: finished without a payload"),
        }
    }
    println!(
        "\nResult files are in {}; the rip history in {} (`amphigory history --state-dir {}`)",
        daemon.queue.layout().dir(TaskState::Complete).display(),
        crate::history::History::new(state_dir).path().display(),
        state_dir.display(),
    );
    if failures.is_empty() {
        println!(
            "Demo finished: {} titles ripped (sparse files: no real disk space used).",
            ids.len()
        );
        Ok(())
    } else {
        bail!("{} of {} rips failed", failures.len(), ids.len())
    }
}

/// `verified: Matroska header ok, duration 1:45:00 (expected 1:45:00) ok, size … ok`.
fn verification_line(v: &Verification) -> String {
    let mark = |ok: Option<bool>| match ok {
        Some(true) => "ok",
        Some(false) => "MISMATCH",
        None => "not compared",
    };
    let container = if v.container_ok { "ok" } else { "NOT VALID" };
    format!(
        "verified: Matroska header {container}; duration {} (expected {}) {}; size {} (expected {}) {}",
        v.actual_duration.as_deref().unwrap_or("?"),
        v.expected_duration.as_deref().unwrap_or("?"),
        mark(v.duration_ok),
        human_bytes(v.actual_size_bytes),
        v.expected_size_bytes
            .map_or_else(|| "?".into(), human_bytes),
        mark(v.size_ok),
    )
}
