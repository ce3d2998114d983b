//! The commands that talk to a running daemon over the control socket (SPEC §2, §8):
//! `status`, `watch`, `queue`, `pause`, `resume`, `cancel`, `drives`, `label`, `eject`,
//! `stop`. Each sends one request and prints the answer, as a table for a person or, with
//! `--json`, as the daemon's JSON (one line); `watch` streams (see `watch`).
//!
//! Exit codes: 0 done; 1 the daemon is not running, speaks another protocol, or refused
//! (its message is printed); 2 usage errors.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use amphigory_wire::control::{ControlRequest, ControlResponse};
use clap::Subcommand;

use super::client::{Client, ClientError, parse_reply};
use super::control_print as print;
use super::watch::{self, WatchArgs};

/// How long `stop` waits for the daemon to close the connection.
const STOP_WAIT: Duration = Duration::from_secs(30);
/// How long a one-shot command waits for its answer (engine commands take at most 5 s).
const ANSWER_WAIT: Duration = Duration::from_secs(30);

/// `--json`, on every command.
#[derive(Debug, Clone, clap::Args)]
pub struct JsonArg {
    /// Print the daemon's answer as one line of JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `pause`.
#[derive(Debug, Clone, clap::Args)]
pub struct PauseArgs {
    /// Stop the running task now, remove its partial output and put it back at the head
    /// of the queue.
    #[arg(long)]
    pub now: bool,
    /// Print the daemon's answer as one line of JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `cancel`.
#[derive(Debug, Clone, clap::Args)]
pub struct CancelArgs {
    /// The task (default: the running one, when only one runs).
    pub task: Option<String>,
    /// Print the daemon's answer as one line of JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `label`.
#[derive(Debug, Clone, clap::Args)]
pub struct LabelArgs {
    /// Drive id, device (`/dev/sr0`) or device name (`sr0`).
    pub drive: String,
    /// The label; an empty string removes it.
    pub name: String,
    /// Print the daemon's answer as one line of JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `eject`.
#[derive(Debug, Clone, clap::Args)]
pub struct EjectArgs {
    /// Drive id, device or device name (default: the only drive).
    pub drive: Option<String>,
    /// Print the daemon's answer as one line of JSON.
    #[arg(long)]
    pub json: bool,
}

/// The control commands, flattened into the top-level command list.
#[derive(Debug, Subcommand)]
pub enum ControlCommand {
    /// Daemon, drives, running tasks, queue depth, pause state.
    Status(JsonArg),
    /// Live progress bars (or `--json` event lines) until interrupted.
    Watch(WatchArgs),
    /// Tasks in queue order with their state.
    Queue(JsonArg),
    /// Pause the queue after the current task (or `--now`).
    Pause(PauseArgs),
    /// Resume the queue.
    Resume(JsonArg),
    /// Stop a running task (TASK_CANCELLED) or remove a queued one.
    Cancel(CancelArgs),
    /// The drives, with their labels and discs.
    Drives(JsonArg),
    /// Give a drive a persistent human name.
    Label(LabelArgs),
    /// Eject the disc from a drive.
    Eject(EjectArgs),
    /// Ask the running daemon to shut down cleanly.
    Stop(JsonArg),
}

impl ControlCommand {
    fn name(&self) -> &'static str {
        match self {
            Self::Status(_) => "status",
            Self::Watch(_) => "watch",
            Self::Queue(_) => "queue",
            Self::Pause(_) => "pause",
            Self::Resume(_) => "resume",
            Self::Cancel(_) => "cancel",
            Self::Drives(_) => "drives",
            Self::Label(_) => "label",
            Self::Eject(_) => "eject",
            Self::Stop(_) => "stop",
        }
    }

    fn json(&self) -> bool {
        match self {
            Self::Status(a) | Self::Queue(a) | Self::Resume(a) | Self::Drives(a) => a.json,
            Self::Stop(a) => a.json,
            Self::Watch(a) => a.json,
            Self::Pause(a) => a.json,
            Self::Cancel(a) => a.json,
            Self::Label(a) => a.json,
            Self::Eject(a) => a.json,
        }
    }

    /// The request of a one-shot command (`None` for `watch`).
    fn request(&self) -> Option<ControlRequest> {
        Some(match self {
            Self::Status(_) => ControlRequest::Status,
            Self::Watch(_) => return None,
            Self::Queue(_) => ControlRequest::Tasks,
            Self::Pause(a) => ControlRequest::Pause { now: a.now },
            Self::Resume(_) => ControlRequest::Resume,
            Self::Cancel(a) => ControlRequest::Cancel {
                task_id: a.task.clone(),
            },
            Self::Drives(_) => ControlRequest::Drives,
            Self::Label(a) => ControlRequest::Label {
                drive_id: a.drive.clone(),
                label: a.name.clone(),
            },
            Self::Eject(a) => ControlRequest::Eject {
                drive_id: a.drive.clone(),
            },
            Self::Stop(_) => ControlRequest::Stop,
        })
    }
}

/// Runs a control command against the daemon at `socket` (or the default socket).
pub fn run(command: ControlCommand, socket: Option<&Path>) -> ExitCode {
    let name = command.name();
    let json = command.json();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let outcome = match runtime {
        Ok(runtime) => runtime.block_on(execute(command, socket)),
        Err(e) => Err(ClientError::Protocol(format!(
            "cannot start the runtime: {e}"
        ))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                // The same shape as the daemon's own refusals, so scripts read one.
                let refusal = ControlResponse::err(e.to_string());
                if let Ok(line) = serde_json::to_string(&refusal) {
                    println!("{line}");
                }
            }
            eprintln!("amphigory {name}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

async fn execute(command: ControlCommand, socket: Option<&Path>) -> Result<(), ClientError> {
    let path = crate::servers::control::socket_path(socket)?;
    let Some(request) = command.request() else {
        return match command {
            ControlCommand::Watch(args) => watch::run(&path, &args).await,
            _ => Ok(()),
        };
    };
    let mut client = Client::connect(&path).await?;
    let line = tokio::time::timeout(ANSWER_WAIT, client.request_line(&request))
        .await
        .map_err(|_| ClientError::Protocol(format!("no answer within {ANSWER_WAIT:?}")))??;
    if command.json() {
        // The daemon's answer as it sent it: one line of JSON, `ok` first.
        println!("{line}");
    } else if let Some(text) = human(&command, &line)? {
        println!("{text}");
    }
    if matches!(command, ControlCommand::Stop(_)) {
        wait_until_closed(&mut client, command.json()).await;
    }
    Ok(())
}

/// The answer `line` to `command`, read as its reply type, for a person; `None` for
/// the commands that print nothing of it.
fn human(command: &ControlCommand, line: &str) -> Result<Option<String>, ClientError> {
    Ok(Some(match command {
        ControlCommand::Status(_) => print::status(&parse_reply(line)?),
        ControlCommand::Queue(_) => print::tasks(&parse_reply(line)?),
        ControlCommand::Drives(_) => print::drives(&parse_reply(line)?),
        ControlCommand::Pause(_) => print::paused(&parse_reply(line)?),
        ControlCommand::Resume(_) => print::resumed(&parse_reply(line)?),
        ControlCommand::Cancel(_) => print::cancelled(&parse_reply(line)?),
        ControlCommand::Label(_) => print::labelled(&parse_reply(line)?),
        ControlCommand::Eject(_) => print::ejected(&parse_reply(line)?),
        ControlCommand::Stop(_) | ControlCommand::Watch(_) => return Ok(None),
    }))
}

/// After `stop`: the daemon closes every connection as its shutdown begins.
async fn wait_until_closed(client: &mut Client, json: bool) {
    let closed = async { while let Ok(Some(_)) = client.next_line().await {} };
    let done = tokio::time::timeout(STOP_WAIT, closed).await.is_ok();
    if !json {
        if done {
            println!("The daemon is shutting down.");
        } else {
            println!("Asked the daemon to stop; it is still finishing its work.");
        }
    }
}
