//! `amphigory history`: the tasks the daemon finished (from `history.jsonl` in the state
//! directory, no daemon needed), then per drive and disc type the average read speed and
//! the failures.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use super::progress_view::{human_bytes, human_duration};
use crate::history::{DriveSummary, History, HistoryEntry, summarise};

/// Options of `amphigory history`.
#[derive(Debug, Clone, clap::Args)]
pub struct HistoryArgs {
    /// Only this drive (its id, device or device name, e.g. `sr0`).
    #[arg(long, value_name = "DRIVE")]
    pub drive: Option<String>,
    /// How many of the latest tasks to list (0: all).
    #[arg(long, default_value_t = 20)]
    pub last: usize,
    /// Machine-readable output: `{"entries": [...], "drives": [...]}`.
    #[arg(long)]
    pub json: bool,
    /// State directory holding `history.jsonl` (default: daemon.yaml's `state_dir`, else
    /// ~/.config/amphigory).
    #[arg(long, env = "AMPHIGORY_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// The daemon.yaml naming the state directory.
    #[arg(long, env = "AMPHIGORY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Serialize)]
struct Report<'a> {
    entries: &'a [HistoryEntry],
    drives: &'a [DriveSummary],
}

/// Runs the command.
pub fn run(args: &HistoryArgs) -> ExitCode {
    match history(args) {
        Ok(()) => ExitCode::SUCCESS,
        // `amphigory history | head`: the reader has all it wanted.
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("amphigory history: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn history(args: &HistoryArgs) -> anyhow::Result<()> {
    let state_dir = state_dir(args)?;
    let history = History::new(&state_dir);
    let mut entries = history
        .read()
        .with_context(|| format!("cannot read {}", history.path().display()))?;
    let drive = args.drive.as_deref().map(|d| d.trim_start_matches("/dev/"));
    if let Some(d) = drive {
        entries.retain(|e| e.drive.contains(d));
    }
    let drives = summarise(&entries, None);
    let mut out = io::stdout().lock();
    if args.json {
        let report = Report {
            entries: &entries,
            drives: &drives,
        };
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(());
    }
    if entries.is_empty() {
        let whose = drive.map_or_else(String::new, |d| format!(" for drive {d}"));
        writeln!(
            out,
            "No finished tasks{whose} in {} yet.",
            history.path().display()
        )?;
        return Ok(());
    }
    let shown = match args.last {
        0 => &entries[..],
        n => entries
            .get(entries.len().saturating_sub(n)..)
            .unwrap_or(&[]),
    };
    writeln!(
        out,
        "{} ({} tasks)",
        history.path().display(),
        entries.len()
    )?;
    print_entries(&mut out, shown)?;
    writeln!(out)?;
    print_drives(&mut out, &drives)?;
    Ok(())
}

/// `--state-dir`, else daemon.yaml's `state_dir`, else the default.
fn state_dir(args: &HistoryArgs) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &args.state_dir {
        return Ok(dir.clone());
    }
    let config = args
        .config
        .clone()
        .or_else(crate::config::default_config_path);
    if let Some(path) = config {
        let parsed = crate::config::file::read(&path, args.config.is_some())?;
        if let Some(dir) = parsed.and_then(|p| p.config.state_dir) {
            return Ok(dir);
        }
    }
    crate::daemon::default_state_dir().context("no state directory: give --state-dir")
}

fn print_entries(out: &mut impl Write, entries: &[HistoryEntry]) -> io::Result<()> {
    writeln!(
        out,
        "{:<25}  {:<4}  {:<20}  {:<28}  {:>9}  {:>8}  {:>10}  OUTCOME",
        "FINISHED", "TYPE", "DRIVE", "DISC / TITLE", "SIZE", "TIME", "SPEED"
    )?;
    for e in entries {
        let disc = match (&e.disc, e.title) {
            (Some(d), Some(t)) => format!("{d} / {t}"),
            (Some(d), None) => d.clone(),
            (None, Some(t)) => format!("title {t}"),
            (None, None) => "-".into(),
        };
        let outcome = match &e.code {
            Some(code) => format!("failed ({code})"),
            None => e.outcome.clone(),
        };
        writeln!(
            out,
            "{:<25}  {:<4}  {:<20}  {:<28}  {:>9}  {:>8}  {:>10}  {outcome}",
            e.finished_at,
            e.task_type.as_str(),
            clip(&e.drive, 20),
            clip(&disc, 28),
            e.bytes.map_or_else(|| "-".into(), human_bytes),
            human_duration(e.seconds.round() as u64),
            e.mb_per_s
                .map_or_else(|| "-".into(), |s| format!("{s:.1} MB/s")),
        )?;
    }
    Ok(())
}

fn print_drives(out: &mut impl Write, drives: &[DriveSummary]) -> io::Result<()> {
    writeln!(
        out,
        "{:<20}  {:<9}  {:>5}  {:>12}  FAILURES",
        "DRIVE", "DISC TYPE", "RIPS", "AVERAGE"
    )?;
    for d in drives {
        let failures = match d.failures {
            0 => "0".to_owned(),
            n => {
                let codes: Vec<String> = d
                    .failure_codes
                    .iter()
                    .map(|(code, count)| format!("{code} {count}"))
                    .collect();
                format!("{n} ({})", codes.join(", "))
            }
        };
        writeln!(
            out,
            "{:<20}  {:<9}  {:>5}  {:>12}  {failures}",
            clip(&d.drive, 20),
            d.disc_type,
            d.rips,
            d.average_mb_per_s
                .map_or_else(|| "-".into(), |s| format!("{s:.1} MB/s")),
        )?;
    }
    Ok(())
}

/// At most `width` characters, the end kept (drive ids and disc names differ at the end).
fn clip(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_owned();
    }
    let tail: String = text.chars().skip(count + 1 - width).collect();
    format!("…{tail}")
}
