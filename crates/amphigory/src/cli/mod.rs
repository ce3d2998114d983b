//! The `amphigory` command line (SPEC §2): argument parsing and dispatch. Each command's
//! work lives in its own module; errors become exit codes here and nowhere else.

mod client;
mod control_cmds;
mod control_print;
mod daemon;
mod demo;
mod doctor;
mod enqueue;
mod exit;
mod generate;
mod history;
mod logging;
mod makemkv_parse;
mod progress_view;
mod record;
mod selftest;
mod service;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

/// Exit code for usage or configuration errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code when another daemon owns the socket or lock.
pub const EXIT_ALREADY_RUNNING: u8 = 3;

pub use crate::sim::SIM_MAKEMKVCON_ARG;
pub use exit::ToExitCode;

/// Amphigory host daemon: rips optical discs with MakeMKV for the Amphigory webapp.
#[derive(Debug, Parser)]
#[command(name = "amphigory", version, about, propagate_version = true)]
pub struct Cli {
    /// The daemon's control socket [default: $AMPHIGORY_SOCKET, else
    /// $XDG_RUNTIME_DIR/amphigory/daemon.sock, else ~/.config/amphigory/daemon.sock].
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground.
    Daemon(daemon::DaemonArgs),
    /// The whole flow on a simulated drive in a fresh temporary directory.
    Demo(demo::DemoArgs),
    /// Check makemkvcon, the configuration, the queue directory, the webapp and free
    /// space; say what to fix.
    Doctor(doctor::DoctorArgs),
    /// Write a scan or rip task into the queue exactly as the webapp would.
    Enqueue(enqueue::EnqueueArgs),
    /// The tasks the daemon finished, and per drive the average read speed by disc type
    /// and the failures (from history.jsonl; no daemon needed).
    History(history::HistoryArgs),
    /// Talk to the running daemon: status, watch, queue, pause, resume, cancel, drives,
    /// label, eject, stop.
    #[command(flatten)]
    Control(control_cmds::ControlCommand),
    /// MakeMKV tools.
    Makemkv {
        /// Which tool.
        #[command(subcommand)]
        command: MakemkvCommand,
    },
    /// Run the daemon as a service of your session: started at login, restarted if it
    /// fails (launchd on macOS, systemd on Linux).
    Service {
        /// install [--dry-run], uninstall or status.
        #[command(subcommand)]
        command: service::ServiceCommand,
    },
    /// First contact with a real drive: detect it, fingerprint and scan the disc, show
    /// what the daemon would send, write a report file. Rips only with --rip, ejects
    /// only with --eject.
    Selftest(selftest::SelftestArgs),
    /// Save a real session (makemkvcon's output, disc events, drive facts; serial
    /// numbers removed) into DIR, for `--simulate DIR` to replay.
    Record(record::RecordArgs),
    /// Shell completions and man pages from these definitions (for packagers).
    #[command(hide = true)]
    Generate {
        /// What to make.
        #[command(subcommand)]
        command: generate::GenerateCommand,
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
        Command::Daemon(args) => daemon::run(daemon::DaemonArgs {
            socket: cli.socket,
            ..args
        }),
        Command::Control(command) => control_cmds::run(command, cli.socket.as_deref()),
        Command::Demo(args) => demo::run(&args),
        Command::Doctor(args) => doctor::run(&args),
        Command::Enqueue(args) => enqueue::run(&args),
        Command::History(args) => history::run(&args),
        Command::Makemkv {
            command: MakemkvCommand::Parse(args),
        } => makemkv_parse::run(&args),
        Command::Service { command } => service::run(&command, cli.socket.as_deref()),
        Command::Generate { command } => generate::run(&command),
        Command::Selftest(args) => selftest::run(&args),
        Command::Record(args) => record::run(&args),
    }
}

/// Logs to stderr at `level` (a level name or a full tracing filter); `RUST_LOG` wins.
pub(crate) fn init_logging(level: &str) {
    logging::to_stderr(level);
}

/// The runtime every async command runs on: one worker thread. The daemon waits on
/// drives, files and sockets; a second worker bought nothing measurable (pickup, fan-out
/// to 100 clients, `watch`) and cost its stack and allocator arena in resident memory.
/// The main thread stays free for the tray.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
}

/// A root cancellation token cancelled by SIGINT or SIGTERM. Must be called inside the
/// runtime.
pub(crate) fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("signal received, shutting down");
        trigger.cancel();
    });
    token
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
