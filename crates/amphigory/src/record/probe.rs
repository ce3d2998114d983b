//! What `selftest` and `record` look at: the drives and discs detection reports (the
//! daemon's own [`DriveMonitor`], real or simulated), the raw facts the platform keeps
//! about a drive, and makemkvcon's raw `info` output for a disc.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::drives::{DiscEvent, DiscInfo, DriveInfo, DriveMonitor};
use crate::makemkv::runner::MakemkvconCommand;
use crate::sim::SimRig;

/// How long detection may take to report what is present at start.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);

/// What detection reported before it settled.
#[derive(Debug, Clone, Default)]
pub struct Detected {
    /// Drives, in the order reported.
    pub drives: Vec<DriveInfo>,
    /// Discs in them.
    pub discs: Vec<DiscInfo>,
    /// Every event, with milliseconds since detection started.
    pub events: Vec<(u64, DiscEvent)>,
    /// Why detection failed or stopped early.
    pub problem: Option<String>,
}

impl Detected {
    /// The disc in `device`, or the first disc when no device is named.
    pub fn disc(&self, device: Option<&str>) -> Option<&DiscInfo> {
        self.discs
            .iter()
            .find(|d| device.is_none_or(|want| d.device == want))
    }

    /// The drive `device`.
    pub fn drive(&self, device: &str) -> Option<&DriveInfo> {
        self.drives.iter().find(|d| d.device == device)
    }
}

/// Starts `monitor` and collects what it reports until it has settled (or `timeout`),
/// then, for a `watch` counted from the start, whatever else happens (a disc put in or
/// taken out meanwhile).
pub async fn detect(
    monitor: Box<dyn DriveMonitor>,
    timeout: Duration,
    watch: Duration,
) -> Detected {
    let (tx, mut rx) = mpsc::channel(64);
    let shutdown = CancellationToken::new();
    let mut detected = Detected::default();
    if let Err(e) = monitor.start(tx, shutdown.clone()) {
        detected.problem = Some(e.to_string());
        return detected;
    }
    let started = Instant::now();
    let settle_deadline = tokio::time::sleep(timeout);
    let watch_deadline = tokio::time::sleep(watch);
    tokio::pin!(settle_deadline, watch_deadline);
    let mut settled = false;
    loop {
        let event = tokio::select! {
            () = &mut settle_deadline, if !settled => {
                detected.problem = Some(format!("detection did not settle within {timeout:?}"));
                break;
            }
            () = &mut watch_deadline, if settled => break,
            event = rx.recv() => event,
        };
        let Some(event) = event else {
            detected.problem = Some("detection stopped".into());
            break;
        };
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        detected.events.push((ms, event.clone()));
        match event {
            DiscEvent::DriveAdded(drive) => detected.drives.push(drive),
            DiscEvent::Inserted(disc) => detected.discs.push(disc),
            DiscEvent::Ejected { device } => detected.discs.retain(|d| d.device != device),
            DiscEvent::DriveRemoved { device } => detected.drives.retain(|d| d.device != device),
            DiscEvent::Settled if watch.is_zero() => break,
            DiscEvent::Settled => settled = true,
        }
    }
    shutdown.cancel();
    detected
}

/// One disc event as a line of `disc-events.jsonl`.
#[derive(Debug, Serialize)]
struct EventLine<'a> {
    ms: u64,
    event: &'static str,
    device: Option<&'a str>,
    model: Option<&'a str>,
    volume_name: Option<&'a str>,
    disc_type: Option<&'static str>,
    fingerprint: Option<&'a str>,
}

/// The events as JSON lines.
pub fn events_jsonl(events: &[(u64, DiscEvent)]) -> String {
    let mut out = String::new();
    for (ms, event) in events {
        let mut line = EventLine {
            ms: *ms,
            event: "settled",
            device: None,
            model: None,
            volume_name: None,
            disc_type: None,
            fingerprint: None,
        };
        match event {
            DiscEvent::DriveAdded(d) => {
                (line.event, line.device, line.model) =
                    ("drive_added", Some(d.device.as_str()), d.model.as_deref());
            }
            DiscEvent::DriveRemoved { device } => {
                (line.event, line.device) = ("drive_removed", Some(device.as_str()));
            }
            DiscEvent::Inserted(d) => {
                (line.event, line.device) = ("inserted", Some(d.device.as_str()));
                line.volume_name = d.volume_name.as_deref();
                line.disc_type = d.medium.map(|m| m.disc_type());
                line.fingerprint = d.fingerprint.as_deref();
            }
            DiscEvent::Ejected { device } => {
                (line.event, line.device) = ("ejected", Some(device.as_str()))
            }
            DiscEvent::Settled => {}
        }
        if let Ok(json) = serde_json::to_string(&line) {
            out.push_str(&json);
            out.push('\n');
        }
    }
    out
}

/// Where the discs come from: the platform's detection, or one simulated disc (a
/// built-in name, a transcript or a recording).
pub enum Source {
    /// Real drives.
    Platform,
    /// A simulated drive holding this disc.
    Simulated(Arc<SimRig>),
}

impl Source {
    /// A simulated drive with `disc` in it.
    pub fn simulated(disc: &str) -> std::io::Result<Self> {
        let rig = SimRig::create_temp(&[disc.to_owned()], crate::sim::DEFAULT_RATE_MBPS, None)?;
        Ok(Self::Simulated(Arc::new(rig)))
    }

    /// The monitor to detect with; `None` when the platform has none.
    pub fn monitor(&self) -> Option<Box<dyn DriveMonitor>> {
        match self {
            Self::Platform => crate::drives::platform_monitor(),
            Self::Simulated(rig) => Some(Box::new(crate::drives::simulated::SimMonitor::new(
                Arc::clone(rig),
            ))),
        }
    }

    /// The makemkvcon to run: the simulated one, else `found` (discovery's answer).
    pub fn makemkvcon(&self, found: Option<&Path>) -> Option<MakemkvconCommand> {
        match self {
            Self::Platform => found.map(MakemkvconCommand::new),
            Self::Simulated(rig) => Some(rig.command()),
        }
    }

    /// `linux`, `macos` or `simulated`.
    pub fn platform_name(&self) -> &'static str {
        match self {
            Self::Simulated(_) => "simulated",
            Self::Platform if cfg!(target_os = "macos") => "macos",
            Self::Platform => "linux",
        }
    }
}

/// makemkvcon's `info` run, as it came out.
#[derive(Debug, Clone)]
pub struct Capture {
    /// Robot-mode output.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
    /// Exit status (`None`: killed, or timed out).
    pub status: Option<i32>,
    /// How long it took.
    pub elapsed: Duration,
}

/// Runs `makemkvcon -r --cache=1024 --progress=-same info dev:<device>` exactly as the
/// daemon does and keeps all it prints; killed after `limit`.
pub async fn capture_info(
    command: &MakemkvconCommand,
    device: &str,
    limit: Duration,
) -> std::io::Result<Capture> {
    let mut cmd = tokio::process::Command::new(&command.program);
    cmd.args(&command.leading_args)
        .args(["-r", "--cache=1024", "--progress=-same", "info"])
        .arg(format!("dev:{device}"))
        .envs(command.env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let child = cmd.spawn()?;
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("makemkvcon info took longer than {limit:?}; stopped"),
            )
        })??;
    Ok(Capture {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        status: output.status.code(),
        elapsed: started.elapsed(),
    })
}

/// The raw facts the platform keeps about `device`, as (file name, text) in the formats
/// of the fixtures; none for simulated drives.
pub fn platform_files(source: &Source, device: &str) -> Vec<(String, String)> {
    match source {
        Source::Simulated(_) => Vec::new(),
        Source::Platform if cfg!(target_os = "macos") => drutil_files(),
        Source::Platform => {
            udev_files(Path::new("/sys/block"), Path::new("/run/udev/data"), device)
        }
    }
}

/// `drutil status` and `drutil status -xml`.
fn drutil_files() -> Vec<(String, String)> {
    let run = |args: &[&str]| {
        std::process::Command::new("/usr/bin/drutil")
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let mut files = Vec::new();
    if let Some(text) = run(&["status"]) {
        files.push(("drutil-status.txt".to_owned(), text));
    }
    if let Some(xml) = run(&["status", "-xml"]) {
        files.push(("drutil-status.xml".to_owned(), xml));
    }
    files
}

/// The drive's udev record as `udevadm info --query=all` prints it, and its sysfs facts.
pub fn udev_files(sys_block: &Path, udev_data: &Path, device: &str) -> Vec<(String, String)> {
    let name = device.rsplit('/').next().unwrap_or(device);
    let dir = sys_block.join(name);
    let read = |p: PathBuf| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
    let mut files = Vec::new();
    let dev = read(dir.join("dev"));
    let record = dev
        .as_ref()
        .and_then(|d| read(udev_data.join(format!("b{d}"))));
    if let Some(record) = record {
        let devpath = std::fs::canonicalize(&dir)
            .ok()
            .and_then(|p| p.strip_prefix("/sys").ok().map(Path::to_owned))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| format!("/block/{name}"));
        files.push((
            format!("udevadm-info-{name}.txt"),
            udevadm_info_text(&devpath, name, dev.as_deref(), &record),
        ));
    }
    let mut sysfs = String::new();
    for (label, rel) in [
        ("size", "size"),
        ("vendor", "device/vendor"),
        ("model", "device/model"),
        ("rev", "device/rev"),
    ] {
        if let Some(value) = read(dir.join(rel)) {
            sysfs.push_str(&format!("{label}: {value}\n"));
        }
    }
    if !sysfs.is_empty() {
        files.push((format!("sysfs-{name}.txt"), sysfs));
    }
    files
}

/// udev's database record (`S:link`, `E:KEY=VALUE`, …) in `udevadm info --query=all`
/// form (`P:`, `N:`, `S: link`, `E: KEY=VALUE`), which `drives::linux` parses.
pub fn udevadm_info_text(devpath: &str, name: &str, dev: Option<&str>, record: &str) -> String {
    let mut out = format!("P: {devpath}\nN: {name}\n");
    let mut env = vec![
        format!("DEVPATH={devpath}"),
        format!("DEVNAME=/dev/{name}"),
        "DEVTYPE=disk".to_owned(),
        "SUBSYSTEM=block".to_owned(),
    ];
    if let Some((major, minor)) = dev.and_then(|d| d.split_once(':')) {
        env.push(format!("MAJOR={major}"));
        env.push(format!("MINOR={minor}"));
    }
    for line in record.lines() {
        if let Some(link) = line.strip_prefix("S:") {
            out.push_str(&format!("S: {link}\n"));
        } else if let Some(kv) = line.strip_prefix("E:") {
            env.push(kv.to_owned());
        }
    }
    env.sort();
    env.dedup();
    for kv in env {
        out.push_str(&format!("E: {kv}\n"));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A fake `/sys/block/sr0` and udev database entry, as a BD drive with a disc has.
    fn fake_system(root: &Path) -> (PathBuf, PathBuf) {
        let sys = root.join("sys/block");
        let sr0 = sys.join("sr0");
        std::fs::create_dir_all(sr0.join("device")).unwrap();
        std::fs::write(sr0.join("dev"), "11:0\n").unwrap();
        std::fs::write(sr0.join("size"), "48828125\n").unwrap();
        std::fs::write(sr0.join("device/vendor"), "HL-DT-ST\n").unwrap();
        std::fs::write(sr0.join("device/model"), "BD-RE  BH12LS38 \n").unwrap();
        let udev = root.join("udev");
        std::fs::create_dir_all(&udev).unwrap();
        std::fs::write(
            udev.join("b11:0"),
            "S:disk/by-id/ata-HL-DT-ST_BD-RE_BH12LS38_K91B6A95648\nI:2498180\n\
             E:ID_CDROM=1\nE:ID_CDROM_MEDIA=1\nE:ID_CDROM_MEDIA_BD=1\n\
             E:ID_FS_LABEL=MY_MOVIE\nE:ID_SERIAL=HL-DT-ST_BD-RE_BH12LS38_K91B6A95648\n\
             E:ID_SERIAL_SHORT=K91B6A95648\nG:uaccess\n",
        )
        .unwrap();
        (sys, udev)
    }

    #[test]
    fn the_udev_record_is_written_as_udevadm_info_and_scrubbed() {
        let root = tempfile::tempdir().unwrap();
        let (sys, udev) = fake_system(root.path());
        let files = udev_files(&sys, &udev, "/dev/sr0");
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["udevadm-info-sr0.txt", "sysfs-sr0.txt"]);
        let info = &files[0].1;
        assert!(info.starts_with("P: /block/sr0\nN: sr0\n"), "{info}");
        assert!(info.contains("E: DEVNAME=/dev/sr0\n") && info.contains("E: MAJOR=11\n"));
        assert!(info.contains("E: ID_CDROM_MEDIA_BD=1\n"), "{info}");
        assert!(files[1].1.contains("size: 48828125\n"));
        let dir = root.path().join("rec");
        let recording: crate::record::Recording = serde_json::from_value(serde_json::json!({
            "format": 1, "amphigory_version": "0", "platform": "linux",
            "recorded_at": "2026-01-01T00:00:00Z",
            "drive": {"device": "/dev/sr0", "model": null},
            "disc": {"volume_name": "MY_MOVIE", "disc_type": "bluray", "fingerprint": null},
            "makemkvcon": null, "files": []
        }))
        .unwrap();
        crate::record::write(&dir, &recording, &files).unwrap();
        let written = std::fs::read_to_string(dir.join("udevadm-info-sr0.txt")).unwrap();
        assert!(!written.contains("K91B6A95648"), "{written}");
        assert!(
            written.contains("E: ID_FS_LABEL=MY_MOVIE"),
            "volume names are kept"
        );
        #[cfg(target_os = "linux")]
        {
            let parsed = crate::drives::linux::uevent::parse_info_text(&written);
            assert_eq!(parsed.devname.as_deref(), Some("sr0"));
            assert_eq!(parsed.get("ID_CDROM_MEDIA_BD"), Some("1"));
            assert_eq!(
                crate::drives::linux::uevent_rules::medium_kind(&parsed),
                Some(crate::fingerprint::MediumKind::Bluray)
            );
        }
    }
}
