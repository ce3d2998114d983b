//! One first-contact session, shared by `selftest` and `record`: find makemkvcon, detect
//! the drives, pick the disc, read the platform's facts about its drive, and scan it with
//! `makemkvcon info` keeping the raw output. Nothing here rips or ejects.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use amphigory_wire::drive::{DriveState, DriveStatus, ScanStatus};
use amphigory_wire::scan::ScanResult;

use super::probe::{self, Capture, Detected, Source};
use super::{RecordedDisc, RecordedDrive, Recording};
use crate::config::makemkvcon::{self, VERSION_TIMEOUT, VersionError};
use crate::drives::DiscInfo;

/// Longest a scan may take (the daemon's hard limit, SPEC §6.6).
pub const SCAN_LIMIT: Duration = Duration::from_secs(600);

/// What to look at.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Only this drive (`/dev/sr0`, `/dev/rdisk4`); else the first with a disc.
    pub device: Option<String>,
    /// A simulated disc instead of the real drives.
    pub simulate: Option<String>,
    /// makemkvcon from the configuration (daemon.yaml), searched for when `None`.
    pub configured_makemkvcon: Option<PathBuf>,
    /// The daemon's id, for the drive object it would send.
    pub daemon_id: String,
    /// Skip the scan (detection and facts only).
    pub no_scan: bool,
    /// Keep watching for disc events this long before scanning (`record --watch`); on
    /// Linux the kernel's raw uevents are captured meanwhile.
    pub watch: Duration,
}

/// Why a session has no scan: makemkvcon's `info` run failed, or its output is not one.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ScanError {
    /// makemkvcon could not be run or read (shared: the scan repeats the run's error).
    #[error("{0}")]
    Capture(Arc<std::io::Error>),
    /// Its output is not a scan: the parser's message for a person.
    #[error("{0}")]
    Parse(String),
}

/// What makemkvcon discovery found.
#[derive(Debug)]
pub enum Makemkvcon {
    /// Found and answering: path and version banner.
    Found(PathBuf, String),
    /// Found but it did not answer: path and why.
    Broken(PathBuf, VersionError),
    /// Not found: what discovery says.
    Missing(String),
    /// The simulated one.
    Simulated,
}

/// Everything a session saw.
pub struct Session {
    /// Real drives or a simulated one.
    pub source: Source,
    /// makemkvcon.
    pub makemkvcon: Makemkvcon,
    /// What detection reported.
    pub detected: Detected,
    /// The disc looked at.
    pub disc: Option<DiscInfo>,
    /// The platform's raw facts about its drive (file name, text).
    pub files: Vec<(String, String)>,
    /// makemkvcon's `info` run, when one was made.
    pub capture: Option<Result<Capture, ScanError>>,
    /// The scan result parsed from it.
    pub scan: Option<Result<ScanResult, ScanError>>,
    /// The daemon's id.
    pub daemon_id: String,
}

/// Runs the session (must be called inside a tokio runtime).
pub async fn run(options: &SessionOptions) -> std::io::Result<Session> {
    let source = match &options.simulate {
        Some(disc) => Source::simulated(disc)?,
        None => Source::Platform,
    };
    let makemkvcon = match &source {
        Source::Simulated(_) => Makemkvcon::Simulated,
        Source::Platform => find_makemkvcon(options.configured_makemkvcon.as_deref()).await,
    };
    let detection = async {
        match source.monitor() {
            Some(monitor) => probe::detect(monitor, probe::SETTLE_TIMEOUT, options.watch).await,
            None => Detected {
                problem: Some("disc detection is not available on this platform".into()),
                ..Detected::default()
            },
        }
    };
    let (detected, uevents) = tokio::join!(detection, raw_events(&source, options.watch));
    let disc = detected.disc(options.device.as_deref()).cloned();
    let mut files = disc
        .as_ref()
        .map(|d| probe::platform_files(&source, &d.device))
        .unwrap_or_default();
    files.extend(uevents);
    let found = match &makemkvcon {
        Makemkvcon::Found(path, _) => Some(path.as_path()),
        _ => None,
    };
    let command = source.makemkvcon(found);
    let capture = match (&disc, command, options.no_scan) {
        (Some(disc), Some(command), false) => Some(
            probe::capture_info(&command, &disc.device, SCAN_LIMIT)
                .await
                .map_err(|e| ScanError::Capture(Arc::new(e))),
        ),
        _ => None,
    };
    let scan = capture.as_ref().map(|c| match c {
        Ok(capture) => crate::makemkv::scan::parse_scan(&capture.stdout)
            .map(|mut scan| {
                scan.fingerprint = disc.as_ref().and_then(|d| d.fingerprint.clone());
                scan
            })
            .map_err(|f| ScanError::Parse(f.message)),
        Err(e) => Err(e.clone()),
    });
    Ok(Session {
        source,
        makemkvcon,
        detected,
        disc,
        files,
        capture,
        scan,
        daemon_id: options.daemon_id.clone(),
    })
}

/// Linux, real drives, `--watch`: the kernel's uevents meanwhile, as a recording file.
#[cfg(target_os = "linux")]
async fn raw_events(source: &Source, watch: Duration) -> Option<(String, String)> {
    if watch.is_zero() || !matches!(source, Source::Platform) {
        return None;
    }
    match super::uevents::capture(watch).await {
        Ok(text) => Some((super::uevents::UEVENTS_FILE.to_owned(), text)),
        Err(e) => {
            tracing::warn!("cannot capture uevents: {e}");
            None
        }
    }
}

#[cfg(not(target_os = "linux"))]
async fn raw_events(_source: &Source, _watch: Duration) -> Option<(String, String)> {
    None
}

async fn find_makemkvcon(configured: Option<&Path>) -> Makemkvcon {
    let discovery = makemkvcon::discover(configured);
    match discovery.found {
        Some(path) => match makemkvcon::version(&path, VERSION_TIMEOUT).await {
            Ok(version) => Makemkvcon::Found(path, version),
            Err(why) => Makemkvcon::Broken(path, why),
        },
        None => Makemkvcon::Missing(
            discovery
                .problem()
                .unwrap_or_else(|| "makemkvcon not found".into()),
        ),
    }
}

impl Session {
    /// The makemkvcon this session scanned with, and the runner settings for it (no
    /// free-space check for the simulated one, whose rips are sparse files).
    pub fn runner(&self) -> Option<crate::makemkv::runner::Runner> {
        use crate::makemkv::runner::{Runner, RunnerConfig};
        let found = match &self.makemkvcon {
            Makemkvcon::Found(path, _) => Some(path.as_path()),
            _ => None,
        };
        let command = self.source.makemkvcon(found)?;
        let config = match &self.source {
            Source::Simulated(rig) => rig.runner_config(RunnerConfig::default()),
            Source::Platform => RunnerConfig::default(),
        };
        Some(Runner::new(command, config))
    }

    /// The drive object the daemon would send for this disc once scanned (SPEC §9.1).
    pub fn drive_status(&self) -> Option<DriveStatus> {
        let disc = self.disc.as_ref()?;
        let name = disc.device.strip_prefix("/dev/").unwrap_or(&disc.device);
        let scan = self.scan.as_ref();
        Some(DriveStatus {
            drive_id: format!("{}:{name}", self.daemon_id),
            daemon_id: self.daemon_id.clone(),
            device: disc.device.clone(),
            state: match scan {
                Some(Ok(_)) => DriveState::Scanned,
                _ => DriveState::DiscInserted,
            },
            disc_volume: disc.volume_name.clone(),
            disc_type: disc.medium.map(|m| m.disc_type().to_owned()),
            fingerprint: disc.fingerprint.clone(),
            scan_status: scan.map(|s| match s {
                Ok(_) => ScanStatus::Complete,
                Err(_) => ScanStatus::Failed,
            }),
            scan_result: scan.and_then(|s| s.as_ref().ok()).cloned(),
            scan_error: scan.and_then(|s| s.as_ref().err().map(ToString::to_string)),
            ..DriveStatus::default()
        })
    }

    /// The recording of this session: its description and files, `None` without a
    /// disc or without makemkvcon's output.
    pub fn recording(&self) -> Option<(Recording, Vec<(String, String)>)> {
        let disc = self.disc.as_ref()?;
        let capture = self.capture.as_ref()?.as_ref().ok()?;
        let mut files = vec![
            (super::INFO_FILE.to_owned(), capture.stdout.clone()),
            (
                super::EVENTS_FILE.to_owned(),
                probe::events_jsonl(&self.detected.events),
            ),
        ];
        files.extend(self.files.iter().cloned());
        let recording = Recording {
            format: super::FORMAT,
            amphigory_version: env!("CARGO_PKG_VERSION").to_owned(),
            platform: self.source.platform_name().to_owned(),
            recorded_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            drive: RecordedDrive {
                device: disc.device.clone(),
                model: self
                    .detected
                    .drive(&disc.device)
                    .and_then(|d| d.model.clone()),
            },
            disc: RecordedDisc {
                volume_name: disc.volume_name.clone(),
                disc_type: disc.medium.map(|m| m.disc_type().to_owned()),
                fingerprint: disc.fingerprint.clone(),
            },
            makemkvcon: match &self.makemkvcon {
                Makemkvcon::Found(_, version) => Some(version.clone()),
                Makemkvcon::Simulated => Some("simulated".into()),
                _ => None,
            },
            files: Vec::new(),
        };
        Some((recording, files))
    }
}
