//! `amphigory service install [--dry-run] | uninstall | status` (SPEC §11.3): finds the
//! binary to start and any daemon already answering on the control socket, then lets
//! [`crate::service`] do the work and prints what it says.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use crate::service::{self, Manager, Platform, RunningDaemon, ServiceError, ServiceSpec};

/// `amphigory service …`.
#[derive(Debug, Clone, Subcommand)]
pub enum ServiceCommand {
    /// Install the daemon as a service of the user's session (launchd LaunchAgent on
    /// macOS, systemd user unit on Linux) and start it.
    Install {
        /// Print the file and the commands instead of writing and running them.
        #[arg(long)]
        dry_run: bool,
        /// Render for this platform's manager (tests; with --dry-run).
        #[arg(long, hide = true, value_enum)]
        os: Option<Platform>,
    },
    /// Stop the service, disable it and remove its file.
    Uninstall {
        /// Use this platform's manager (tests).
        #[arg(long, hide = true, value_enum)]
        os: Option<Platform>,
    },
    /// Say whether the service is installed, loaded and running.
    Status {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Use this platform's manager (tests).
        #[arg(long, hide = true, value_enum)]
        os: Option<Platform>,
    },
}

/// Runs the command; `socket` is the global `--socket`.
pub fn run(command: &ServiceCommand, socket: Option<&Path>) -> ExitCode {
    match try_run(command, socket) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("amphigory service: {e}");
            ExitCode::FAILURE
        }
    }
}

fn try_run(command: &ServiceCommand, socket: Option<&Path>) -> Result<ExitCode, ServiceError> {
    let env = |name: &str| std::env::var_os(name);
    let platform = match command {
        ServiceCommand::Install { os, .. }
        | ServiceCommand::Uninstall { os }
        | ServiceCommand::Status { os, .. } => os.unwrap_or_else(Platform::current),
    };
    let manager = platform.manager(&env)?;
    match command {
        ServiceCommand::Install { dry_run: true, .. } => dry_run(manager.as_ref(), &spec()?),
        ServiceCommand::Install { dry_run: false, .. } => {
            let running = running_daemon(socket);
            let outcome = service::install(manager.as_ref(), &spec()?, running.as_ref())?;
            Ok(print(&outcome))
        }
        ServiceCommand::Uninstall { .. } => Ok(print(&service::uninstall(manager.as_ref())?)),
        ServiceCommand::Status { json, .. } => {
            let report = service::status(manager.as_ref(), running_daemon(socket).as_ref());
            if *json {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                println!("{}", report.to_text());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The file on stdout (so it can be checked as it is), where it would go and the commands
/// on stderr.
fn dry_run(manager: &dyn Manager, spec: &ServiceSpec) -> Result<ExitCode, ServiceError> {
    let contents = manager.render(spec)?;
    print!("{}", String::from_utf8_lossy(&contents));
    eprintln!(
        "Would write {} (above) and then run:",
        manager.definition_path().display()
    );
    for command in manager.load_commands() {
        eprintln!("  {command}");
    }
    Ok(ExitCode::SUCCESS)
}

fn print(outcome: &service::Outcome) -> ExitCode {
    if outcome.finished {
        println!("{}", outcome.text.trim_end());
    } else {
        eprintln!("{}", outcome.text.trim_end());
    }
    ExitCode::from(super::ToExitCode::exit_code(outcome))
}

/// The binary the service starts: this one, by the stable path it was called by.
fn spec() -> Result<ServiceSpec, ServiceError> {
    let exe = std::env::current_exe().map_err(ServiceError::NoBinary)?;
    let argv0 = std::env::args_os().next();
    let path = std::env::var_os("PATH");
    let binary = service::binary_path(&exe, argv0.as_deref(), path.as_deref());
    warn_if_temporary(&binary);
    Ok(ServiceSpec { binary })
}

/// A binary inside a cargo `target/` folder goes away with `cargo clean`: say so.
fn warn_if_temporary(binary: &Path) {
    let in_target = binary.components().any(|c| c.as_os_str() == "target")
        && binary
            .components()
            .any(|c| c.as_os_str() == "debug" || c.as_os_str() == "release");
    if in_target {
        eprintln!(
            "note: the service will start {}, a build output that `cargo clean` removes; \
             `cargo install --path crates/amphigory` gives a lasting one",
            binary.display()
        );
    }
}

/// A daemon answering on the control socket: its pid (from the pid file beside the
/// socket) and command line.
fn running_daemon(socket: Option<&Path>) -> Option<RunningDaemon> {
    let path = crate::servers::control::socket_path(socket).ok()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let answers = runtime.block_on(async { super::client::Client::connect(&path).await.is_ok() });
    if !answers {
        return None;
    }
    let pid =
        crate::servers::control::bind::read_pid(&crate::servers::control::path::pid_path(&path));
    Some(RunningDaemon {
        pid,
        command: pid.and_then(command_line),
        socket: path,
    })
}

/// A process's command line: `/proc` on Linux, `ps` elsewhere.
fn command_line(pid: u32) -> Option<String> {
    let proc_file = PathBuf::from(format!("/proc/{pid}/cmdline"));
    if let Ok(bytes) = std::fs::read(&proc_file) {
        let words: Vec<String> = bytes
            .split(|b| *b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        return (!words.is_empty()).then(|| words.join(" "));
    }
    let out = std::process::Command::new("ps")
        .args(["-o", "command=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}
