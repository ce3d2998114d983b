//! `service install`, `uninstall` and `status` over any [`Manager`]: each says what it
//! did, what it could not do and the exact commands that would finish the job.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{Command, Manager, RunningDaemon, ServiceError, ServiceSpec, ServiceState};

/// What a command prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The words for the user, one or more lines.
    pub text: String,
    /// Done (or nothing to do); `false`: not finished, the text says what to run.
    pub finished: bool,
}

impl Outcome {
    fn done(text: String) -> Self {
        Self {
            text,
            finished: true,
        }
    }

    fn unfinished(text: String) -> Self {
        Self {
            text,
            finished: false,
        }
    }
}

/// Writes the definition and has the manager load and start it. Installing what is
/// already installed and running changes nothing and says so; a daemon already running
/// outside the service (`running`, found on the control socket) is named, and the service
/// is then written but not started (its daemon could not own the socket).
pub fn install(
    manager: &dyn Manager,
    spec: &ServiceSpec,
    running: Option<&RunningDaemon>,
) -> Result<Outcome, ServiceError> {
    let path = manager.definition_path();
    let contents = manager.render(spec)?;
    let unchanged = std::fs::read(&path).ok().as_deref() == Some(contents.as_slice());
    let state = manager.state();
    let (loaded, service_pid) = match &state {
        ServiceState::Loaded { pid } => (true, *pid),
        _ => (false, None),
    };
    let outsider = running.filter(|d| d.pid.is_none() || d.pid != service_pid);
    let name = manager.name();
    if let (true, Some(pid), None) = (unchanged, service_pid, outsider) {
        return Ok(Outcome::done(format!(
            "amphigory is already installed as a {name} service ({}) and running (pid {pid}): \
             nothing to do.",
            path.display()
        )));
    }
    let mut text = String::new();
    if unchanged {
        let _ = writeln!(text, "Already installed: {} (unchanged).", path.display());
    } else {
        if loaded {
            // Replacing a loaded job (a new binary path): unload the old one first.
            for command in manager.unload_commands() {
                let _ = command.run();
            }
        }
        write_definition(manager, &path, &contents)?;
        let _ = writeln!(text, "Wrote {}.", path.display());
    }
    let commands = if unchanged && loaded {
        manager.start_commands()
    } else {
        manager.load_commands()
    };
    if let Some(daemon) = outsider {
        let _ = writeln!(
            text,
            "Not started: an amphigory daemon is already running outside the service \
             ({daemon}), and the service's daemon could not own its control socket.\n\
             Stop it with `amphigory stop`, then run:"
        );
        push_commands(&mut text, &commands);
        return Ok(Outcome::unfinished(text));
    }
    for command in &commands {
        if let Err(why) = command.run() {
            let _ = writeln!(
                text,
                "{name} could not be reached: {why}\n\
                 The service file is in place; to load and start it, run:"
            );
            push_commands(&mut text, &commands);
            return Ok(Outcome::unfinished(text));
        }
    }
    let _ = write!(
        text,
        "Started by {name}: amphigory now starts at login and is restarted if it fails.\n\
         Logs: {}\nCheck it with `amphigory service status` and `amphigory status`.",
        manager.log_hint()
    );
    Ok(Outcome::done(text))
}

/// Stops and unloads the service and removes its definition. Uninstalling what is not
/// installed says so; when the manager cannot be reached the file is still removed and
/// the text gives the commands that finish the job.
pub fn uninstall(manager: &dyn Manager) -> Result<Outcome, ServiceError> {
    let path = manager.definition_path();
    let exists = path.exists();
    let state = manager.state();
    let name = manager.name();
    if !exists && !matches!(state, ServiceState::Loaded { .. }) {
        return Ok(Outcome::done(format!(
            "amphigory is not installed as a {name} service (there is no {}): nothing to do.",
            path.display()
        )));
    }
    let mut failures = Vec::new();
    if state != ServiceState::NotLoaded {
        failures.extend(
            manager
                .unload_commands()
                .iter()
                .filter_map(|c| c.run().err().map(|e| e.to_string())),
        );
    }
    let mut text = String::new();
    if exists {
        std::fs::remove_file(&path).map_err(|source| ServiceError::Io {
            action: "removing",
            path: path.clone(),
            source,
        })?;
        let _ = writeln!(text, "Removed {}.", path.display());
    }
    failures.extend(
        manager
            .after_remove_commands()
            .iter()
            .filter_map(|c| c.run().err().map(|e| e.to_string())),
    );
    if failures.is_empty() {
        let _ = write!(text, "The {name} service is stopped and gone.");
        return Ok(Outcome::done(text));
    }
    let _ = writeln!(
        text,
        "{name} could not be reached: {}\nIf a daemon it started still runs, run:",
        failures.join("; ")
    );
    let mut commands = manager.unload_commands();
    commands.extend(manager.after_remove_commands());
    push_commands(&mut text, &commands);
    Ok(Outcome::unfinished(text))
}

/// `service status`: installed / loaded / running, and any daemon outside the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// `launchd` or `systemd`.
    pub manager: String,
    /// Where the definition lives.
    pub definition: String,
    /// The definition exists.
    pub installed: bool,
    /// Loaded (launchd) or enabled (systemd); `None` when the manager cannot be asked.
    pub loaded: Option<bool>,
    /// The service's daemon pid, while it runs.
    pub pid: Option<u32>,
    /// Why the manager could not be asked.
    pub unreachable: Option<String>,
    /// A daemon answering on the control socket that the service did not start.
    pub other_daemon: Option<String>,
    /// How to read the log.
    pub logs: String,
}

/// What the manager and the control socket say now.
pub fn status(manager: &dyn Manager, running: Option<&RunningDaemon>) -> StatusReport {
    let state = manager.state();
    let (loaded, pid, unreachable) = match state {
        ServiceState::Loaded { pid } => (Some(true), pid, None),
        ServiceState::NotLoaded => (Some(false), None, None),
        ServiceState::Unreachable(why) => (None, None, Some(why)),
    };
    let other = running.filter(|d| d.pid.is_none() || d.pid != pid);
    StatusReport {
        manager: manager.name().to_owned(),
        definition: manager.definition_path().display().to_string(),
        installed: manager.definition_path().exists(),
        loaded,
        pid,
        unreachable,
        other_daemon: other.map(ToString::to_string),
        logs: manager.log_hint(),
    }
}

impl StatusReport {
    /// The report for a person.
    pub fn to_text(&self) -> String {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let loaded = match (self.loaded, &self.unreachable) {
            (Some(b), _) => yes_no(b).to_owned(),
            (None, Some(why)) => format!("unknown ({} cannot be reached: {why})", self.manager),
            (None, None) => "unknown".to_owned(),
        };
        let running = match self.pid {
            Some(pid) => format!("yes (pid {pid})"),
            None => "no".to_owned(),
        };
        let mut text = format!(
            "Service    {} ({})\nInstalled  {}\nLoaded     {loaded}\nRunning    {running}\n",
            self.manager,
            self.definition,
            yes_no(self.installed)
        );
        if let Some(other) = &self.other_daemon {
            let _ = writeln!(
                text,
                "Outside    a daemon not started by the service: {other}"
            );
        }
        let _ = write!(text, "Logs       {}", self.logs);
        text
    }
}

fn write_definition(
    manager: &dyn Manager,
    path: &Path,
    contents: &[u8],
) -> Result<(), ServiceError> {
    let io = |action, source| ServiceError::Io {
        action,
        path: path.to_owned(),
        source,
    };
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Err(io("writing", std::io::Error::other("not a file path")));
    };
    std::fs::create_dir_all(dir).map_err(|e| io("creating the folder of", e))?;
    manager
        .prepare()
        .map_err(|e| io("preparing the log folder for", e))?;
    crate::fsio::replace_file(dir, name, contents).map_err(|e| io("writing", e))
}

fn push_commands(text: &mut String, commands: &[Command]) {
    for command in commands {
        let _ = writeln!(text, "  {command}");
    }
}
