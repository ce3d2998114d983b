//! `makemkvcon mkv <source> <title> <dir>`: the save phase of a simulated rip, growing a
//! sparse file at the drive's rate, and the faults that strike at a percentage.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::emit::Halt;
use super::session::{Session, eprintln_quiet};
use super::state::{self, Fault, FaultKind, SimDriveState};
use super::transcript::TitleFacts;

/// Time between two progress lines while saving.
const TICK: Duration = Duration::from_millis(100);
/// Exit status of the `exit@P` fault (a crash, as seen in the wild).
const CRASH_STATUS: u8 = 11;

/// Runs `mkv`; returns the exit status.
pub(super) fn mkv(dir: &Path, source: &str, title: &str, out_dir: &Path) -> Result<u8, Halt> {
    let mut session = Session::open(dir)?;
    let drive = session.resolve(source);
    session.start()?;
    let Some((index, drive)) = drive else {
        session.robot.msg(5010, 0, "Failed to open disc", &[])?;
        session.robot.flush()?;
        return Ok(0);
    };
    let Some(disc) = session.open_disc(index, &drive)? else {
        return Ok(0);
    };
    session.robot.value(0, 0)?;
    session
        .robot
        .total_title(5024, "Saving all titles to MKV files")?;
    let url = format!("file://{}/", out_dir.display());
    session.robot.msg(
        5014,
        131_072,
        "Saving %1 titles into directory %2",
        &["1", &url],
    )?;
    let facts = title.parse().ok().and_then(|n| disc.title(n));
    let Some(facts) = facts else {
        return save_failed(&mut session, title, &url);
    };
    session
        .robot
        .current_title(5057, "Analyzing seamless segments")?;
    for current in [0, 32768, 65536] {
        session.robot.value(current, 0)?;
        session.robot.pause(Duration::from_millis(10))?;
    }
    session.robot.current_title(5017, "Saving to MKV file")?;
    session.robot.value(0, 0)?;
    let name = facts
        .file_name
        .clone()
        .unwrap_or_else(|| format!("title_t{title:0>2}.mkv"));
    let Ok(mut file) = File::create(out_dir.join(&name)) else {
        return save_failed(&mut session, title, &url);
    };
    let header = super::matroska::header(facts.duration_seconds.map_or(0.0, f64::from), facts.size);
    if file.write_all(&header).is_err() {
        return save_failed(&mut session, title, &url);
    }
    if let Some(status) = grow(&mut session, index, &drive, facts, &file)? {
        return Ok(status);
    }
    session.robot.msg(5005, 128, "%1 titles saved", &["1"])?;
    session
        .robot
        .msg(5036, 260, "Copy complete. %1 titles saved.", &["1"])?;
    session.robot.flush()?;
    Ok(0)
}

/// MSG 5003 + 5037, as MakeMKV ends a title it could not save.
fn save_failed(session: &mut Session, title: &str, url: &str) -> Result<u8, Halt> {
    session
        .robot
        .msg(5003, 0, "Failed to save title %1 to file %2", &[title, url])?;
    session.robot.msg(
        5037,
        260,
        "Copy complete. %1 titles saved, %2 failed.",
        &["0", "1"],
    )?;
    session.robot.flush()?;
    Ok(0)
}

/// Grows `file` to the title's size at the drive's rate, printing progress. `Some`
/// exit status when a fault (or an eject) ended the rip early.
fn grow(
    session: &mut Session,
    index: u32,
    drive: &SimDriveState,
    facts: &TitleFacts,
    file: &File,
) -> Result<Option<u8>, Halt> {
    // The header is written first; the file never shrinks below it.
    let header = file.metadata()?.len();
    let size = facts.size.max(header).max(1);
    let rate = (drive.rate_mbps * 1e6).max(1.0);
    let mut fault = drive.fault.filter(|f| f.kind.has_percent());
    let start = Instant::now();
    loop {
        session.robot.pause(TICK)?;
        if !state::read_state(&session.dir, index)
            .map(|s| s.present)
            .unwrap_or(true)
        {
            return ejected(session, facts, 0).map(Some);
        }
        // Saturating float-to-int: a huge rate simply finishes.
        let done = ((start.elapsed().as_secs_f64() * rate) as u64).min(size);
        file.set_len(done.max(header))?;
        let percent = done.saturating_mul(100) / size;
        if let Some(f) = fault.filter(|f| percent >= u64::from(f.percent)) {
            fault = None;
            if state::fire_fault(&session.dir, index)? {
                match f.kind {
                    // The file stops at P % of the title; success is reported anyway.
                    FaultKind::Short => {
                        file.set_len((size / 100 * u64::from(f.percent)).max(header))?;
                        return Ok(None);
                    }
                    FaultKind::Corrupt => {
                        file.write_at(b"JUNK", 0)?;
                    }
                    _ => {
                        if let Some(status) = strike(session, index, drive, facts, f, done)? {
                            return Ok(Some(status));
                        }
                    }
                }
            }
        }
        let value = u32::try_from(done.saturating_mul(65536) / size).unwrap_or(65536);
        session.robot.value(value, value)?;
        if done >= size {
            return Ok(None);
        }
    }
}

/// A fault firing at `offset` bytes into the title: `Some` exit status when it ends the
/// rip.
fn strike(
    session: &mut Session,
    index: u32,
    drive: &SimDriveState,
    facts: &TitleFacts,
    fault: Fault,
    offset: u64,
) -> Result<Option<u8>, Halt> {
    let status = match fault.kind {
        FaultKind::BadSector => {
            let sense = "Scsi error - MEDIUM ERROR:L-EC UNCORRECTABLE ERROR";
            read_errors(session, facts, sense, offset)?;
            return Ok(None);
        }
        FaultKind::Eject => {
            let mut gone = drive.clone();
            gone.present = false;
            state::write_state(&session.dir, index, &gone)?;
            ejected(session, facts, offset)?
        }
        FaultKind::Exit => {
            session.robot.flush()?;
            eprintln_quiet(&format!(
                "internal error at {}% (simulated crash); aborting",
                fault.percent
            ));
            CRASH_STATUS
        }
        FaultKind::NoSpace => {
            session.robot.msg(
                5038,
                776,
                "The output folder has only %1 of free space, but the title needs %2. Do you want to continue anyway?",
                &["1.2 GB", "23.4 GB"],
            )?;
            session.robot.hang()?;
            0
        }
        // They change the file, not the run: `grow` deals with them.
        FaultKind::Corrupt | FaultKind::Short => return Ok(None),
        FaultKind::Stall | FaultKind::Unreadable | FaultKind::Spinup => {
            session.robot.hang()?;
            0
        }
    };
    Ok(Some(status))
}

/// The disc left the drive: read errors, then the title fails.
fn ejected(session: &mut Session, facts: &TitleFacts, offset: u64) -> Result<u8, Halt> {
    let sense = "Scsi error - NOT READY:MEDIUM NOT PRESENT - TRAY OPEN";
    let file = read_errors(session, facts, sense, offset)?;
    save_failed(session, "0", file)
}

/// Three MSG 2003 read errors with this SCSI `sense` from `offset` on, as MakeMKV reports
/// them after its retries; returns the file they name.
fn read_errors<'a>(
    session: &mut Session,
    facts: &'a TitleFacts,
    sense: &str,
    offset: u64,
) -> Result<&'a str, Halt> {
    let file = facts
        .source_file
        .as_deref()
        .unwrap_or("/VIDEO_TS/VTS_01_1.VOB");
    for k in 0..3u64 {
        let at = (offset + k * 6144).to_string();
        session.robot.msg(
            2003,
            0,
            "Error '%1' occurred while reading '%2' at offset '%3'",
            &[sense, file, &at],
        )?;
    }
    Ok(file)
}
