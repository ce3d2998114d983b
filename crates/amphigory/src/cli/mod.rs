//! The `amphigory` command line (SPEC §2): argument parsing and dispatch. Each command's
//! work lives in its own module; errors become exit codes here and nowhere else.

mod makemkv_parse;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code for usage or configuration errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code when another daemon owns the socket or lock.
pub const EXIT_ALREADY_RUNNING: u8 = 3;

/// The hidden first argument that turns this binary into the simulated `makemkvcon`.
/// Everything after it is exactly what `makemkvcon` itself would receive.
pub const SIM_MAKEMKVCON_ARG: &str = "__sim-makemkvcon";

/// Amphigory host daemon: rips optical discs with MakeMKV for the Amphigory webapp.
#[derive(Debug, Parser)]
#[command(name = "amphigory", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// MakeMKV tools.
    Makemkv {
        /// Which tool.
        #[command(subcommand)]
        command: MakemkvCommand,
    },
}

/// `amphigory makemkv …`.
#[derive(Debug, Subcommand)]
pub enum MakemkvCommand {
    /// Parse a saved `makemkvcon -r info` transcript and print the scan result.
    Parse(makemkv_parse::ParseArgs),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let _program = args.next();
    let rest: Vec<_> = args.collect();
    if rest.first().is_some_and(|a| a == SIM_MAKEMKVCON_ARG) {
        return crate::sim::main(rest.into_iter().skip(1).collect());
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Makemkv {
            command: MakemkvCommand::Parse(args),
        } => makemkv_parse::run(&args),
    }
}
