//! What every simulated run does first — banner, drive scan, `DRV` list, opening the
//! disc (where `unreadable` and `spinup` strike) — and the `info` command.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::emit::{Halt, Robot};
use super::state::{self, FaultKind, SimDriveState};
use super::transcript::Disc;

/// Pause between two progress steps while opening a disc.
const OPEN_STEP: Duration = Duration::from_millis(60);
/// Progress steps while opening a disc.
const OPEN_STEPS: u32 = 10;
/// `DRV` slots MakeMKV always lists.
const DRIVE_SLOTS: u32 = 16;
/// Model of every simulated drive.
const DRIVE_NAME: &str = "BD-RE AMPHIGORY SIMDRIVE 1.00";

/// One simulated makemkvcon run against the drives of a sim directory.
pub(super) struct Session {
    pub(super) dir: PathBuf,
    drives: Vec<(u32, SimDriveState)>,
    pub(super) robot: Robot,
}

impl Session {
    pub(super) fn open(dir: &Path) -> std::io::Result<Self> {
        Ok(Self {
            dir: dir.to_owned(),
            drives: state::read_all(dir)?,
            robot: Robot::new(),
        })
    }

    /// The drive `dev:/dev/simN` or `disc:N` names, and records this process's pid for it.
    pub(super) fn resolve(&self, source: &str) -> Option<(u32, SimDriveState)> {
        let found = if let Some(device) = source.strip_prefix("dev:") {
            self.drives.iter().find(|(_, d)| d.device == device)
        } else {
            let index: u32 = source.strip_prefix("disc:")?.parse().ok()?;
            self.drives.iter().find(|(i, _)| *i == index)
        };
        let (index, drive) = found?;
        if let Err(e) = state::record_pid(&self.dir, *index) {
            eprintln_quiet(&format!("cannot record the pid: {e}"));
        }
        Some((*index, drive.clone()))
    }

    /// Banner, the drive scan with its progress, and the 16 `DRV` lines.
    pub(super) fn start(&mut self) -> Result<(), Halt> {
        let version = "MakeMKV v1.18.1 amphigory-sim";
        self.robot.msg(1005, 0, "%1 started", &[version])?;
        self.robot.total_title(5018, "Scanning CD-ROM devices")?;
        self.robot.current_title(5018, "Scanning CD-ROM devices")?;
        self.robot.value(0, 0)?;
        self.robot.value(65536, 0)?;
        self.robot.value(65536, 65536)?;
        let slots = self
            .drives
            .iter()
            .map(|(i, _)| i + 1)
            .max()
            .unwrap_or(0)
            .max(DRIVE_SLOTS);
        for slot in 0..slots {
            let line = match self.drives.iter().find(|(i, _)| *i == slot) {
                Some((_, drive)) => drive_line(slot, drive),
                None => format!(r#"DRV:{slot},256,999,0,"","","""#),
            };
            self.robot.line(&line)?;
        }
        self.robot.value(0, 0)
    }

    /// Opens the disc in `drive`, printing what MakeMKV prints while it does. `None`
    /// when it cannot be opened: MSG 5010 and `TCOUNT:0` were printed (exit status 0).
    pub(super) fn open_disc(
        &mut self,
        index: u32,
        drive: &SimDriveState,
    ) -> Result<Option<Disc>, Halt> {
        let fault = drive.fault.map(|f| f.kind);
        let refuse = !drive.present
            || fault == Some(FaultKind::Unreadable)
            || (fault == Some(FaultKind::Spinup) && state::fire_fault(&self.dir, index)?);
        let disc = match (&drive.disc, refuse) {
            (Some(spec), false) => Disc::load(spec)
                .map_err(|e| eprintln_quiet(&e.to_string()))
                .ok(),
            _ => None,
        };
        let Some(disc) = disc else {
            self.robot.msg(5010, 0, "Failed to open disc", &[])?;
            self.robot.line("TCOUNT:0")?;
            self.robot.flush()?;
            return Ok(None);
        };
        self.robot
            .msg(3007, 0, "Using direct disc access mode", &[])?;
        let kind = if disc.is_bluray() { "Blu-ray" } else { "DVD" };
        self.robot
            .total_title(3404, &format!("Opening {kind} disc"))?;
        self.robot.current_title(3400, "Processing AV clips")?;
        let opening = disc.opening_lines();
        let per_step = opening.len().div_ceil(OPEN_STEPS as usize).max(1);
        let mut chunks = opening.chunks(per_step);
        for step in 1..=OPEN_STEPS {
            if step == OPEN_STEPS / 2 {
                self.robot.current_title(3103, "Processing titles")?;
            }
            for line in chunks.next().unwrap_or_default() {
                self.robot.line(line)?;
            }
            let total = step * 65536 / OPEN_STEPS;
            self.robot.value(65536, total)?;
            self.robot.pause(OPEN_STEP)?;
        }
        self.robot
            .msg(5011, 0, "Operation successfully completed", &[])?;
        Ok(Some(disc))
    }
}

/// `DRV:` line of a simulated drive: state 2 with the disc's name, or 0 when empty.
fn drive_line(slot: u32, drive: &SimDriveState) -> String {
    let disc = drive
        .present
        .then(|| drive.disc.as_deref().and_then(|d| Disc::load(d).ok()))
        .flatten();
    let (state, flags, name) = match &disc {
        Some(d) => (
            2,
            if d.is_bluray() { 12 } else { 1 },
            d.volume_name().unwrap_or(""),
        ),
        None => (0, 0, ""),
    };
    let q = super::emit::quote;
    format!(
        "DRV:{slot},{state},999,{flags},{},{},{}",
        q(DRIVE_NAME),
        q(name),
        q(&drive.device)
    )
}

/// `makemkvcon info <source>`: the drive list, then the disc's title listing.
pub(super) fn info(dir: &Path, source: Option<&str>) -> Result<u8, Halt> {
    let mut session = Session::open(dir)?;
    let drive = source.and_then(|s| session.resolve(s));
    session.start()?;
    let Some((index, drive)) = drive else {
        if source.is_none() {
            session.robot.flush()?;
            println_usage();
            return Ok(1);
        }
        session.robot.msg(5010, 0, "Failed to open disc", &[])?;
        session.robot.line("TCOUNT:0")?;
        session.robot.flush()?;
        return Ok(0);
    };
    if let Some(disc) = session.open_disc(index, &drive)? {
        for line in disc.listing_lines() {
            session.robot.line(line)?;
        }
    }
    session.robot.flush()?;
    Ok(0)
}

/// makemkvcon's plain-text usage, which it prints on the robot stream too.
pub(super) fn println_usage() {
    use std::io::Write;
    let usage = "Use: makemkvcon [switches] Command [Parameters]\n\n\
                 Commands:\n  info <source>\n      prints info about disc\n  \
                 mkv <source> <title id> <destination folder>\n      saves a single title to mkv file\n";
    let _ = std::io::stdout().write_all(usage.as_bytes());
}

/// A line on stderr; a closed stderr is not worth failing for.
pub(super) fn eprintln_quiet(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "makemkvcon (simulated): {message}");
}
