//! The macOS LaunchAgent (SPEC §11.3): `~/Library/LaunchAgents/org.amphigory.daemon.plist`
//! written with the `plist` crate, loaded with `launchctl bootstrap gui/<uid>`.
//!
//! Pure apart from [`Launchd::state`], which asks `launchctl print`; compiled and tested
//! on every platform so the property list is checked on Linux too.

use std::path::{Path, PathBuf};

use plist::{Dictionary, Value};

use super::{Command, Manager, ServiceError, ServiceSpec, ServiceState};

/// The agent's label, also the bundle identifier of `Amphigory.app`.
pub const LABEL: &str = "org.amphigory.daemon";
/// Open files the daemon may have (`SoftResourceLimits` → `NumberOfFiles`).
pub const OPEN_FILES: i64 = 4096;

/// launchd in the user's GUI session.
#[derive(Debug, Clone)]
pub struct Launchd {
    /// `~/Library/LaunchAgents`.
    pub agents_dir: PathBuf,
    /// The user's id, for the `gui/<uid>` domain.
    pub uid: u32,
    /// `~/Library/Logs/Amphigory/daemon.log`.
    pub log_file: PathBuf,
}

impl Launchd {
    /// The user's agent folder under `home`.
    pub fn new(home: &Path, uid: u32) -> Self {
        Self {
            agents_dir: home.join("Library").join("LaunchAgents"),
            uid,
            log_file: home.join("Library/Logs/Amphigory/daemon.log"),
        }
    }

    fn domain(&self) -> String {
        format!("gui/{}", self.uid)
    }

    fn target(&self) -> String {
        format!("gui/{}/{LABEL}", self.uid)
    }
}

/// The property list of the agent: the binary's absolute path, started at login, restarted
/// when it fails (not after a clean `amphigory stop`), its output in the log folder.
pub fn property_list(spec: &ServiceSpec, log_file: &Path) -> Dictionary {
    let log = log_file.to_string_lossy().into_owned();
    let args = vec![
        Value::String(spec.binary.to_string_lossy().into_owned()),
        Value::String("daemon".into()),
        Value::String("--log-file".into()),
        Value::String(log.clone()),
    ];
    let mut keep_alive = Dictionary::new();
    keep_alive.insert("SuccessfulExit".into(), Value::Boolean(false));
    let mut limits = Dictionary::new();
    limits.insert("NumberOfFiles".into(), Value::Integer(OPEN_FILES.into()));
    let mut dict = Dictionary::new();
    dict.insert("Label".into(), Value::String(LABEL.into()));
    dict.insert("ProgramArguments".into(), Value::Array(args));
    dict.insert("RunAtLoad".into(), Value::Boolean(true));
    dict.insert("KeepAlive".into(), Value::Dictionary(keep_alive));
    dict.insert("ProcessType".into(), Value::String("Interactive".into()));
    // The menu-bar icon needs the logged-in user's window server session.
    dict.insert(
        "LimitLoadToSessionType".into(),
        Value::String("Aqua".into()),
    );
    dict.insert("StandardOutPath".into(), Value::String(log.clone()));
    dict.insert("StandardErrorPath".into(), Value::String(log));
    dict.insert("SoftResourceLimits".into(), Value::Dictionary(limits));
    dict
}

impl Manager for Launchd {
    fn name(&self) -> &'static str {
        "launchd"
    }

    fn definition_path(&self) -> PathBuf {
        self.agents_dir.join(format!("{LABEL}.plist"))
    }

    fn render(&self, spec: &ServiceSpec) -> Result<Vec<u8>, ServiceError> {
        let mut out = Vec::new();
        Value::Dictionary(property_list(spec, &self.log_file))
            .to_writer_xml(&mut out)
            .map_err(|e| ServiceError::Render(e.to_string()))?;
        out.push(b'\n');
        Ok(out)
    }

    fn load_commands(&self) -> Vec<Command> {
        let path = self.definition_path().to_string_lossy().into_owned();
        vec![Command::new([
            "launchctl",
            "bootstrap",
            &self.domain(),
            &path,
        ])]
    }

    fn start_commands(&self) -> Vec<Command> {
        vec![Command::new(["launchctl", "kickstart", &self.target()])]
    }

    fn unload_commands(&self) -> Vec<Command> {
        vec![Command::new(["launchctl", "bootout", &self.target()])]
    }

    fn after_remove_commands(&self) -> Vec<Command> {
        Vec::new()
    }

    fn prepare(&self) -> std::io::Result<()> {
        match self.log_file.parent() {
            Some(dir) => std::fs::create_dir_all(dir),
            None => Ok(()),
        }
    }

    fn log_hint(&self) -> String {
        self.log_file.display().to_string()
    }

    fn state(&self) -> ServiceState {
        match Command::new(["launchctl", "print", &self.target()]).output() {
            Ok(out) if out.status.success() => {
                let text = String::from_utf8_lossy(&out.stdout);
                ServiceState::Loaded {
                    pid: print_pid(&text),
                }
            }
            Ok(_) => ServiceState::NotLoaded,
            Err(e) => ServiceState::Unreachable(e.to_string()),
        }
    }
}

/// The `pid = N` line of `launchctl print` (present only while the job runs).
fn print_pid(text: &str) -> Option<u32> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("pid = "))
        .find_map(|p| p.trim().parse().ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn the_pid_comes_from_launchctl_print() {
        let text = "gui/501/org.amphigory.daemon = {\n\tactive count = 1\n\tstate = running\n\
                    \tpid = 4242\n\tprogram = /Applications/Amphigory.app/Contents/MacOS/amphigory\n}";
        assert_eq!(print_pid(text), Some(4242));
        assert_eq!(print_pid("state = not running"), None);
    }
}
