//! Running as a service (SPEC §11.3): the daemon installed with the platform's own
//! service manager, so it starts at login and is restarted after a crash.
//!
//! - [`launchd`]: the macOS LaunchAgent (a property list written with the `plist` crate).
//! - [`systemd`]: the Linux user unit.
//! - [`Manager`]: what the two have in common — where the definition lives, its text,
//!   the commands that load, start and unload it, and what it says about the job now.
//! - [`install`], [`uninstall`], [`status`]: the three commands, each returning the words
//!   to print and the exit code, so the CLI only prints (`cli/service.rs` finds the
//!   binary and any daemon already running).
//!
//! Both definitions are rendered on every platform: tests on Linux parse the macOS
//! property list back and check its keys.

pub mod bundle;
pub mod launchd;
mod ops;
pub mod systemd;

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

pub use ops::{Outcome, install, status, uninstall};

/// What a service definition starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The `amphigory` binary, absolute (inside `Amphigory.app` when run from the bundle).
    pub binary: PathBuf,
}

/// What the service manager says about the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceState {
    /// Loaded (launchd) or enabled (systemd); `pid` while it runs.
    Loaded {
        /// The daemon's pid, when running.
        pid: Option<u32>,
    },
    /// The manager does not know the job.
    NotLoaded,
    /// The manager could not be asked (no user bus, no `launchctl`): why.
    Unreachable(String),
}

/// A daemon answering on the control socket, as `install` and `status` name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningDaemon {
    /// From the pid file beside the socket.
    pub pid: Option<u32>,
    /// Its command line, when the OS tells.
    pub command: Option<String>,
    /// The control socket it answers on.
    pub socket: PathBuf,
}

impl fmt::Display for RunningDaemon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "pid {pid}")?,
            None => write!(f, "pid unknown")?,
        }
        if let Some(command) = &self.command {
            write!(f, ", `{command}`")?;
        }
        write!(f, ", on {}", self.socket.display())
    }
}

/// A command the service manager is driven with: run here, or printed for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    argv: Vec<String>,
}

impl Command {
    /// A command from its words.
    pub fn new<const N: usize>(words: [&str; N]) -> Self {
        Self {
            argv: words.iter().map(|w| (*w).to_owned()).collect(),
        }
    }

    /// Runs it with its output captured.
    pub fn output(&self) -> std::io::Result<std::process::Output> {
        let (program, args) = self
            .argv
            .split_first()
            .ok_or_else(|| std::io::Error::other("empty command"))?;
        std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
    }

    /// Runs it; an error says which command failed and why (its stderr).
    pub fn run(&self) -> Result<(), CommandError> {
        match self.output() {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let why = stderr.trim();
                let why = if why.is_empty() {
                    out.status.to_string()
                } else {
                    why.to_owned()
                };
                Err(CommandError::Failed {
                    command: self.to_string(),
                    why,
                })
            }
            Err(source) => Err(CommandError::NotRun {
                command: self.to_string(),
                source,
            }),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self.argv.iter().map(|w| shell_word(w)).collect();
        f.write_str(&words.join(" "))
    }
}

/// A word as a POSIX shell reads it back: as is when plain, else single-quoted.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:@%+,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Why a service manager's command did not do its job.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// It ran and failed: its stderr, else its exit status.
    #[error("`{command}` failed: {why}")]
    Failed {
        /// The command as a shell would read it.
        command: String,
        /// Why.
        why: String,
    },
    /// It could not be started.
    #[error("`{command}` could not be run: {source}")]
    NotRun {
        /// The command as a shell would read it.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A platform's service manager.
pub trait Manager {
    /// `launchd` or `systemd`.
    fn name(&self) -> &'static str;
    /// Where the definition is written.
    fn definition_path(&self) -> PathBuf;
    /// The definition's bytes.
    fn render(&self, spec: &ServiceSpec) -> Result<Vec<u8>, ServiceError>;
    /// Run after writing the definition: load it and start the daemon.
    fn load_commands(&self) -> Vec<Command>;
    /// Starts the daemon of a loaded definition that is not running.
    fn start_commands(&self) -> Vec<Command>;
    /// Run before removing or replacing the definition: stop the daemon and unload it.
    fn unload_commands(&self) -> Vec<Command>;
    /// Run after removing the definition.
    fn after_remove_commands(&self) -> Vec<Command>;
    /// What the manager says now.
    fn state(&self) -> ServiceState;
    /// Makes what the definition needs besides itself (the log folder).
    fn prepare(&self) -> std::io::Result<()>;
    /// How a user reads the daemon's log.
    fn log_hint(&self) -> String;
}

/// Why a service command could not do its work (a service manager that cannot be
/// reached is not one: the definition is still written, and the outcome says what to run).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Neither `HOME` nor the paths derived from it are known.
    #[error("cannot tell where your home folder is: HOME is not set")]
    NoHome,
    /// The running binary's path is unknown.
    #[error("cannot tell where this amphigory binary is: {0}")]
    NoBinary(std::io::Error),
    /// The definition could not be rendered.
    #[error("cannot render the service definition: {0}")]
    Render(String),
    /// A file could not be read, written or removed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (`writing`, `removing`, …).
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Which platform's manager to use (the hidden `--os` flag lets tests render the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    /// launchd.
    Macos,
    /// systemd.
    Linux,
}

impl Platform {
    /// The platform this binary was built for (Linux's systemd for every non-macOS Unix).
    pub fn current() -> Self {
        if cfg!(target_os = "macos") {
            Self::Macos
        } else {
            Self::Linux
        }
    }

    /// The user's manager on this platform, from the environment (`HOME`,
    /// `XDG_CONFIG_HOME`).
    pub fn manager(
        self,
        env: &dyn Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Box<dyn Manager>, ServiceError> {
        let home = home(env)?;
        Ok(match self {
            Self::Macos => Box::new(launchd::Launchd::new(&home, current_uid())),
            Self::Linux => {
                let config = env("XDG_CONFIG_HOME")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
                    .filter(|p| p.is_absolute())
                    .unwrap_or_else(|| home.join(".config"));
                Box::new(systemd::Systemd::new(&config))
            }
        })
    }
}

fn home(env: &dyn Fn(&str) -> Option<std::ffi::OsString>) -> Result<PathBuf, ServiceError> {
    env("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .ok_or(ServiceError::NoHome)
}

#[cfg(unix)]
fn current_uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

#[cfg(not(unix))]
fn current_uid() -> u32 {
    0
}

/// The binary a service should start. Inside an app bundle (`Amphigory.app/Contents/
/// MacOS/amphigory`, even when called through a link to it) the bundle's binary, so the
/// agent starts the app and notifications carry its name. Otherwise the path the user
/// called it by when that names the same file as the running executable (a package
/// manager's stable link, such as `/opt/homebrew/bin/amphigory`, survives upgrades; the
/// versioned file behind it does not), else the running executable itself.
pub fn binary_path(current_exe: &Path, argv0: Option<&OsStr>, path_var: Option<&OsStr>) -> PathBuf {
    let real = std::fs::canonicalize(current_exe).unwrap_or_else(|_| current_exe.to_owned());
    if in_app_bundle(&real) {
        return real;
    }
    let same = |candidate: &Path| {
        candidate.is_absolute()
            && std::fs::canonicalize(candidate).ok().as_deref() == Some(real.as_path())
    };
    let called = argv0.map(Path::new).and_then(|a| {
        if a.components().count() > 1 {
            std::path::absolute(a).ok()
        } else {
            let dirs = std::env::split_paths(path_var?).collect::<Vec<_>>();
            dirs.into_iter().map(|d| d.join(a)).find(|p| p.is_file())
        }
    });
    match called {
        Some(path) if same(&path) => path,
        _ => real,
    }
}

/// `…/Name.app/Contents/MacOS/<binary>`.
fn in_app_bundle(binary: &Path) -> bool {
    let mut up = binary.ancestors().skip(1);
    let names = [up.next(), up.next(), up.next()].map(|p| p.and_then(Path::file_name));
    matches!(names, [Some(macos), Some(contents), Some(app)]
        if macos == "MacOS" && contents == "Contents"
            && app.to_string_lossy().ends_with(".app"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn commands_print_as_a_shell_reads_them() {
        let c = Command::new(["launchctl", "bootstrap", "gui/501", "/Users/a b/x.plist"]);
        assert_eq!(
            c.to_string(),
            "launchctl bootstrap gui/501 '/Users/a b/x.plist'"
        );
        let c = Command::new([
            "systemctl",
            "--user",
            "enable",
            "--now",
            "amphigory.service",
        ]);
        assert_eq!(
            c.to_string(),
            "systemctl --user enable --now amphigory.service"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_stable_link_to_the_binary_is_preferred() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("Cellar/amphigory/0.1.0/bin/amphigory");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, b"").unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(&real, bin.join("amphigory")).unwrap();
        let path = std::env::join_paths([bin.clone()]).unwrap();
        let chosen = binary_path(&real, Some(OsStr::new("amphigory")), Some(&path));
        assert_eq!(chosen, bin.join("amphigory"));
        let other = binary_path(&real, Some(OsStr::new("/elsewhere/amphigory")), None);
        assert_eq!(other, std::fs::canonicalize(&real).unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn inside_the_app_bundle_the_bundle_binary_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let dir = std::fs::canonicalize(dir.path()).unwrap();
        let real = dir.join("Applications/Amphigory.app/Contents/MacOS/amphigory");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, b"").unwrap();
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(&real, bin.join("amphigory")).unwrap();
        let path = std::env::join_paths([bin]).unwrap();
        assert_eq!(
            binary_path(&real, Some(OsStr::new("amphigory")), Some(&path)),
            real
        );
        assert!(!in_app_bundle(Path::new("/usr/local/bin/amphigory")));
    }
}
