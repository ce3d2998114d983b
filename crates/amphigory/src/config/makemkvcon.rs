//! Finding `makemkvcon` (SPEC §3): the configured path (from `daemon.yaml`, else the
//! webapp's `makemkv_path`) — set but missing is reported loudly and the search goes on —
//! then `$PATH`, then the usual install locations. Not found: tasks stay queued (the
//! engine is given no drive) and the status says why.
//!
//! [`version`] asks a found makemkvcon for its version: robot mode prints `MSG:1005`
//! ("MakeMKV v1.18.1 … started") first thing, so it is read and the process killed at
//! once, before it scans any drive; a deadline covers a binary that never answers.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::makemkv::robot::{RobotLine, parse_line};

/// Where makemkvcon usually lives, in the order searched after `$PATH`.
pub const WELL_KNOWN: &[&str] = &[
    "/opt/homebrew/bin/makemkvcon",
    "/usr/local/bin/makemkvcon",
    "/Applications/MakeMKV.app/Contents/MacOS/makemkvcon",
    "/usr/bin/makemkvcon",
];

/// How long [`version`] waits for the banner.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// The outcome of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// The makemkvcon to use.
    pub found: Option<PathBuf>,
    /// Set when a configured path does not exist or cannot run (say it loudly).
    pub configured_missing: Option<String>,
    /// Everything looked at, in order.
    pub searched: Vec<PathBuf>,
}

impl Discovery {
    /// The status problem when nothing was found.
    pub fn problem(&self) -> Option<String> {
        if self.found.is_some() {
            return None;
        }
        Some(format!(
            "makemkvcon not found (looked at {}): install MakeMKV or set makemkvcon_path in \
             daemon.yaml; tasks stay queued until it is found",
            // $PATH often repeats directories, and the well-known places overlap with it.
            self.searched
                .iter()
                .filter({
                    let mut seen = std::collections::HashSet::new();
                    move |p| seen.insert(*p)
                })
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// Searches with this process's `$PATH` and the well-known locations.
pub fn discover(configured: Option<&Path>) -> Discovery {
    let path_env = std::env::var_os("PATH");
    let well_known: Vec<PathBuf> = WELL_KNOWN.iter().map(PathBuf::from).collect();
    discover_in(configured, path_env.as_deref(), &well_known)
}

/// [`discover`] with the search path and locations given (tests).
pub fn discover_in(
    configured: Option<&Path>,
    path_env: Option<&OsStr>,
    well_known: &[PathBuf],
) -> Discovery {
    let mut searched = Vec::new();
    let mut configured_missing = None;
    if let Some(path) = configured {
        let candidate = if path.components().count() == 1 && !path.is_absolute() {
            search_path(path.as_os_str(), path_env, &mut searched)
        } else {
            searched.push(path.to_owned());
            is_executable(path).then(|| path.to_owned())
        };
        if candidate.is_some() {
            return Discovery {
                found: candidate,
                configured_missing,
                searched,
            };
        }
        configured_missing = Some(format!(
            "configured makemkvcon {} does not exist or is not executable; searching the usual places",
            path.display()
        ));
    }
    let mut found = search_path(OsStr::new("makemkvcon"), path_env, &mut searched);
    if found.is_none() {
        found = well_known.iter().find_map(|p| {
            searched.push(p.clone());
            is_executable(p).then(|| p.clone())
        });
    }
    Discovery {
        found,
        configured_missing,
        searched,
    }
}

fn search_path(
    name: &OsStr,
    path_env: Option<&OsStr>,
    searched: &mut Vec<PathBuf>,
) -> Option<PathBuf> {
    let dirs = path_env
        .map(|p| std::env::split_paths(p).collect::<Vec<_>>())
        .unwrap_or_default();
    dirs.into_iter()
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(name))
        .find(|candidate| {
            searched.push(candidate.clone());
            is_executable(candidate)
        })
}

/// A regular file (or a link to one) with an execute bit.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Why makemkvcon's version could not be read.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    /// It could not be started.
    #[error("cannot run {}: {source}", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Its output could not be read.
    #[error("no stdout")]
    NoStdout,
    /// It ended without the `MSG:1005` banner.
    #[error("{} printed no version banner", program.display())]
    NoBanner {
        /// The program.
        program: PathBuf,
    },
    /// It said nothing in time.
    #[error("{} did not answer within {timeout:?}", program.display())]
    Timeout {
        /// The program.
        program: PathBuf,
        /// How long it had.
        timeout: Duration,
    },
}

/// The version `program` announces (`MakeMKV v1.18.1 linux(x64-release)`), read from its
/// `MSG:1005` banner within `timeout`; the process is killed as soon as it is read.
pub async fn version(program: &Path, timeout: Duration) -> Result<String, VersionError> {
    let mut child = tokio::process::Command::new(program)
        .args(["-r", "--cache=1", "info", "disc:9999"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| VersionError::Spawn {
            program: program.to_owned(),
            source,
        })?;
    let stdout = child.stdout.take().ok_or(VersionError::NoStdout)?;
    let reading = async {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(RobotLine::Message(m)) = parse_line(&line) {
                if m.code == 1005 {
                    let version = m
                        .params
                        .first()
                        .map_or_else(|| m.text.to_string(), ToString::to_string);
                    return Ok(version);
                }
            }
        }
        Err(VersionError::NoBanner {
            program: program.to_owned(),
        })
    };
    let outcome = tokio::time::timeout(timeout, reading)
        .await
        .unwrap_or_else(|_| {
            Err(VersionError::Timeout {
                program: program.to_owned(),
                timeout,
            })
        });
    let _ = child.start_kill();
    let _ = child.wait().await;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executable(dir: &Path, name: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn configured_then_path_then_well_known() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let on_path = executable(&bin, "makemkvcon");
        let known = executable(dir.path(), "known-makemkvcon");
        let mine = executable(dir.path(), "mine");
        let path_env = bin.as_os_str();
        let d = discover_in(Some(&mine), Some(path_env), std::slice::from_ref(&known));
        assert_eq!(
            (d.found.as_ref(), d.configured_missing.as_ref()),
            (Some(&mine), None)
        );
        let d = discover_in(
            Some(Path::new("/nope/makemkvcon")),
            Some(path_env),
            std::slice::from_ref(&known),
        );
        assert_eq!(d.found, Some(on_path));
        assert!(d.configured_missing.unwrap().contains("/nope/makemkvcon"));
        let d = discover_in(None, None, &[dir.path().join("absent"), known.clone()]);
        assert_eq!(d.found, Some(known));
        let d = discover_in(None, None, &[dir.path().join("absent")]);
        assert!(d.problem().unwrap().contains("absent"));
        // Not executable: not found.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        assert_eq!(discover_in(Some(&plain), None, &[]).found, None);
    }
}
