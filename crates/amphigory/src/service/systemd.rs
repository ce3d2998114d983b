//! The Linux systemd user unit (SPEC §11.3): `$XDG_CONFIG_HOME/systemd/user/
//! amphigory.service`, enabled and started with `systemctl --user`.
//!
//! Pure apart from [`Systemd::state`], which asks `systemctl --user show`.

use std::path::{Path, PathBuf};

use super::{Command, Manager, ServiceError, ServiceSpec, ServiceState};

/// The unit's name.
pub const UNIT: &str = "amphigory.service";
/// `LimitNOFILE`.
pub const OPEN_FILES: u32 = 4096;

/// The user's systemd instance.
#[derive(Debug, Clone)]
pub struct Systemd {
    /// `$XDG_CONFIG_HOME/systemd/user`.
    pub unit_dir: PathBuf,
}

impl Systemd {
    /// The unit folder under `config_home` (`$XDG_CONFIG_HOME`, else `~/.config`).
    pub fn new(config_home: &Path) -> Self {
        Self {
            unit_dir: config_home.join("systemd").join("user"),
        }
    }
}

/// The unit file: the binary's absolute path, restarted when it fails but not when it
/// refused its configuration (exit 2) or found another daemon on the socket (exit 3),
/// which a restart would not change.
pub fn unit_text(spec: &ServiceSpec) -> String {
    let binary = quote(&spec.binary.to_string_lossy());
    format!(
        "[Unit]\n\
         Description=Amphigory host daemon: rips optical discs with MakeMKV for the Amphigory webapp\n\
         Documentation=man:amphigory(1)\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={binary} daemon\n\
         Restart=on-failure\n\
         RestartSec=5\n\
         RestartPreventExitStatus=2 3\n\
         LimitNOFILE={OPEN_FILES}\n\
         TimeoutStopSec=30\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n"
    )
}

/// One `ExecStart` word: `%` and `$` escaped (systemd expands them), double-quoted when
/// it holds whitespace, quotes or backslashes.
fn quote(word: &str) -> String {
    let escaped = word.replace('%', "%%").replace('$', "$$");
    let plain = !escaped.is_empty()
        && !escaped
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'));
    if plain {
        return escaped;
    }
    let inner = escaped.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{inner}\"")
}

impl Manager for Systemd {
    fn name(&self) -> &'static str {
        "systemd"
    }

    fn definition_path(&self) -> PathBuf {
        self.unit_dir.join(UNIT)
    }

    fn render(&self, spec: &ServiceSpec) -> Result<Vec<u8>, ServiceError> {
        Ok(unit_text(spec).into_bytes())
    }

    fn load_commands(&self) -> Vec<Command> {
        vec![
            Command::new(["systemctl", "--user", "daemon-reload"]),
            Command::new(["systemctl", "--user", "enable", "--now", UNIT]),
        ]
    }

    fn start_commands(&self) -> Vec<Command> {
        vec![Command::new(["systemctl", "--user", "start", UNIT])]
    }

    fn unload_commands(&self) -> Vec<Command> {
        vec![Command::new([
            "systemctl",
            "--user",
            "disable",
            "--now",
            UNIT,
        ])]
    }

    fn after_remove_commands(&self) -> Vec<Command> {
        vec![Command::new(["systemctl", "--user", "daemon-reload"])]
    }

    fn prepare(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn log_hint(&self) -> String {
        format!("journalctl --user -u {UNIT}")
    }

    fn state(&self) -> ServiceState {
        let show = Command::new([
            "systemctl",
            "--user",
            "show",
            UNIT,
            "--property=LoadState,UnitFileState,ActiveState,MainPID",
        ]);
        match show.output() {
            Ok(out) if out.status.success() => parse_show(&String::from_utf8_lossy(&out.stdout)),
            Ok(out) => {
                ServiceState::Unreachable(String::from_utf8_lossy(&out.stderr).trim().into())
            }
            Err(e) => ServiceState::Unreachable(e.to_string()),
        }
    }
}

/// `systemctl show` properties → loaded (with its pid while active) or not.
fn parse_show(text: &str) -> ServiceState {
    let prop = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(str::trim)
    };
    let enabled = prop("UnitFileState").is_some_and(|s| s.starts_with("enabled"));
    if prop("LoadState") != Some("loaded") || !enabled {
        return ServiceState::NotLoaded;
    }
    let active = prop("ActiveState") == Some("active");
    let pid = prop("MainPID")
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| active && *p > 0);
    ServiceState::Loaded { pid }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn exec_words_are_quoted_only_when_needed() {
        assert_eq!(quote("/usr/bin/amphigory"), "/usr/bin/amphigory");
        assert_eq!(
            quote("/opt/My Apps/amphigory"),
            "\"/opt/My Apps/amphigory\""
        );
        assert_eq!(quote("100%"), "100%%");
        assert_eq!(quote("$HOME"), "$$HOME");
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn show_output_says_loaded_and_running() {
        let running = "LoadState=loaded\nUnitFileState=enabled\nActiveState=active\nMainPID=77\n";
        assert_eq!(parse_show(running), ServiceState::Loaded { pid: Some(77) });
        let stopped = "LoadState=loaded\nUnitFileState=enabled\nActiveState=inactive\nMainPID=0\n";
        assert_eq!(parse_show(stopped), ServiceState::Loaded { pid: None });
        let absent = "LoadState=not-found\nActiveState=inactive\nMainPID=0\n";
        assert_eq!(parse_show(absent), ServiceState::NotLoaded);
        let disabled = "LoadState=loaded\nUnitFileState=disabled\nActiveState=inactive\n";
        assert_eq!(parse_show(disabled), ServiceState::NotLoaded);
    }
}
