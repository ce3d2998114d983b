//! Ejecting a disc (`amphigory eject`, the control socket's `eject`). Simulated drives
//! belong to the daemon's [`SimRig`]: the disc leaves the rig. Real drives are ejected with
//! the platform's command (`diskutil eject`, then `drutil eject`, on macOS; `eject DEVICE`
//! on Linux). Either way detection reports the disc leaving, and the engine does the rest
//! (a task running there fails with `DISC_EJECTED`, the drive shows empty, the `disc
//! ejected` event), exactly as when someone presses the drive's button.

use std::sync::Arc;
use std::time::Duration;

use crate::sim::SimRig;

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

/// Ejects discs; one per daemon, shared by whoever asks.
#[derive(Debug)]
pub struct Ejector {
    sim: Option<Arc<SimRig>>,
}

impl Ejector {
    /// An ejector for the daemon's simulated drives (if any) and real ones.
    pub fn new(sim: Option<Arc<SimRig>>) -> Self {
        Self { sim }
    }

    /// Ejects the disc in `device` (drive `drive_id`).
    pub async fn eject(&self, drive_id: &str, device: &str) -> Result<(), EjectError> {
        let rig = self
            .sim
            .as_ref()
            .filter(|rig| rig.devices().iter().any(|d| d == device));
        let Some(rig) = rig else {
            return platform_eject(device).await;
        };
        let (rig, dev) = (rig.clone(), device.to_owned());
        let ejected = tokio::task::spawn_blocking(move || rig.eject(&dev))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        ejected.map_err(|source| EjectError::Sim {
            device: device.to_owned(),
            source,
        })?;
        tracing::info!("simulated disc taken out of {drive_id}");
        Ok(())
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

async fn platform_eject(device: &str) -> Result<(), EjectError> {
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

async fn run(program: &str, args: &[String]) -> Result<(), String> {
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(COMMAND_TIMEOUT, child).await {
        Err(_) => return Err(format!("no answer within {COMMAND_TIMEOUT:?}")),
        Ok(Err(e)) => return Err(e.to_string()),
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
        .unwrap_or("no message");
    Err(format!("{} ({said})", output.status))
}

impl crate::servers::control::DiscEjector for Ejector {
    fn eject_disc<'a>(
        &'a self,
        drive_id: &'a str,
        device: &'a str,
    ) -> crate::servers::control::ports::EjectFuture<'a> {
        Box::pin(async move { Ok(self.eject(drive_id, device).await?) })
    }
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
        assert!(!err.is_empty());
    }
}
