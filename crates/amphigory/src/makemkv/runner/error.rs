//! What a `makemkvcon` run can end in, and its wire error (SPEC §5).

use std::io;
use std::path::PathBuf;

use amphigory_wire::{ErrorCode, TaskError};

/// Why a scan or rip did not produce its result.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The cancellation token fired; the child was stopped and temp files removed. The
    /// caller knows why (user cancel, pause-now, eject, shutdown) and decides the result.
    #[error("the run was cancelled")]
    Cancelled,
    /// makemkvcon could not be started at all.
    #[error("cannot start makemkvcon ({}): {source}", program.display())]
    Spawn {
        /// What was started.
        program: PathBuf,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// The run failed; the code, a sentence for a person, and detail for a developer
    /// (exit status, last MakeMKV messages, stderr tail).
    #[error("{code}: {message}")]
    Failed {
        /// Wire error code.
        code: ErrorCode,
        /// One sentence for a person.
        message: String,
        /// What a developer needs.
        detail: Option<String>,
    },
}

impl RunError {
    /// A failure with `code`.
    pub fn failed(code: ErrorCode, message: impl Into<String>, detail: Option<String>) -> Self {
        Self::Failed {
            code,
            message: message.into(),
            detail,
        }
    }

    /// The wire code: `TASK_CANCELLED` for a cancelled run (callers that know better,
    /// e.g. a pause-now requeue, check [`RunError::is_cancelled`] first).
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Cancelled => ErrorCode::TaskCancelled,
            Self::Spawn { .. } => ErrorCode::MakemkvFailed,
            Self::Failed { code, .. } => *code,
        }
    }

    /// Whether the run stopped because its token fired.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled)
    }

    /// The `{code, message, detail}` object of a failed result.
    pub fn to_task_error(&self) -> TaskError {
        match self {
            Self::Cancelled => TaskError::new(ErrorCode::TaskCancelled, "Cancelled", None),
            Self::Spawn { program, source } => TaskError::new(
                ErrorCode::MakemkvFailed,
                "Could not start makemkvcon",
                Some(format!("{}: {source}", program.display())),
            ),
            Self::Failed {
                code,
                message,
                detail,
            } => TaskError::new(*code, message.clone(), detail.clone()),
        }
    }
}
