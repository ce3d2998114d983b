//! `amphigory makemkv parse FILE|-`: a saved `makemkvcon -r info` transcript → the scan
//! result JSON of SPEC §6.3, or `{"error":{code,message,detail}}` for a failure transcript.
//!
//! Exit codes follow SPEC §2: 0 for a scan result, 1 for a failure transcript or an
//! unreadable input ("anything else"); clap's own usage errors exit 2.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use amphigory_wire::TaskError;
use amphigory_wire::scan::{Classification, ScanResult, Track};

use crate::makemkv::scan::{ScanFailure, parse_scan_bytes};

/// Arguments of `makemkv parse`.
#[derive(Debug, clap::Args)]
pub struct ParseArgs {
    /// Transcript file, or `-` for standard input.
    pub file: PathBuf,
    /// Print JSON (the default).
    #[arg(long, conflicts_with = "summary")]
    pub json: bool,
    /// Print a table for a person instead of JSON.
    #[arg(long)]
    pub summary: bool,
}

/// Runs the command.
pub fn run(args: &ParseArgs) -> ExitCode {
    let bytes = match read_input(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("amphigory: cannot read {}: {e}", args.file.display());
            return ExitCode::FAILURE;
        }
    };
    let outcome = parse_scan_bytes(&bytes);
    let (text, code) = match (&outcome, args.summary) {
        (Ok(result), false) => (to_json(&result), ExitCode::SUCCESS),
        (Ok(result), true) => (Ok(summary(result)), ExitCode::SUCCESS),
        (Err(failure), false) => (failure_json(failure), ExitCode::FAILURE),
        (Err(failure), true) => {
            eprintln!("{}", failure_text(failure));
            return ExitCode::FAILURE;
        }
    };
    let written = text
        .map_err(std::io::Error::other)
        .and_then(|t| writeln!(std::io::stdout().lock(), "{t}"));
    match written {
        Ok(()) => code,
        Err(e) => {
            eprintln!("amphigory: cannot write the result: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read_input(path: &Path) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().lock().read_to_end(&mut bytes)?;
        Ok(bytes)
    } else {
        std::fs::read(path)
    }
}

fn to_json(value: &impl serde::Serialize) -> serde_json::Result<String> {
    serde_json::to_string_pretty(value)
}

fn failure_json(failure: &ScanFailure) -> serde_json::Result<String> {
    /// `{"error":{…}}`, fields in the wire order (a `json!` map would sort them).
    #[derive(serde::Serialize)]
    struct Envelope {
        error: TaskError,
    }
    to_json(&Envelope {
        error: failure.clone().into(),
    })
}

fn failure_text(failure: &ScanFailure) -> String {
    match &failure.detail {
        Some(detail) => format!("{}: {}\n{detail}", failure.code, failure.message),
        None => format!("{}: {}", failure.code, failure.message),
    }
}

/// The human table of `--summary`, one title a row, ranked (main feature first).
fn summary(r: &ScanResult) -> String {
    let name = &r.disc_name;
    let disc_type = serde_json::to_value(r.disc_type)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut out = format!("{name} ({disc_type}), {} titles\n", r.tracks.len());
    let _ = writeln!(
        out,
        "{:>3}  {:>8}  {:>8}  {:>3}  {:<21}  {:<28}  subtitles",
        "#", "duration", "size", "ch", "classification", "audio"
    );
    for t in crate::makemkv::classify::ranked(&r.tracks) {
        let _ = writeln!(
            out,
            "{:>3}  {:>8}  {:>8}  {:>3}  {:<21}  {:<28}  {}",
            t.number,
            t.duration.as_deref().unwrap_or("?"),
            t.size_bytes
                .map(human_size)
                .unwrap_or_else(|| "?".to_owned()),
            t.chapters,
            class_label(t),
            audio_cell(t),
            subtitle_cell(t),
        );
    }
    out
}

fn class_label(t: &Track) -> String {
    let name = match t.classification {
        Classification::MainFeature => "main_feature",
        Classification::Feature => "feature",
        Classification::Other => "other",
        Classification::Trailers => "trailers",
        Classification::DeletedScenes => "deleted_scenes",
        Classification::Featurettes => "featurettes",
    };
    if t.classification == Classification::MainFeature {
        let confidence = serde_json::to_value(t.confidence)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        format!("{name} ({confidence})")
    } else {
        name.to_owned()
    }
}

/// First stream's codec and channels, then every distinct language.
fn audio_cell(t: &Track) -> String {
    let Some(first) = t.audio_streams.first() else {
        return "-".to_owned();
    };
    let codec = first.codec.as_deref().unwrap_or("?");
    let channels = first
        .channels
        .map(|c| format!(" {c}ch"))
        .unwrap_or_default();
    let languages = distinct(t.audio_streams.iter().map(|a| a.language.as_deref()));
    format!("{codec}{channels} {languages}")
}

fn subtitle_cell(t: &Track) -> String {
    if t.subtitle_streams.is_empty() {
        return "-".to_owned();
    }
    let languages = distinct(t.subtitle_streams.iter().map(|s| s.language.as_deref()));
    format!("{} ({})", languages, t.subtitle_streams.len())
}

fn distinct<'a>(languages: impl Iterator<Item = Option<&'a str>>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for language in languages {
        let language = language.unwrap_or("und");
        if !seen.contains(&language) {
            seen.push(language);
        }
    }
    seen.join(",")
}

/// Binary gigabytes, as MakeMKV prints them ("10.6 GB" for 11397666816 bytes).
fn human_size(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    // Display only: f64 rounding is harmless here.
    let mib = bytes as f64 / MIB;
    if mib >= 1024.0 {
        format!("{:.1} GB", mib / 1024.0)
    } else {
        format!("{mib:.1} MB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::makemkv::scan::parse_scan;

    #[test]
    fn summary_lists_titles_in_result_order() {
        let r = parse_scan(
            "CINFO:1,6209,\"Blu-ray disc\"\nCINFO:2,0,\"DISC\"\n\
             TINFO:0,9,0,\"0:02:00\"\nTINFO:0,11,0,\"1048576\"\n\
             TINFO:1,8,0,\"24\"\nTINFO:1,9,0,\"1:39:56\"\nTINFO:1,11,0,\"11397666816\"\n\
             SINFO:1,0,1,6202,\"Audio\"\nSINFO:1,0,3,0,\"eng\"\nSINFO:1,0,6,0,\"DD\"\n\
             SINFO:1,0,14,0,\"6\"\nSINFO:1,1,1,6202,\"Audio\"\nSINFO:1,1,3,0,\"fra\"\n\
             SINFO:1,2,1,6203,\"Subtitles\"\nSINFO:1,2,3,0,\"eng\"\n",
        )
        .unwrap();
        let text = summary(&r);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "DISC (bluray), 2 titles");
        assert!(
            lines[2].contains("1:39:56") && lines[2].contains("10.6 GB"),
            "{text}"
        );
        assert!(lines[2].contains("main_feature (high)") && lines[2].contains("DD 6ch eng,fra"));
        assert!(lines[2].ends_with("eng (1)"), "{text}");
        assert!(
            lines[3].contains("1.0 MB") && lines[3].trim_end().ends_with('-'),
            "{text}"
        );
    }

    #[test]
    fn failures_print_code_message_and_detail() {
        let f =
            parse_scan("MSG:5010,0,0,\"Failed to open disc\",\"Failed to open disc\"").unwrap_err();
        let v: serde_json::Value = serde_json::from_str(&failure_json(&f).unwrap()).unwrap();
        assert_eq!(v["error"]["code"], "DISC_UNREADABLE");
        assert_eq!(v["error"]["detail"], "[5010] Failed to open disc");
        assert!(failure_text(&f).starts_with("DISC_UNREADABLE: "));
    }
}
