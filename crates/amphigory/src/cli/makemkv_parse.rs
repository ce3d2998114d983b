//! `amphigory makemkv parse FILE|-`: a saved transcript → scan result JSON.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `makemkv parse`.
#[derive(Debug, clap::Args)]
pub struct ParseArgs {
    /// Transcript file, or `-` for standard input.
    pub file: PathBuf,
}

/// Runs the command. (Placeholder: being written.)
pub fn run(_args: &ParseArgs) -> ExitCode {
    ExitCode::FAILURE
}
