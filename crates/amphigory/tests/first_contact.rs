#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! First contact with real hardware (SPEC §11.3), through the real binary: `record` on a
//! simulated session, then `--simulate` of that recording — by `selftest` and by the
//! daemon — gives the same scan result and the same fingerprint as the original; and
//! `selftest` without makemkvcon or a drive says exactly what it could not check.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::daemon::{BIN, DaemonSpec, Rig, WAIT};

fn amphigory(home: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("USER", "tester")
        .stdin(Stdio::null())
        .current_dir(home);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AMPHIGORY_") {
            command.env_remove(key);
        }
    }
    command.output().unwrap()
}

fn selftest_json(home: &Path, disc: &str, report: &str) -> Value {
    let report = home.join(report);
    let out = amphigory(
        home,
        &[
            "selftest",
            "--simulate",
            disc,
            "--json",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "selftest {disc}: {stderr}");
    assert!(report.is_file(), "the report file is written");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_recording_replays_with_the_same_scan_and_fingerprint() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let original = selftest_json(home, "demo-bluray", "original.txt");
    let fingerprint = original["fingerprint"].as_str().unwrap().to_owned();
    assert!(fingerprint.starts_with("br-"), "{original}");
    assert_eq!(original["scan"]["fingerprint"], fingerprint.as_str());
    assert!(original["scan"]["tracks"].as_array().unwrap().len() >= 7);
    assert_eq!(original["drive"]["state"], "scanned");

    let dir = home.join("rec");
    let out = amphigory(
        home,
        &["record", dir.to_str().unwrap(), "--simulate", "demo-bluray"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recording: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("recording.json")).unwrap())
            .unwrap();
    assert_eq!(recording["disc"]["fingerprint"], fingerprint.as_str());
    assert_eq!(recording["disc"]["volume_name"], "CLOCKWORK_LIGHTHOUSE");
    let transcript = std::fs::read_to_string(dir.join("makemkvcon-info.txt")).unwrap();
    assert!(
        transcript.lines().any(|l| l.starts_with("TCOUNT:")),
        "robot output"
    );
    let events = std::fs::read_to_string(dir.join("disc-events.jsonl")).unwrap();
    assert!(events.contains(r#""event":"inserted""#), "{events}");

    let replayed = selftest_json(home, dir.to_str().unwrap(), "replayed.txt");
    assert_eq!(replayed["fingerprint"], original["fingerprint"]);
    assert_eq!(replayed["scan"], original["scan"]);

    // The daemon itself: the recording as a second simulated drive.
    let rig = Rig::new();
    let spec = DaemonSpec::new("a").with_args(&["--simulate", dir.to_str().unwrap()]);
    let daemon = rig.start_with(&spec);
    daemon.wait_log("disc in /dev/sim1 scanned", WAIT);
    let line = daemon.wait_log("control socket at ", WAIT);
    let socket = line.split_once("control socket at ").unwrap().1.trim();
    let drives = Command::new(BIN)
        .args(["--socket", socket, "drives", "--json"])
        .output()
        .unwrap();
    let drives: Value = serde_json::from_slice(&drives.stdout).unwrap();
    let sim1 = drives["drives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == "/dev/sim1")
        .unwrap();
    assert_eq!(sim1["fingerprint"], fingerprint.as_str());
    assert_eq!(sim1["scan_result"]["tracks"], original["scan"]["tracks"]);
    assert_eq!(
        sim1["scan_result"]["disc_name"],
        original["scan"]["disc_name"]
    );
}

#[test]
fn selftest_rips_and_ejects_only_when_asked() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let out_dir = home.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let report = home.join("r.txt");
    let args = [
        "selftest",
        "--simulate",
        "demo-dvd",
        "--report",
        report.to_str().unwrap(),
        "--json",
    ];
    let plain: Value = serde_json::from_slice(&amphigory(home, &args).stdout).unwrap();
    let outcome = |v: &Value, name: &str| {
        let checks = v["checks"].as_array().unwrap();
        let check = checks.iter().find(|c| c["name"] == name).unwrap();
        check["outcome"].as_str().unwrap().to_owned()
    };
    assert_eq!(outcome(&plain, "rip"), "not checked");
    assert_eq!(outcome(&plain, "eject"), "not checked");
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        0,
        "nothing ripped"
    );

    let mut asked = args.to_vec();
    asked.extend([
        "--rip",
        "3",
        "--output",
        out_dir.to_str().unwrap(),
        "--eject",
    ]);
    let out = amphigory(home, &asked);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let both: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome(&both, "rip"), "ok", "{both}");
    assert_eq!(outcome(&both, "eject"), "ok", "{both}");
    let ripped = out_dir.join("selftest-title3.mkv");
    let expected = both["scan"]["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["number"] == 3)
        .unwrap()["size_bytes"]
        .as_u64()
        .unwrap();
    assert_eq!(std::fs::metadata(&ripped).unwrap().len(), expected);
}

#[test]
fn selftest_without_makemkvcon_or_a_disc_says_what_it_could_not_check() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let report = home.join("report.txt");
    let mut command = Command::new(BIN);
    command
        .args(["selftest", "--report", report.to_str().unwrap()])
        .env("HOME", home)
        .env("PATH", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .stdin(Stdio::null());
    let out = command.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let makemkvcon_installed = [
        "/usr/bin/makemkvcon",
        "/usr/local/bin/makemkvcon",
        "/opt/homebrew/bin/makemkvcon",
    ]
    .iter()
    .any(|p| Path::new(p).exists());
    if makemkvcon_installed {
        eprintln!("SKIPPED: makemkvcon is installed here");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("--   makemkvcon   makemkvcon not found"),
        "{text}"
    );
    assert!(
        text.contains("Not checked:") && text.contains("scan"),
        "{text}"
    );
    assert!(text.contains("--   rip          not asked"), "{text}");
    assert!(text.contains("--   eject        not asked"), "{text}");
    let has_drive = std::fs::read_dir("/sys/block")
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("sr"))
        })
        .unwrap_or(false);
    if !has_drive && cfg!(target_os = "linux") {
        assert!(
            text.contains("--   drives       no optical drive found"),
            "{text}"
        );
        assert!(
            text.contains("--   disc         no drive to hold one"),
            "{text}"
        );
        assert!(text.contains("--   scan         no disc"), "{text}");
    }
    let written = std::fs::read_to_string(&report).unwrap();
    assert!(written.starts_with("amphigory selftest"), "{written}");
    assert!(written.contains("--- JSON ---"), "{written}");
}
