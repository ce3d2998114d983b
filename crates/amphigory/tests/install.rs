#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Installing it like real software (SPEC §11.3), through the real binary: `service
//! install --dry-run` output that `systemd-analyze verify` accepts; install without a user
//! bus (writes the unit, exits 1, prints the exact `systemctl --user` commands), twice,
//! status, uninstall, twice; a daemon already running in a terminal named; the macOS
//! LaunchAgent parsed back with the `plist` crate; completions and man pages generated
//! and committed; the packaged unit and the Homebrew formula; `Amphigory.app` built on
//! Linux by `packaging/macos/bundle.sh`, its Info.plist and .icns read back.
//!
//! Tools the checks need (`systemd-analyze`, `ruby`) are required under `CI=true` (the
//! CI script installs them) and skipped with a notice elsewhere.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::daemon::{BIN, Rig, WAIT};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `amphigory` with a home, config and runtime folder of its own and no user bus.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn unit(&self) -> PathBuf {
        self.path().join("config/systemd/user/amphigory.service")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_RUNTIME_DIR", self.path())
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("AMPHIGORY_SOCKET")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether `tool` is on PATH; under `CI=true` it must be.
fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is required under CI=true (.ci/run installs it)"
        );
        eprintln!("SKIPPED: {tool} is not installed");
    }
    found
}

#[test]
fn the_dry_run_unit_passes_systemd_analyze_verify() {
    let home = Home::new();
    let out = home.run(&["service", "install", "--dry-run", "--os", "linux"]);
    let (unit, commands) = text(&out);
    assert!(out.status.success(), "{commands}");
    assert!(
        unit.contains(&format!("ExecStart={BIN} daemon\n")),
        "{unit}"
    );
    for line in [
        "Restart=on-failure",
        "LimitNOFILE=4096",
        "WantedBy=default.target",
    ] {
        assert!(unit.lines().any(|l| l == line), "{line} in {unit}");
    }
    assert!(
        commands.contains("systemctl --user daemon-reload"),
        "{commands}"
    );
    assert!(commands.contains("systemctl --user enable --now amphigory.service"));
    assert!(!home.unit().exists(), "a dry run writes nothing");
    if !have("systemd-analyze") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("amphigory.service");
    std::fs::write(&file, &unit).unwrap();
    // --man=no: the man page is installed by the packages, not by a dry run.
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&file)
        .output()
        .unwrap();
    let (out, err) = text(&verify);
    assert!(
        verify.status.success(),
        "systemd-analyze verify: {out}{err}"
    );
    assert!(err.trim().is_empty(), "systemd-analyze complained: {err}");
}

#[test]
fn without_a_user_bus_install_writes_the_unit_and_says_what_to_run() {
    let home = Home::new();
    let first = home.run(&["service", "install", "--os", "linux"]);
    let (_, err) = text(&first);
    assert_eq!(first.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("Wrote {}.", home.unit().display())),
        "{err}"
    );
    assert!(err.contains("systemd could not be reached"), "{err}");
    assert!(
        err.contains("\n  systemctl --user daemon-reload\n"),
        "{err}"
    );
    assert!(
        err.contains("\n  systemctl --user enable --now amphigory.service"),
        "{err}"
    );
    let unit = std::fs::read_to_string(home.unit()).unwrap();
    assert!(unit.contains(&format!("ExecStart={BIN} daemon")), "{unit}");

    let again = home.run(&["service", "install", "--os", "linux"]);
    let (_, err) = text(&again);
    assert!(
        err.contains("Already installed") && err.contains("(unchanged)"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(home.unit()).unwrap(), unit);

    let status = home.run(&["service", "status", "--os", "linux"]);
    let (out, _) = text(&status);
    assert!(status.status.success());
    assert!(out.contains("Installed  yes"), "{out}");
    assert!(
        out.contains("Loaded     unknown (systemd cannot be reached"),
        "{out}"
    );
    let json = home.run(&["service", "status", "--json", "--os", "linux"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["installed"], true);
    assert_eq!(json["loaded"], serde_json::Value::Null);

    let removed = home.run(&["service", "uninstall", "--os", "linux"]);
    let (_, err) = text(&removed);
    assert!(!home.unit().exists(), "uninstall removes the unit: {err}");
    assert!(
        err.contains("systemctl --user disable --now amphigory.service"),
        "{err}"
    );
    let nothing = home.run(&["service", "uninstall", "--os", "linux"]);
    let (out, _) = text(&nothing);
    assert!(nothing.status.success());
    assert!(
        out.contains("not installed") && out.contains("nothing to do"),
        "{out}"
    );
}

#[test]
fn a_daemon_running_in_a_terminal_is_named_and_the_service_not_started() {
    let rig = Rig::new();
    let daemon = rig.start("a");
    let line = daemon.wait_log("control socket at ", WAIT);
    let socket = PathBuf::from(line.split_once("control socket at ").unwrap().1.trim());
    let home = Home::new();
    let out = home.run(&[
        "--socket",
        socket.to_str().unwrap(),
        "service",
        "install",
        "--os",
        "linux",
    ]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("already running outside the service"), "{err}");
    assert!(err.contains(&format!("pid {}", daemon.pid())), "{err}");
    assert!(
        err.contains("daemon --tasks-dir"),
        "its command line: {err}"
    );
    assert!(err.contains("amphigory stop"), "{err}");
    assert!(home.unit().exists(), "the unit is still written");
    let status = home.run(&["--socket", socket.to_str().unwrap(), "service", "status"]);
    let (out, _) = text(&status);
    assert!(
        out.contains("a daemon not started by the service: pid"),
        "{out}"
    );
}

#[test]
fn the_launch_agent_parses_back_with_its_keys() {
    let home = Home::new();
    let out = home.run(&["service", "install", "--dry-run", "--os", "macos"]);
    let (_, err) = text(&out);
    assert!(out.status.success(), "{err}");
    let agents = home
        .path()
        .join("Library/LaunchAgents/org.amphigory.daemon.plist");
    assert!(
        err.contains(&format!("Would write {}", agents.display())),
        "{err}"
    );
    assert!(err.contains("launchctl bootstrap gui/"), "{err}");
    let value = plist::Value::from_reader_xml(out.stdout.as_slice()).unwrap();
    let dict = value.as_dictionary().unwrap();
    let log = home.path().join("Library/Logs/Amphigory/daemon.log");
    let log = log.to_str().unwrap();
    assert_eq!(dict["Label"].as_string(), Some("org.amphigory.daemon"));
    let args: Vec<&str> = dict["ProgramArguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect();
    assert_eq!(args, [BIN, "daemon", "--log-file", log]);
    assert!(Path::new(args[0]).is_absolute());
    assert_eq!(dict["RunAtLoad"].as_boolean(), Some(true));
    let keep_alive = dict["KeepAlive"].as_dictionary().unwrap();
    assert_eq!(keep_alive["SuccessfulExit"].as_boolean(), Some(false));
    assert_eq!(dict["ProcessType"].as_string(), Some("Interactive"));
    assert_eq!(dict["StandardOutPath"].as_string(), Some(log));
    assert_eq!(dict["StandardErrorPath"].as_string(), Some(log));
    let limits = dict["SoftResourceLimits"].as_dictionary().unwrap();
    assert_eq!(limits["NumberOfFiles"].as_signed_integer(), Some(4096));
}

#[test]
fn completions_and_man_pages_are_generated_and_committed() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["generate", "all"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    let read = |rel: &str| std::fs::read_to_string(dir.path().join(rel)).unwrap();
    assert!(read("completions/amphigory.bash").contains("complete -F _amphigory"));
    assert!(read("completions/_amphigory").starts_with("#compdef amphigory"));
    assert!(read("completions/amphigory.fish").contains("complete -c amphigory"));
    let man = read("man/amphigory.1");
    assert!(
        man.contains(".TH amphigory 1") && man.contains("selftest"),
        "{man}"
    );
    assert!(read("man/amphigory-service.1").contains("install"));
    for shell in ["bash", "zsh", "fish"] {
        let one = Command::new(BIN)
            .args(["generate", "completions", shell])
            .output()
            .unwrap();
        assert!(one.status.success() && !one.stdout.is_empty(), "{shell}");
    }
    let committed = repo().join("packaging/generated");
    let stale: Vec<String> = std::fs::read_dir(dir.path().join("completions"))
        .unwrap()
        .chain(std::fs::read_dir(dir.path().join("man")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|fresh| {
            let rel = fresh.strip_prefix(dir.path()).unwrap();
            std::fs::read(committed.join(rel)).ok() != std::fs::read(fresh).ok()
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        stale.is_empty(),
        "packaging/generated is out of date ({stale:?}): run \
         `cargo run -p amphigory -- generate all packaging/generated` and commit"
    );
}

#[test]
fn the_packaged_unit_and_the_formula_are_sound() {
    let packaged = std::fs::read_to_string(repo().join("packaging/linux/amphigory.service"));
    let spec = amphigory::service::ServiceSpec {
        binary: "/usr/bin/amphigory".into(),
    };
    assert_eq!(
        packaged.unwrap(),
        amphigory::service::systemd::unit_text(&spec)
    );
    if have("ruby") {
        let formula = repo().join("packaging/homebrew/amphigory.rb");
        let check = Command::new("ruby")
            .arg("-c")
            .arg(&formula)
            .output()
            .unwrap();
        assert!(check.status.success(), "ruby -c: {:?}", text(&check));
    }
}

#[test]
fn the_bundle_is_built_on_linux_with_its_plist_and_icon() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(repo().join("packaging/macos/bundle.sh"))
        .args(["--binary", BIN, "--out"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    let contents = out_dir.path().join("Amphigory.app/Contents");
    let exe = std::fs::metadata(contents.join("MacOS/amphigory")).unwrap();
    assert_eq!(exe.len(), std::fs::metadata(BIN).unwrap().len());
    let info = plist::Value::from_file(contents.join("Info.plist")).unwrap();
    let info = info.as_dictionary().unwrap();
    assert_eq!(info["LSUIElement"].as_boolean(), Some(true));
    assert_eq!(
        info["CFBundleIdentifier"].as_string(),
        Some("org.amphigory.daemon")
    );
    assert_eq!(info["CFBundleExecutable"].as_string(), Some("amphigory"));
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        info["CFBundleShortVersionString"].as_string(),
        Some(version)
    );
    assert_eq!(info["CFBundleIconFile"].as_string(), Some("Amphigory"));
    let icns = std::fs::read(contents.join("Resources/Amphigory.icns")).unwrap();
    check_icns(&icns);
}

/// Reads an .icns back: the header's length, then every entry a PNG of its type's size.
fn check_icns(icns: &[u8]) {
    let be = |at: usize| u32::from_be_bytes(icns[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!(&icns[..4], b"icns");
    assert_eq!(be(4), icns.len());
    let mut at = 8;
    let mut sizes = Vec::new();
    while at < icns.len() {
        let kind = std::str::from_utf8(&icns[at..at + 4]).unwrap().to_owned();
        let len = be(at + 4);
        let png = &icns[at + 8..at + len];
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        let (w, h) = (reader.info().width, reader.info().height);
        assert_eq!(w, h, "{kind}");
        let expected = match kind.as_str() {
            "icp4" => 16,
            "icp5" => 32,
            "icp6" => 64,
            "ic07" => 128,
            "ic08" => 256,
            "ic09" => 512,
            other => panic!("unexpected entry {other}"),
        };
        assert_eq!(w, expected, "{kind}");
        sizes.push(w);
        at += len;
    }
    assert_eq!(sizes, [16, 32, 64, 128, 256, 512]);
}
