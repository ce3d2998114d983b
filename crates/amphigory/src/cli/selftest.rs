//! `amphigory selftest` (SPEC §11.3): what the first user with a real drive runs. Finds
//! makemkvcon, detects the drives, reads the disc's fingerprint facts, scans it with
//! `makemkvcon info`, prints what it found beside what the daemon would send, and writes
//! a report file to attach to a bug report. It rips only with `--rip TITLE --output DIR`
//! and ejects only with `--eject`; whatever it cannot check (no makemkvcon, no drive, no
//! disc) it says so.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use super::record::ProbeArgs;
use crate::drives::Ejector;
use crate::drives::simulated::SimEject;
use crate::record::session::{Makemkvcon, Session};

/// Options of `amphigory selftest`.
#[derive(Debug, Clone, clap::Args)]
pub struct SelftestArgs {
    /// Which drive, or a simulated one.
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// Detect only; do not scan the disc.
    #[arg(long)]
    pub no_scan: bool,
    /// Rip this title (its number in the scan) into --output: the one way selftest rips.
    #[arg(long, value_name = "TITLE", requires = "output")]
    pub rip: Option<u32>,
    /// Folder for --rip's file (selftest-title<N>.mkv).
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Eject the disc at the end.
    #[arg(long)]
    pub eject: bool,
    /// Where to write the report [default: ./amphigory-selftest-<time>.txt].
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One line of the verdict.
#[derive(Debug, Clone, Serialize)]
struct Check {
    name: &'static str,
    /// `ok`, `failed`, or `not checked`.
    outcome: &'static str,
    detail: String,
}

impl Check {
    fn new(name: &'static str, outcome: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            outcome,
            detail: detail.into(),
        }
    }
}

/// The whole result (`--json`).
#[derive(Debug, Serialize)]
struct Report {
    amphigory_version: &'static str,
    platform: &'static str,
    checks: Vec<Check>,
    fingerprint: Option<String>,
    drive: Option<amphigory_wire::drive::DriveStatus>,
    scan: Option<amphigory_wire::scan::ScanResult>,
    report_file: Option<String>,
}

/// Runs the command.
pub fn run(args: &SelftestArgs) -> ExitCode {
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("amphigory selftest: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let options = super::record::session_options(&args.probe, args.no_scan).await;
        let session = crate::record::session::run(&options).await?;
        let mut checks = checks(&session, args.no_scan);
        checks.push(rip(&session, args.rip.zip(args.output.as_deref())).await);
        checks.push(eject(&session, args.eject).await);
        Ok::<_, std::io::Error>((session, checks))
    });
    let (session, checks) = match result {
        Ok(done) => done,
        Err(e) => {
            eprintln!("amphigory selftest: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Ripping and ejecting count only when asked for.
    let asked = |c: &&Check| !matches!(c.name, "rip" | "eject") || c.outcome != "not checked";
    let all_ok = checks.iter().filter(asked).all(|c| c.outcome == "ok");
    let mut report = Report {
        amphigory_version: env!("CARGO_PKG_VERSION"),
        platform: session.source.platform_name(),
        checks,
        fingerprint: session.disc.as_ref().and_then(|d| d.fingerprint.clone()),
        drive: session.drive_status(),
        scan: session.scan.clone().and_then(Result::ok),
        report_file: None,
    };
    let path = args.report.clone().unwrap_or_else(default_report_path);
    let text = to_text(&report);
    match std::fs::write(&path, full_report(&text, &report, &session)) {
        Ok(()) => report.report_file = Some(path.display().to_string()),
        Err(e) => eprintln!("amphigory selftest: cannot write {}: {e}", path.display()),
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{text}");
        if let Some(file) = &report.report_file {
            println!("\nReport written to {file}: attach it to a bug report.");
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn default_report_path() -> PathBuf {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    PathBuf::from(format!("amphigory-selftest-{stamp}.txt"))
}

/// The checks, in the order a user would fix them.
fn checks(session: &Session, no_scan: bool) -> Vec<Check> {
    let mut checks = vec![match &session.makemkvcon {
        Makemkvcon::Found(path, version) => Check::new(
            "makemkvcon",
            "ok",
            format!("{} ({version})", path.display()),
        ),
        Makemkvcon::Simulated => Check::new("makemkvcon", "ok", "the simulated makemkvcon"),
        Makemkvcon::Broken(path, why) => Check::new(
            "makemkvcon",
            "failed",
            format!("{} does not run: {why}", path.display()),
        ),
        Makemkvcon::Missing(why) => Check::new("makemkvcon", "not checked", why.clone()),
    }];
    let drives = &session.detected.drives;
    checks.push(match (&session.detected.problem, drives.is_empty()) {
        (Some(problem), true) => Check::new("drives", "failed", problem.clone()),
        (_, true) => Check::new("drives", "not checked", "no optical drive found"),
        (_, false) => Check::new("drives", "ok", describe_drives(session)),
    });
    checks.push(match &session.disc {
        Some(disc) => Check::new(
            "disc",
            "ok",
            format!(
                "{}: {} {}",
                disc.device,
                disc.medium.map_or("unknown kind", |m| m.disc_type()),
                disc.volume_name
                    .as_deref()
                    .map_or("(no volume name)".into(), |v| format!("{v:?}"))
            ),
        ),
        None if drives.is_empty() => Check::new("disc", "not checked", "no drive to hold one"),
        None => Check::new(
            "disc",
            "not checked",
            "no disc in any drive: insert one and run again",
        ),
    });
    checks.push(match session.disc.as_ref().map(|d| d.fingerprint.clone()) {
        Some(Some(fp)) => Check::new("fingerprint", "ok", fp),
        Some(None) => Check::new(
            "fingerprint",
            "failed",
            "the drive's facts (kind, block count) could not be read",
        ),
        None => Check::new("fingerprint", "not checked", "no disc"),
    });
    checks.push(scan_check(session, no_scan));
    checks
}

fn describe_drives(session: &Session) -> String {
    let names: Vec<String> = session
        .detected
        .drives
        .iter()
        .map(|d| match &d.model {
            Some(model) => format!("{} ({model})", d.device),
            None => d.device.clone(),
        })
        .collect();
    format!("{} optical drive(s): {}", names.len(), names.join(", "))
}

fn scan_check(session: &Session, no_scan: bool) -> Check {
    let elapsed = match &session.capture {
        Some(Ok(capture)) => format!(" in {:.1} s", capture.elapsed.as_secs_f64()),
        _ => String::new(),
    };
    match &session.scan {
        Some(Ok(scan)) => {
            let main = scan
                .tracks
                .iter()
                .find(|t| t.classification == amphigory_wire::scan::Classification::MainFeature);
            let main = main.map_or(String::from("no main feature found"), |t| {
                format!(
                    "main feature title {} ({}, {:.1} GB)",
                    t.number,
                    t.duration.as_deref().unwrap_or("?"),
                    t.size_bytes.unwrap_or(0) as f64 / 1e9
                )
            });
            Check::new(
                "scan",
                "ok",
                format!(
                    "{:?}: {} titles{elapsed}; {main}",
                    scan.disc_name,
                    scan.tracks.len()
                ),
            )
        }
        Some(Err(e)) => Check::new("scan", "failed", e.to_string()),
        None if no_scan => Check::new("scan", "not checked", "--no-scan"),
        None if session.disc.is_none() => Check::new("scan", "not checked", "no disc"),
        None => Check::new("scan", "not checked", "no makemkvcon to scan with"),
    }
}

/// Rips one title when asked (`--rip N --output DIR`), never otherwise.
async fn rip(session: &Session, asked: Option<(u32, &std::path::Path)>) -> Check {
    let Some((title, output)) = asked else {
        return Check::new("rip", "not checked", "not asked (--rip TITLE --output DIR)");
    };
    let (Some(disc), Some(Ok(scan)), Some(runner)) =
        (&session.disc, &session.scan, session.runner())
    else {
        return Check::new("rip", "not checked", "no scanned disc to rip from");
    };
    let expected = scan
        .tracks
        .iter()
        .find(|t| t.number == title)
        .and_then(|t| t.size_bytes);
    let request = crate::makemkv::runner::RipRequest {
        source: crate::makemkv::runner::Source::Device(disc.device.clone()),
        title,
        output_dir: output.to_owned(),
        filename: format!("selftest-title{title}.mkv"),
        expected_size: expected,
        space_needed: expected,
        temp_dir: None,
        usual_rate: None,
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    let started = std::time::Instant::now();
    match runner
        .rip(&request, &cancel, |p| {
            eprint!("\rripping title {title}: {:>3} %", p.percent)
        })
        .await
    {
        Ok(done) => {
            eprintln!();
            let secs = started.elapsed().as_secs_f64();
            Check::new(
                "rip",
                "ok",
                format!(
                    "title {title} → {} ({:.2} GB in {secs:.0} s)",
                    done.path.display(),
                    done.size_bytes as f64 / 1e9
                ),
            )
        }
        Err(e) => {
            eprintln!();
            Check::new("rip", "failed", e.to_string())
        }
    }
}

/// Ejects when asked, never otherwise.
async fn eject(session: &Session, asked: bool) -> Check {
    let Some(disc) = session.disc.as_ref().filter(|_| asked) else {
        return Check::new("eject", "not checked", "not asked (--eject)");
    };
    let ejector = match &session.source {
        crate::record::probe::Source::Simulated(rig) => Ejector::new(SimEject::new(rig.clone())),
        crate::record::probe::Source::Platform => Ejector::platform(),
    };
    match ejector.eject(&disc.device, &disc.device).await {
        Ok(()) => Check::new("eject", "ok", format!("{} ejected", disc.device)),
        Err(e) => Check::new("eject", "failed", e.to_string()),
    }
}

/// The verdict for a person, then what the daemon would send.
fn to_text(report: &Report) -> String {
    let mut text = format!(
        "amphigory selftest (amphigory {}, {})\n",
        report.amphigory_version, report.platform
    );
    for c in &report.checks {
        let mark = match c.outcome {
            "ok" => "ok  ",
            "failed" => "FAIL",
            _ => "--  ",
        };
        let _ = writeln!(text, "  {mark} {:<12} {}", c.name, c.detail);
    }
    let skipped: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.outcome == "not checked")
        .map(|c| c.name)
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(text, "Not checked: {} (see above why).", skipped.join(", "));
    }
    if let Some(drive) = &report.drive {
        let mut shown = drive.clone();
        shown.scan_result = None;
        let _ = writeln!(
            text,
            "\nWhat the daemon would send for this drive (get_drive_status; scan_result below):\n{}",
            serde_json::to_string_pretty(&shown).unwrap_or_default()
        );
    }
    if let Some(scan) = &report.scan {
        let _ = writeln!(text, "\nTitles (number, classification, duration, size):");
        for t in &scan.tracks {
            let _ = writeln!(
                text,
                "  {:>3}  {:<14} {:>8}  {:>6.2} GB",
                t.number,
                serde_json::to_value(t.classification)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                t.duration.as_deref().unwrap_or("?"),
                t.size_bytes.unwrap_or(0) as f64 / 1e9
            );
        }
    }
    text
}

/// The report file: the text, the full JSON, makemkvcon's output and the drive's facts,
/// serial numbers removed.
fn full_report(text: &str, report: &Report, session: &Session) -> String {
    let mut out = text.to_owned();
    let _ = writeln!(
        out,
        "\n--- JSON ---\n{}",
        serde_json::to_string_pretty(report).unwrap_or_default()
    );
    let _ = write!(
        out,
        "\n--- disc events ---\n{}",
        crate::record::probe::events_jsonl(&session.detected.events)
    );
    for (name, contents) in &session.files {
        let _ = write!(out, "\n--- {name} ---\n{contents}");
    }
    if let Some(Ok(capture)) = &session.capture {
        let _ = write!(
            out,
            "\n--- makemkvcon info (exit {:?}) ---\n{}\n--- makemkvcon stderr ---\n{}",
            capture.status, capture.stdout, capture.stderr
        );
    }
    crate::record::scrub(&out)
}
