#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The simulated makemkvcon as a process, driven the way makemkvcon is: its output must
//! read like the real thing (the scan assembler and the progress tracker digest it), its
//! faults fire once, and it never outlives its parent.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use amphigory::makemkv::robot::{RobotLine, parse_line};
use amphigory::makemkv::scan::parse_scan;
use amphigory::sim::{SIM_DIR_ENV, SimRig, builtin_disc};

const BIN: &str = env!("CARGO_BIN_EXE_amphigory");
const DEVICE: &str = "/dev/sim0";

fn rig(dir: &Path, discs: &[&str], fault: Option<&str>) -> SimRig {
    let discs: Vec<String> = discs.iter().map(|d| (*d).to_owned()).collect();
    SimRig::create(
        &dir.join("sim"),
        &discs,
        4000.0,
        fault.map(|f| f.parse().unwrap()),
    )
    .unwrap()
    .with_executable(BIN)
}

/// Runs the simulator like the runner does and waits for it.
fn makemkvcon(rig: &SimRig, args: &[&str]) -> Output {
    let command = rig.command();
    Command::new(&command.program)
        .args(&command.leading_args)
        .args(["-r", "--cache=1024", "--progress=-same"])
        .args(args)
        .envs(command.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn codes(text: &str) -> Vec<u32> {
    text.lines()
        .filter_map(parse_line)
        .filter_map(|l| match l {
            RobotLine::Message(m) => Some(m.code),
            _ => None,
        })
        .collect()
}

fn drive_lines(text: &str) -> Vec<(u32, u32, String)> {
    text.lines()
        .filter_map(parse_line)
        .filter_map(|l| match l {
            RobotLine::Drive(d) => Some((d.index, d.state, d.disc_name.into_owned())),
            _ => None,
        })
        .collect()
}

#[test]
fn info_replays_the_transcript_behind_a_drive_list() {
    let temp = tempfile::tempdir().unwrap();
    let rig = rig(temp.path(), &["demo-bluray", "demo-dvd"], None);
    let out = makemkvcon(&rig, &["info", "dev:/dev/sim1"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let drives = drive_lines(&text);
    assert_eq!(drives.len(), 16);
    assert_eq!(drives[0], (0, 2, "CLOCKWORK_LIGHTHOUSE".into()));
    assert_eq!(drives[1].1, 2);
    assert!(drives[2..].iter().all(|d| d.1 == 256));
    assert_eq!(
        parse_scan(&text).unwrap(),
        parse_scan(builtin_disc("demo-dvd").unwrap()).unwrap()
    );
    let order: Vec<u32> = text
        .lines()
        .filter_map(parse_line)
        .filter_map(|l| match l {
            RobotLine::ProgressTotalTitle(t) => Some(t.code),
            _ => None,
        })
        .collect();
    assert_eq!(order, [5018, 3404]);
    assert_eq!(codes(&text).iter().filter(|c| **c == 5011).count(), 1);
    assert_eq!(rig.pids("/dev/sim1").len(), 1);
    // `disc:N` names the same drive.
    let by_index = stdout(&makemkvcon(&rig, &["info", "disc:1"]));
    assert_eq!(parse_scan(&by_index).unwrap(), parse_scan(&text).unwrap());
}

#[test]
fn mkv_grows_a_sparse_file_named_by_the_transcript() {
    let temp = tempfile::tempdir().unwrap();
    let rig = rig(temp.path(), &["demo-bluray"], None);
    let dir = temp.path().join("rip");
    std::fs::create_dir(&dir).unwrap();
    let out = makemkvcon(&rig, &["mkv", "dev:/dev/sim0", "6", dir.to_str().unwrap()]);
    assert!(out.status.success());
    let text = stdout(&out);
    let file = dir.join("title_t06.mkv");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 214_958_080);
    let phases: Vec<u32> = text
        .lines()
        .filter_map(parse_line)
        .filter_map(|l| match l {
            RobotLine::ProgressTotalTitle(t) => Some(t.code),
            _ => None,
        })
        .collect();
    assert_eq!(phases, [5018, 3404, 5024]);
    assert_eq!(codes(&text).last(), Some(&5036));
    assert!(text.lines().any(|l| l.starts_with("PRGC:5017")));
    assert!(
        !text.contains("TINFO"),
        "an mkv run prints no title listing"
    );
}

#[test]
fn a_missing_title_fails_like_makemkv() {
    let temp = tempfile::tempdir().unwrap();
    let rig = rig(temp.path(), &["demo-dvd"], None);
    let out = makemkvcon(
        &rig,
        &["mkv", "disc:0", "99", temp.path().to_str().unwrap()],
    );
    assert!(out.status.success(), "MakeMKV exits 0 after a failed title");
    let c = codes(&stdout(&out));
    assert!(c.contains(&5003) && c.ends_with(&[5037]), "{c:?}");
}

#[test]
fn transcript_files_and_the_rig_controls_work() {
    let temp = tempfile::tempdir().unwrap();
    let transcript = temp.path().join("disc.txt");
    std::fs::write(&transcript, builtin_disc("demo-dvd").unwrap()).unwrap();
    let rig = rig(temp.path(), &[transcript.to_str().unwrap()], None);
    assert_eq!(rig.devices(), [DEVICE]);
    let drives = rig.drives().unwrap();
    assert_eq!(
        drives[0].volume_name.as_deref(),
        Some("CLOCKWORK_LIGHTHOUSE")
    );
    assert!(
        rig.transcript(DEVICE)
            .unwrap()
            .unwrap()
            .contains("TCOUNT:7")
    );

    rig.eject(DEVICE).unwrap();
    assert_eq!(rig.transcript(DEVICE).unwrap(), None);
    let text = stdout(&makemkvcon(&rig, &["info", "dev:/dev/sim0"]));
    assert_eq!(drive_lines(&text)[0], (0, 0, String::new()));
    assert!(codes(&text).contains(&5010));
    assert!(text.contains("TCOUNT:0"));

    rig.insert(DEVICE, "demo-bluray").unwrap();
    let text = stdout(&makemkvcon(&rig, &["info", "dev:/dev/sim0"]));
    assert_eq!(drive_lines(&text)[0].1, 2);
    assert!(parse_scan(&text).unwrap().tracks.len() >= 7);
    assert!(SimRig::create(&temp.path().join("x"), &["no-such-disc".into()], 1.0, None).is_err());
}

#[test]
fn faults_fire_once_per_sim_directory() {
    let temp = tempfile::tempdir().unwrap();
    let rig = rig(temp.path(), &["demo-bluray"], Some("spinup"));
    let first = stdout(&makemkvcon(&rig, &["info", "dev:/dev/sim0"]));
    assert!(codes(&first).contains(&5010));
    let second = stdout(&makemkvcon(&rig, &["info", "dev:/dev/sim0"]));
    assert!(!codes(&second).contains(&5010));
    assert!(parse_scan(&second).is_ok());

    rig.set_fault(DEVICE, Some("unreadable".parse().unwrap()))
        .unwrap();
    for _ in 0..2 {
        let out = makemkvcon(&rig, &["info", "dev:/dev/sim0"]);
        assert!(out.status.success(), "5010 comes with exit status 0");
        assert!(codes(&stdout(&out)).contains(&5010));
    }
}

#[test]
fn exit_fault_dies_with_a_status_and_a_message() {
    let temp = tempfile::tempdir().unwrap();
    let rig = rig(temp.path(), &["demo-bluray"], Some("exit@10"));
    let out = makemkvcon(
        &rig,
        &["mkv", "dev:/dev/sim0", "7", temp.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(11));
    assert!(String::from_utf8_lossy(&out.stderr).contains("simulated crash"));
    assert!(!codes(&stdout(&out)).contains(&5036));
}

#[test]
fn without_a_sim_directory_it_refuses() {
    let out = Command::new(BIN)
        .args(["__sim-makemkvcon", "-r", "info", "disc:0"])
        .env_remove(SIM_DIR_ENV)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A stalled simulator whose parent (a shell) is SIGKILLed exits on its own: its stdout
/// reaches EOF (only the simulator held it open) and its pid goes away.
#[test]
fn it_dies_with_its_parent() {
    let temp = tempfile::tempdir().unwrap();
    let rig = rig(temp.path(), &["demo-bluray"], Some("stall@0"));
    let command = rig.command();
    let script = r#""$0" __sim-makemkvcon -r --progress=-same mkv dev:/dev/sim0 0 "$1"; true"#;
    let mut shell = Command::new("/bin/sh")
        .args(["-c", script])
        .arg(&command.program)
        .arg(temp.path())
        .envs(command.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let mut lines = BufReader::new(shell.stdout.take().unwrap()).lines();
    std::thread::spawn(move || {
        let first = lines.next();
        tx.send(first.is_some()).unwrap();
        for _ in lines.by_ref() {}
        tx.send(true).unwrap();
    });
    assert!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        "simulator printed nothing"
    );
    shell.kill().unwrap();
    shell.wait().unwrap();
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the simulator outlived its parent");
    // EOF means the simulator is exiting (it closes stdout only then); it turns into a
    // zombie a moment later.
    let pid = rig.pids(DEVICE)[0];
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while running(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "simulator {pid} still running"
        );
        std::thread::yield_now();
    }
}

/// `kill(pid, 0)` succeeds for a zombie, which an orphan is until init reaps it.
fn running(pid: u32) -> bool {
    let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok();
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    });
    alive && !zombie
}
