//! `enqueue`: the wire's arguments as a task to write. Only daemon tasks (scan, rip),
//! and a rip needs its track and destination.

use amphigory_wire::control::EnqueueArgs;
use amphigory_wire::task::TaskType;

use crate::queue::{NewTask, RipSpec};

/// Why the arguments are not a task the daemon runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum EnqueueError {
    /// No `type`.
    #[error("`type` is required: \"scan\" or \"rip\"")]
    MissingType,
    /// A type the webapp runs, not the daemon.
    #[error("the daemon enqueues only scan and rip tasks, not {0}")]
    NotDaemonTask(String),
    /// A rip without `track`.
    #[error("a rip needs `track` ({{\"number\": N}})")]
    MissingTrack,
    /// A rip without a full `output_info`.
    #[error("a rip needs `output_info` with `directory` and `filename`")]
    MissingOutput,
}

/// The wire arguments as a task to write.
pub(super) fn new_task(args: EnqueueArgs) -> Result<NewTask, EnqueueError> {
    let base = match args.task_type {
        Some(TaskType::Scan) => NewTask::scan(),
        Some(TaskType::Rip) => {
            let track = args.track.ok_or(EnqueueError::MissingTrack)?;
            let output = args.output_info.unwrap_or_default();
            let (Some(directory), Some(filename)) = (output.directory, output.filename) else {
                return Err(EnqueueError::MissingOutput);
            };
            NewTask::rip(RipSpec {
                track: track.number,
                expected_size_bytes: track.expected_size_bytes,
                expected_duration: track.expected_duration,
                directory: directory.into(),
                filename,
            })
        }
        Some(other) => return Err(EnqueueError::NotDaemonTask(other.as_str().to_owned())),
        None => return Err(EnqueueError::MissingType),
    };
    Ok(NewTask {
        drive: args.drive,
        disc_fingerprint: args.disc_fingerprint,
        ..base
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enqueue_arguments_become_tasks() {
        assert_eq!(
            new_task(EnqueueArgs::default()).unwrap_err(),
            EnqueueError::MissingType
        );
        assert!(EnqueueError::MissingType.to_string().contains("type"));
        let scan = new_task(EnqueueArgs {
            task_type: Some(TaskType::Scan),
            drive: Some("sim0".into()),
            ..EnqueueArgs::default()
        })
        .unwrap();
        assert_eq!(scan.drive.as_deref(), Some("sim0"));
        let rip = EnqueueArgs {
            task_type: Some(TaskType::Rip),
            ..EnqueueArgs::default()
        };
        assert!(new_task(rip).unwrap_err().to_string().contains("track"));
        let transcode = EnqueueArgs {
            task_type: Some(TaskType::Transcode),
            ..EnqueueArgs::default()
        };
        let refused = new_task(transcode).unwrap_err().to_string();
        assert!(refused.contains("transcode"), "{refused}");
    }
}
