//! Exit codes (SPEC §2), mapped from the typed errors of the layers below and nowhere
//! else: the modules below `cli` say what went wrong, only the command line says how the
//! process ends.

use crate::config::ConfigError;
use crate::daemon::DaemonError;
use crate::servers::control::BindError;
use crate::service::Outcome;

use super::{EXIT_ALREADY_RUNNING, EXIT_USAGE};

/// The process exit code an outcome or error ends a command with.
pub trait ToExitCode {
    /// The exit code per SPEC §2.
    fn exit_code(&self) -> u8;
}

impl ToExitCode for ConfigError {
    /// Configuration errors are usage errors.
    fn exit_code(&self) -> u8 {
        EXIT_USAGE
    }
}

impl ToExitCode for DaemonError {
    fn exit_code(&self) -> u8 {
        match self {
            Self::Sim(_) => EXIT_USAGE,
            Self::Queue { .. } | Self::StateDir { .. } | Self::Listen(_) => 1,
            Self::Control(BindError::AlreadyRunning { .. }) => EXIT_ALREADY_RUNNING,
            Self::Control(_) => 1,
        }
    }
}

impl ToExitCode for Outcome {
    /// 0 done (or nothing to do), 1 not finished.
    fn exit_code(&self) -> u8 {
        u8::from(!self.finished)
    }
}
