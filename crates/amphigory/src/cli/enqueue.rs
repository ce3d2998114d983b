//! `amphigory enqueue scan|rip …`: writes a task into the queue directory exactly as the
//! webapp does (queued file first, then `tasks.json`), for headless use and scripts.

use std::path::PathBuf;
use std::process::ExitCode;

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
    // Writing a task needs no daemon state; a throw-away state directory keeps the
    // queue handle's invariants without touching the daemon's own.
    let written = tempfile::tempdir()
        .map_err(|e| e.to_string())
        .and_then(|state| {
            let queue = Queue::open(&tasks_dir, state.path(), "amphigory-cli")
                .map_err(|e| e.to_string())?;
            queue.enqueue(&task).map_err(|e| e.to_string())
        });
    match written {
        Ok(id) if args.json => {
            println!("{}", serde_json::json!({ "task_id": id }));
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

fn new_task(what: &EnqueueWhat) -> Result<NewTask, String> {
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
                    let file = path.file_name().ok_or("--output must end in a file name")?;
                    let dir = path.parent().ok_or("--output must have a directory")?;
                    (dir.to_owned(), file.to_string_lossy().into_owned())
                }
                (None, Some(dir), Some(file)) => (dir.clone(), file.clone()),
                _ => return Err("a rip needs --output, or --output-dir and --filename".into()),
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
