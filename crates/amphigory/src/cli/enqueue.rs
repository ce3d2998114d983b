//! `amphigory enqueue scan|rip …`: writes a task into the queue directory exactly as the
//! webapp does (queued file first, then `tasks.json`), for headless use and scripts.

use std::path::PathBuf;
use std::process::ExitCode;

use amphigory_wire::control::TaskIdReply;

use crate::queue::{NewTask, Queue, RipSpec};

/// Options of `amphigory enqueue`.
#[derive(Debug, Clone, clap::Args)]
pub struct EnqueueArgs {
    /// What to enqueue.
    #[command(subcommand)]
    pub what: EnqueueWhat,
    /// The queue directory.
    #[arg(long, global = true, env = "AMPHIGORY_TASKS_DIR")]
    pub tasks_dir: Option<PathBuf>,
    /// Print `{"task_id": …}` instead of the bare id.
    #[arg(long, global = true)]
    pub json: bool,
}

/// `scan` or `rip`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum EnqueueWhat {
    /// Scan the disc in a drive.
    Scan {
        /// Target drive (id or device) when there are several.
        #[arg(long)]
        drive: Option<String>,
    },
    /// Rip one title.
    Rip {
        /// MakeMKV title index.
        #[arg(long)]
        track: u32,
        /// Full output path (directory and file name).
        #[arg(long, conflicts_with_all = ["output_dir", "filename"])]
        output: Option<PathBuf>,
        /// Output directory.
        #[arg(long, requires = "filename")]
        output_dir: Option<PathBuf>,
        /// Output file name.
        #[arg(long, requires = "output_dir")]
        filename: Option<String>,
        /// Expected size in bytes (enables the free-space check and verification).
        #[arg(long)]
        expected_size: Option<u64>,
        /// Fingerprint of the disc the title is on.
        #[arg(long)]
        fingerprint: Option<String>,
        /// Target drive (id or device).
        #[arg(long)]
        drive: Option<String>,
    },
}

/// Runs the command.
pub fn run(args: &EnqueueArgs) -> ExitCode {
    let Some(tasks_dir) = args.tasks_dir.clone() else {
        eprintln!(
            "amphigory enqueue: no queue directory: pass --tasks-dir or set AMPHIGORY_TASKS_DIR"
        );
        return ExitCode::from(super::EXIT_USAGE);
    };
    let task = match new_task(&args.what) {
        Ok(task) => task,
        Err(message) => {
            eprintln!("amphigory enqueue: {message}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    let written = write_task(&tasks_dir, &task);
    match written {
        Ok(id) if args.json => {
            // The shape of the control socket's `enqueue` reply (without `ok`).
            match serde_json::to_string(&TaskIdReply { task_id: id }) {
                Ok(line) => println!("{line}"),
                Err(e) => eprintln!("amphigory enqueue: {e}"),
            }
            ExitCode::SUCCESS
        }
        Ok(id) => {
            println!("{id}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("amphigory enqueue: {}: {e}", tasks_dir.display());
            ExitCode::FAILURE
        }
    }
}

/// Why the flags are not a task (a usage error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum TaskArgsError {
    /// `--output` without a file name.
    #[error("--output must end in a file name")]
    OutputFileName,
    /// `--output` without a directory.
    #[error("--output must have a directory")]
    OutputDirectory,
    /// Neither `--output` nor both `--output-dir` and `--filename`.
    #[error("a rip needs --output, or --output-dir and --filename")]
    NoOutput,
}

/// Writes `task` as the webapp would. Needs no daemon state: a throw-away state
/// directory keeps the queue handle's invariants without touching the daemon's own.
fn write_task(tasks_dir: &std::path::Path, task: &NewTask) -> anyhow::Result<String> {
    let state = tempfile::tempdir()?;
    let queue = Queue::open(tasks_dir, state.path(), "amphigory-cli")?;
    Ok(queue.enqueue(task)?)
}

fn new_task(what: &EnqueueWhat) -> Result<NewTask, TaskArgsError> {
    match what {
        EnqueueWhat::Scan { drive } => Ok(NewTask {
            drive: drive.clone(),
            ..NewTask::scan()
        }),
        EnqueueWhat::Rip {
            track,
            output,
            output_dir,
            filename,
            expected_size,
            fingerprint,
            drive,
        } => {
            let (dir, file) = match (output, output_dir, filename) {
                (Some(path), _, _) => {
                    let file = path.file_name().ok_or(TaskArgsError::OutputFileName)?;
                    let dir = path.parent().ok_or(TaskArgsError::OutputDirectory)?;
                    (dir.to_owned(), file.to_string_lossy().into_owned())
                }
                (None, Some(dir), Some(file)) => (dir.clone(), file.clone()),
                _ => return Err(TaskArgsError::NoOutput),
            };
            let spec = RipSpec {
                track: *track,
                expected_size_bytes: *expected_size,
                expected_duration: None,
                directory: dir,
                filename: file,
            };
            Ok(NewTask {
                drive: drive.clone(),
                disc_fingerprint: fingerprint.clone(),
                ..NewTask::rip(spec)
            })
        }
    }
}
