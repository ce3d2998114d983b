//! Ejecting a disc (`amphigory eject`, the control socket's `eject`), behind the drive
//! monitor that found it: [`super::DriveMonitor::ejector`]. Real drives are ejected with
//! the platform's command (`diskutil eject`, then `drutil eject`, on macOS; `eject DEVICE`
//! on Linux); simulated drives take the disc out of their rig (`super::simulated`).
//! Either way detection reports the disc leaving, and the engine does the rest (a task
//! running there fails with `DISC_EJECTED`, the drive shows empty, the `disc ejected`
//! event), exactly as when someone presses the drive's button.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

/// How long a platform eject command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a disc could not be ejected.
#[derive(Debug, thiserror::Error)]
pub enum EjectError {
    /// The simulated drive's state could not be changed.
    #[error("cannot eject simulated drive {device}: {source}")]
    Sim {
        /// Device path.
        device: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Every platform command failed; the message lists each one's error.
    #[error("cannot eject {device}: {detail}")]
    Command {
        /// Device path.
        device: String,
        /// What each command said.
        detail: String,
    },
    /// No eject command is known for this platform.
    #[error("ejecting discs is not supported on this platform")]
    Unsupported,
}

/// Why one platform eject command failed.
#[derive(Debug, thiserror::Error)]
enum CommandError {
    /// It did not finish in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// It could not be started.
    #[error("{0}")]
    Spawn(#[from] std::io::Error),
    /// It ran and failed, saying why (its stderr, else stdout).
    #[error("{status} ({said})")]
    Failed {
        /// Its exit status.
        status: ExitStatus,
        /// What it said.
        said: String,
    },
}

/// What an eject returns: boxed so drive monitors can hand out `dyn` ejecters.
pub type EjectFuture<'a> = Pin<Box<dyn Future<Output = Result<(), EjectError>> + Send + 'a>>;

/// One way of ejecting discs, provided by a drive monitor.
pub trait Eject: Send + Sync + fmt::Debug {
    /// Ejects the disc in `device` (drive `drive_id`).
    fn eject<'a>(&'a self, drive_id: &'a str, device: &'a str) -> EjectFuture<'a>;
}

/// Ejects discs; one per daemon, shared by whoever asks (the engine, the control socket).
#[derive(Debug, Clone)]
pub struct Ejector(Arc<dyn Eject>);

impl Ejector {
    /// An ejector that uses `how`.
    pub fn new(how: impl Eject + 'static) -> Self {
        Self(Arc::new(how))
    }

    /// The platform's eject command, for real drives.
    pub fn platform() -> Self {
        Self::new(PlatformEject)
    }

    /// Ejects the disc in `device` (drive `drive_id`).
    pub async fn eject(&self, drive_id: &str, device: &str) -> Result<(), EjectError> {
        self.0.eject(drive_id, device).await
    }
}

/// Real drives: the platform's eject commands.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlatformEject;

impl Eject for PlatformEject {
    fn eject<'a>(&'a self, _drive_id: &'a str, device: &'a str) -> EjectFuture<'a> {
        Box::pin(platform_eject(device))
    }
}

/// The commands to try, in order, for a real drive.
fn eject_commands(device: &str) -> Vec<(&'static str, Vec<String>)> {
    if cfg!(target_os = "macos") {
        // diskutil wants the block device; drutil knows only "the" drive, so it is the
        // fallback for single-drive Macs where diskutil refuses (no mounted media).
        let disk = device.replacen("/dev/rdisk", "/dev/disk", 1);
        vec![
            ("diskutil", vec!["eject".to_owned(), disk]),
            ("drutil", vec!["eject".to_owned()]),
        ]
    } else if cfg!(target_os = "linux") {
        vec![("eject", vec![device.to_owned()])]
    } else {
        Vec::new()
    }
}

/// Tries each platform command in turn until one ejects the disc.
pub async fn platform_eject(device: &str) -> Result<(), EjectError> {
    let commands = eject_commands(device);
    if commands.is_empty() {
        return Err(EjectError::Unsupported);
    }
    let mut failures = Vec::new();
    for (program, args) in commands {
        match run(program, &args).await {
            Ok(()) => {
                tracing::info!("ejected {device} with {program}");
                return Ok(());
            }
            Err(why) => failures.push(format!("{program}: {why}")),
        }
    }
    Err(EjectError::Command {
        device: device.to_owned(),
        detail: failures.join("; "),
    })
}

async fn run(program: &str, args: &[String]) -> Result<(), CommandError> {
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(COMMAND_TIMEOUT, child).await {
        Err(_) => return Err(CommandError::Timeout(COMMAND_TIMEOUT)),
        Ok(Err(e)) => return Err(CommandError::Spawn(e)),
        Ok(Ok(output)) => output,
    };
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let said = [stderr.trim(), stdout.trim()]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("no message")
        .to_owned();
    Err(CommandError::Failed {
        status: output.status,
        said,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_commands_name_the_device() {
        let commands = eject_commands("/dev/rdisk4");
        if cfg!(target_os = "linux") {
            assert_eq!(commands, vec![("eject", vec!["/dev/rdisk4".to_owned()])]);
        }
    }

    #[tokio::test]
    async fn a_missing_command_is_a_clear_error() {
        let err = run("amphigory-no-such-eject-command", &[])
            .await
            .unwrap_err();
        assert!(!err.to_string().is_empty());
    }
}
