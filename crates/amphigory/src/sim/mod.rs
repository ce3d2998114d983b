//! The simulated `makemkvcon` (SPEC §9.3). (Placeholder: being written.)

use std::ffi::OsString;
use std::process::ExitCode;

/// Runs as `makemkvcon` would, with `args` exactly as makemkvcon receives them.
pub fn main(_args: Vec<OsString>) -> ExitCode {
    ExitCode::FAILURE
}
