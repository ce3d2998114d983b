//! `daemon.yaml` (SPEC §3): parsed with `serde-saphyr` and strict booleans (only `true`
//! and `false`; YAML 1.1's `yes`/`on` are errors, not silent surprises).
//!
//! - malformed YAML or a wrong type → [`FileError`] naming the file, the line and the key;
//! - unknown keys → warnings naming each key and its line (not silently ignored, not
//!   fatal either: a newer daemon's file still starts an older daemon);
//! - a missing file at the default path is an empty configuration; a missing file the
//!   user named (`--config`, `AMPHIGORY_CONFIG`) is an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;

mod yaml_lines;

use yaml_lines::{key_lines, line_of_child, line_of_key, yaml_lines};

/// Everything `daemon.yaml` may say. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LocalConfig {
    /// The webapp, e.g. `http://localhost:6199`.
    pub webapp_url: Option<String>,
    /// Host directory the container's `/` maps to.
    pub webapp_basedir: Option<PathBuf>,
    /// `$USER@shorthostname` unless set.
    pub daemon_id: Option<String>,
    /// makemkvcon to use (`makemkv_path`, the webapp's name, is accepted too).
    #[serde(alias = "makemkv_path")]
    pub makemkvcon_path: Option<PathBuf>,
    /// Persistent drive labels: device name or drive id → label (SPEC §9.1).
    pub drives: Option<BTreeMap<String, String>>,
    /// Override of the webapp's `tasks_directory` (a container path).
    pub tasks_directory: Option<String>,
    /// Override of the webapp's `websocket_port` (`ws_port` is accepted too).
    #[serde(alias = "ws_port")]
    pub websocket_port: Option<u16>,
    /// Override of the webapp's `wiki_url`.
    pub wiki_url: Option<String>,
    /// Override of the webapp's `heartbeat_interval`, seconds.
    pub heartbeat_interval: Option<u64>,
    /// Override of the webapp's `log_level`.
    pub log_level: Option<String>,
    /// Override of the webapp's `ripped_directory` (host path).
    pub ripped_directory: Option<PathBuf>,
    /// `--tasks-dir`: the queue directory, bypassing path resolution.
    pub tasks_dir: Option<PathBuf>,
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
    /// `--socket`: the control socket.
    pub socket: Option<PathBuf>,
    /// `--no-webapp`.
    pub no_webapp: Option<bool>,
    /// `--headless`.
    pub headless: Option<bool>,
    /// `--simulate`: simulated discs.
    pub simulate: Option<Vec<String>>,
    /// `--sim-rate`, MB/s.
    pub sim_rate: Option<f64>,
    /// `--sim-fault`.
    pub sim_fault: Option<String>,
    /// `--stall-timeout`, seconds.
    pub stall_timeout: Option<u64>,
    /// `--auto-eject`: eject a disc after the last task for it (SPEC §9.2).
    pub auto_eject: Option<bool>,
    /// Keep the machine awake while a task runs (SPEC §11.1); default true.
    pub keep_awake: Option<bool>,
    /// Commands run on events (SPEC §11.1): `on_rip_complete: [/path/to/cmd, arg]`.
    /// Checked by [`parse`]: an unknown hook name is an error with its line.
    pub hooks: Option<BTreeMap<String, Vec<String>>>,
    /// What to notify the user of: `all` (default), `errors`, `off` (SPEC §11.1).
    pub notifications: Option<super::NotificationLevel>,
}

/// Every top-level key [`LocalConfig`] reads (aliases included).
pub const KNOWN_KEYS: &[&str] = &[
    "webapp_url",
    "webapp_basedir",
    "daemon_id",
    "makemkvcon_path",
    "makemkv_path",
    "drives",
    "tasks_directory",
    "websocket_port",
    "ws_port",
    "wiki_url",
    "heartbeat_interval",
    "log_level",
    "ripped_directory",
    "tasks_dir",
    "state_dir",
    "socket",
    "no_webapp",
    "headless",
    "simulate",
    "sim_rate",
    "sim_fault",
    "stall_timeout",
    "auto_eject",
    "keep_awake",
    "hooks",
    "notifications",
];

/// A key the daemon does not know, where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// The key.
    pub key: String,
    /// 1-based line, when found.
    pub line: Option<u64>,
}

/// A parsed `daemon.yaml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFile {
    /// What it says.
    pub config: LocalConfig,
    /// Keys it has that nobody reads.
    pub unknown: Vec<UnknownKey>,
}

impl ParsedFile {
    /// One warning listing every unknown key, if there is any.
    pub fn unknown_warning(&self, path: &Path) -> Option<String> {
        if self.unknown.is_empty() {
            return None;
        }
        let keys: Vec<String> = self
            .unknown
            .iter()
            .map(|u| match u.line {
                Some(line) => format!("{} (line {line})", u.key),
                None => u.key.clone(),
            })
            .collect();
        Some(format!(
            "{}: unknown keys ignored: {}",
            path.display(),
            keys.join(", ")
        ))
    }
}

/// Why `daemon.yaml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Malformed YAML, or a value of the wrong type.
    #[error("{}:{line}:{column}: {}{message}", path.display(), key.as_deref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// The key whose value is wrong, when one can be named.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A well-formed value that cannot work (a relative base directory…).
    #[error("{}:{}: key `{key}`: {message}", path.display(), line.map_or_else(|| "?".to_owned(), |l| l.to_string()))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line, when found.
        line: Option<u64>,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads and parses `path`. `required` = the user named this file, so it must exist.
pub fn read(path: &Path, required: bool) -> Result<Option<ParsedFile>, FileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(source) => Err(FileError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Parses the text of `daemon.yaml` (`path` only names it in errors).
pub fn parse(path: &Path, text: &str) -> Result<ParsedFile, FileError> {
    if is_blank(text) {
        return Ok(ParsedFile::default());
    }
    let keys: BTreeMap<String, IgnoredAny> = from_yaml(path, text)?;
    let config: LocalConfig = from_yaml(path, text)?;
    let mut lines = None;
    let unknown = keys
        .keys()
        .filter(|k| !KNOWN_KEYS.contains(&k.as_str()))
        .map(|k| UnknownKey {
            key: k.clone(),
            line: lines
                .get_or_insert_with(|| key_lines(text))
                .get(k.as_str())
                .copied(),
        })
        .collect();
    validate(path, text, &config)?;
    Ok(ParsedFile { config, unknown })
}

fn from_yaml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, FileError> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        FileError::Syntax {
            path: path.to_owned(),
            line,
            column,
            key: key_path_at(text, line),
            message: strip_position(&e.to_string()),
        }
    })
}

/// serde-saphyr starts its messages with `line L column C: `; ours says it once.
fn strip_position(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest.to_owned(),
        _ => first.to_owned(),
    }
}

fn validate(path: &Path, text: &str, config: &LocalConfig) -> Result<(), FileError> {
    let invalid = |key: &str, message: String| FileError::Invalid {
        path: path.to_owned(),
        line: line_of_key(text, key),
        key: key.to_owned(),
        message,
    };
    if let Some(url) = &config.webapp_url {
        super::http::HttpUrl::parse(url).map_err(|e| invalid("webapp_url", e.to_string()))?;
    }
    if let Some(dir) = config.webapp_basedir.as_ref().filter(|d| !d.is_absolute()) {
        return Err(invalid(
            "webapp_basedir",
            format!("must be an absolute path, not {}", dir.display()),
        ));
    }
    if config.heartbeat_interval == Some(0) {
        return Err(invalid(
            "heartbeat_interval",
            "must be at least 1 second".into(),
        ));
    }
    if let Some(id) = config.daemon_id.as_ref().filter(|id| id.trim().is_empty()) {
        return Err(invalid("daemon_id", format!("must not be empty ({id:?})")));
    }
    if let Some(Err((key, error))) = config.hooks.as_ref().map(super::hooks::typed) {
        return Err(FileError::Invalid {
            path: path.to_owned(),
            line: line_of_child(text, "hooks", &key).or_else(|| line_of_key(text, "hooks")),
            key: format!("hooks.{key}"),
            message: error.to_string(),
        });
    }
    Ok(())
}

fn is_blank(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#') || l == "---")
}

/// The dotted key path (`drives.sr0`) of the block-mapping entry on `line`, found from
/// the indentation of the lines above it.
fn key_path_at(text: &str, line: u64) -> Option<String> {
    let lines: Vec<&str> = yaml_lines(text).collect();
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    let mut path = Vec::new();
    let mut indent = usize::MAX;
    for raw in lines.get(..=index)?.iter().rev() {
        let trimmed = raw.trim_start();
        let this_indent = raw.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') || this_indent >= indent {
            continue;
        }
        if let Some(key) = entry_key(trimmed) {
            path.push(key);
            indent = this_indent;
        }
        if this_indent == 0 {
            break;
        }
    }
    path.reverse();
    (!path.is_empty()).then(|| path.join("."))
}

/// `key` of a `key: value` or `key:` line (quotes removed); `None` for anything else.
fn entry_key(line: &str) -> Option<String> {
    let line = line.strip_prefix("- ").unwrap_or(line);
    let (key, _) = line.split_once(':')?;
    let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '@'));
    plain.then(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_follow_indentation() {
        let text = "webapp_url: x\ndrives:\n  sr0: Left\n  # note\n  sr1: [1]\nlog_level: 3\n";
        assert_eq!(key_path_at(text, 1).as_deref(), Some("webapp_url"));
        assert_eq!(key_path_at(text, 5).as_deref(), Some("drives.sr1"));
        assert_eq!(key_path_at(text, 6).as_deref(), Some("log_level"));
        assert_eq!(key_path_at(text, 0), None);
        assert_eq!(key_path_at(text, 99), None);
    }

    #[test]
    fn messages_lose_the_duplicated_position() {
        assert_eq!(
            strip_position("error: line 2 column 17: invalid u16"),
            "invalid u16"
        );
        assert_eq!(strip_position("plain"), "plain");
    }

    #[test]
    fn every_known_key_is_read() {
        let text = "webapp_url: http://h:1\nwebapp_basedir: /b\ndaemon_id: me@h\n\
                    makemkvcon_path: /m\ndrives: {sr0: Left}\ntasks_directory: /t\n\
                    websocket_port: 1\nwiki_url: w\nheartbeat_interval: 2\nlog_level: debug\n\
                    ripped_directory: /r\ntasks_dir: /td\nstate_dir: /s\nsocket: /sock\n\
                    no_webapp: true\nheadless: false\nsimulate: [demo-dvd]\nsim_rate: 9.5\n\
                    sim_fault: stall@5\nstall_timeout: 7\nnotifications: all\n";
        let parsed = parse(Path::new("d.yaml"), text).unwrap();
        assert!(parsed.unknown.is_empty());
        assert_eq!(parsed.config.stall_timeout, Some(7));
        assert_eq!(parsed.config.websocket_port, Some(1));
        let aliases = parse(Path::new("d.yaml"), "ws_port: 3\nmakemkv_path: /x\n").unwrap();
        assert_eq!(aliases.config.websocket_port, Some(3));
        assert_eq!(aliases.config.makemkvcon_path, Some(PathBuf::from("/x")));
    }

    #[test]
    fn hooks_are_read_and_unknown_names_are_errors_with_their_line() {
        let good = "keep_awake: false\nhooks:\n  on_rip_complete: [/bin/echo, done]\n";
        let parsed = parse(Path::new("d.yaml"), good).unwrap();
        assert!(parsed.unknown.is_empty());
        assert_eq!(parsed.config.keep_awake, Some(false));
        let text = "log_level: info\nhooks:\n  on_queue_empty: [/bin/true]\n  on_rip_done: [x]\n";
        let err = parse(Path::new("d.yaml"), text).unwrap_err();
        assert!(
            matches!(&err, FileError::Invalid { line: Some(4), key, .. } if key == "hooks.on_rip_done"),
            "{err:?}"
        );
        let shown = err.to_string();
        assert!(
            shown.starts_with("d.yaml:4: key `hooks.on_rip_done`: unknown hook"),
            "{shown}"
        );
        let empty = parse(Path::new("d.yaml"), "hooks: {on_task_failed: []}\n").unwrap_err();
        assert!(
            matches!(empty, FileError::Invalid { line: Some(1), .. }),
            "{empty:?}"
        );
    }

    #[test]
    fn notifications_take_all_errors_or_off() {
        use crate::config::NotificationLevel as Level;
        let read = |text: &str| parse(Path::new("d.yaml"), text).map(|p| p.config.notifications);
        assert_eq!(
            read("notifications: errors\n").unwrap(),
            Some(Level::Errors)
        );
        assert_eq!(read("notifications: off\n").unwrap(), Some(Level::Off));
        assert_eq!(read("log_level: info\n").unwrap(), None);
        let e = read("log_level: info\nnotifications: loud\n").unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("d.yaml:2:"), "{text}");
        assert!(text.contains("notifications"), "{text}");
    }
}
