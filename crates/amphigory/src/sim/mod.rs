//! The simulated `makemkvcon` (SPEC §9.3): a real child process — this binary run as
//! `amphigory __sim-makemkvcon <makemkvcon's arguments>` — so the runner, the daemon and
//! the demo exercise every code path of the real thing without a drive.
//!
//! - Drives live in the directory named by `AMPHIGORY_SIM_DIR`, one state file each
//!   ([`state`]); [`SimRig`] creates and changes them.
//! - `info <source>` prints the drive list and replays the disc's transcript
//!   ([`transcript`]) with scan progress; `mkv <source> <title> <dir>` prints the rip's
//!   progress life cycle while growing a sparse file named by `TINFO:<title>,27`
//!   ([`rip`]), to the title's size at the drive's rate.
//! - Faults ([`Fault`]) fail the way real drives fail, each once per sim directory.
//! - The simulator dies with its parent (see [`emit`]) and appends its pid to
//!   `<dir>/sim<N>.pid`, so tests can prove that nothing is left running.

pub(crate) mod emit;
pub mod matroska;
pub mod recording;
mod rig;
mod rip;
mod session;
pub mod state;
pub(crate) mod transcript;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The hidden first argument that turns this binary into the simulated `makemkvcon`.
/// Everything after it is exactly what `makemkvcon` itself would receive.
pub const SIM_MAKEMKVCON_ARG: &str = "__sim-makemkvcon";

pub use rig::{SimDrive, SimRig};
pub use state::{Fault, FaultKind, ParseFaultError, SimDriveState};
pub use transcript::{BUILTIN_DISCS, builtin_disc};

/// Environment variable naming the sim directory.
pub const SIM_DIR_ENV: &str = "AMPHIGORY_SIM_DIR";
/// Default read rate of simulated drives, MB/s: a 25 GB main feature in ~12 s.
pub const DEFAULT_RATE_MBPS: f64 = 2000.0;

/// The fingerprint (SPEC §9.4) of a simulated disc: a built-in name or a transcript path.
pub fn disc_fingerprint(disc: &str) -> std::io::Result<String> {
    Ok(transcript::Disc::load(disc)?.fingerprint())
}

/// Runs as `makemkvcon` would, with `args` exactly as makemkvcon receives them.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let Some(dir) = std::env::var_os(SIM_DIR_ENV).map(PathBuf::from) else {
        session::eprintln_quiet(&format!("{SIM_DIR_ENV} is not set"));
        return ExitCode::from(2);
    };
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| !a.starts_with('-'))
        .collect();
    let word = |i: usize| words.get(i).map(String::as_str);
    let outcome = match (word(0), word(1), word(2), word(3)) {
        (Some("info"), source, _, _) => session::info(&dir, source),
        (Some("mkv"), Some(source), Some(title), Some(out_dir)) => {
            rip::mkv(&dir, source, title, std::path::Path::new(out_dir))
        }
        _ => {
            session::println_usage();
            Ok(1)
        }
    };
    match outcome {
        Ok(status) => ExitCode::from(status),
        Err(emit::Halt::ParentGone) => ExitCode::from(1),
        Err(emit::Halt::Io(e)) => {
            let _ = std::io::stdout().flush();
            session::eprintln_quiet(&format!("output failed: {e}"));
            ExitCode::from(1)
        }
    }
}
