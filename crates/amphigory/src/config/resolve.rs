//! The precedence chain of SPEC §3 — flag > environment > `daemon.yaml` > fetched config >
//! cached config > built-in default — as a pure function of the layers, remembering where
//! each value came from (for `amphigory doctor`), plus the path resolution
//! `webapp_basedir` + `tasks_directory`.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::file::LocalConfig;
use super::webapp::WebappConfig;

/// The default `websocket_port`.
pub const DEFAULT_WEBSOCKET_PORT: u16 = 9847;
/// The default `heartbeat_interval`, seconds.
pub const DEFAULT_HEARTBEAT_SECS: u64 = 10;
/// The default `log_level`.
pub const DEFAULT_LOG_LEVEL: &str = "info";
/// Every "needs config" problem starts with this.
pub use crate::core::problem::NEEDS_CONFIG;

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Source {
    /// A command-line flag.
    #[serde(rename = "flag")]
    Flag,
    /// An environment variable.
    #[serde(rename = "env")]
    Env,
    /// `daemon.yaml`.
    #[serde(rename = "daemon.yaml")]
    File,
    /// The webapp's `/config.json`, fetched now.
    #[serde(rename = "webapp")]
    Fetched,
    /// `cached_config.json` (the webapp was unreachable).
    #[serde(rename = "cache")]
    Cached,
    /// Computed: `webapp_basedir` joined with `tasks_directory`.
    #[serde(rename = "resolved")]
    Resolved,
    /// The built-in default.
    #[serde(rename = "default")]
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::Flag => "flag",
            Self::Env => "env",
            Self::File => "daemon.yaml",
            Self::Fetched => "webapp",
            Self::Cached => "cache",
            Self::Resolved => "webapp_basedir + tasks_directory",
            Self::Default => "default",
        };
        f.write_str(name)
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Its origin.
    pub source: Source,
}

/// What one source says; every value optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// The webapp.
    pub webapp_url: Option<String>,
    /// Host directory the container's `/` maps to.
    pub webapp_basedir: Option<PathBuf>,
    /// This daemon's id.
    pub daemon_id: Option<String>,
    /// makemkvcon (`makemkv_path` in the webapp's config).
    pub makemkvcon_path: Option<PathBuf>,
    /// The queue directory itself (`--tasks-dir`): bypasses path resolution.
    pub tasks_dir: Option<PathBuf>,
    /// Container path of the queue.
    pub tasks_directory: Option<String>,
    /// WebSocket server port.
    pub websocket_port: Option<u16>,
    /// Heartbeat period, seconds.
    pub heartbeat_interval: Option<u64>,
    /// Log level.
    pub log_level: Option<String>,
    /// The wiki.
    pub wiki_url: Option<String>,
    /// Host path of rips.
    pub ripped_directory: Option<PathBuf>,
}

impl From<&LocalConfig> for Settings {
    fn from(c: &LocalConfig) -> Self {
        Self {
            webapp_url: c.webapp_url.clone(),
            webapp_basedir: c.webapp_basedir.clone(),
            daemon_id: c.daemon_id.clone(),
            makemkvcon_path: c.makemkvcon_path.clone(),
            tasks_dir: c.tasks_dir.clone(),
            tasks_directory: c.tasks_directory.clone(),
            websocket_port: c.websocket_port,
            heartbeat_interval: c.heartbeat_interval,
            log_level: c.log_level.clone(),
            wiki_url: c.wiki_url.clone(),
            ripped_directory: c.ripped_directory.clone(),
        }
    }
}

impl From<&WebappConfig> for Settings {
    fn from(c: &WebappConfig) -> Self {
        Self {
            makemkvcon_path: c
                .makemkv_path
                .as_ref()
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            tasks_directory: c.tasks_directory.clone().filter(|t| !t.is_empty()),
            websocket_port: c.websocket_port,
            heartbeat_interval: c.heartbeat_interval,
            log_level: c.log_level.clone(),
            wiki_url: c.wiki_url.clone(),
            ripped_directory: c.ripped_directory.as_ref().map(PathBuf::from),
            ..Self::default()
        }
    }
}

/// Every layer, highest precedence first. The loader passes `cached` only when the fetch
/// failed: once the webapp has answered, its answer is the cache.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layers {
    /// Command-line flags.
    pub flag: Settings,
    /// Environment variables.
    pub env: Settings,
    /// `daemon.yaml`.
    pub file: Settings,
    /// `/config.json`, when fetched.
    pub fetched: Option<WebappConfig>,
    /// `cached_config.json`, when used.
    pub cached: Option<WebappConfig>,
}

/// The configuration in force, each value with its origin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveConfig {
    /// The webapp, if any.
    pub webapp_url: Sourced<Option<String>>,
    /// Host directory the container's `/` maps to.
    pub webapp_basedir: Sourced<Option<PathBuf>>,
    /// This daemon's id.
    pub daemon_id: Sourced<String>,
    /// The configured makemkvcon (discovery may still find another).
    pub makemkvcon_path: Sourced<Option<PathBuf>>,
    /// Container path of the queue.
    pub tasks_directory: Sourced<Option<String>>,
    /// The queue directory in use.
    pub tasks_dir: Sourced<PathBuf>,
    /// WebSocket server port.
    pub websocket_port: Sourced<u16>,
    /// Heartbeat period, seconds.
    pub heartbeat_interval: Sourced<u64>,
    /// Log level.
    pub log_level: Sourced<String>,
    /// The wiki.
    pub wiki_url: Sourced<Option<String>>,
    /// Host path of rips.
    pub ripped_directory: Sourced<Option<PathBuf>>,
    /// The webapp's keys this daemon does not read, kept.
    pub extra: Map<String, Value>,
    /// Why the queue directory is a stand-in (`"needs config: …"`), if it is.
    pub needs_config: Option<String>,
}

/// Resolves the layers; `state_dir/tasks` stands in for a queue directory that cannot be
/// resolved yet (the "needs config" state: the daemon starts anyway).
pub fn resolve(layers: &Layers, state_dir: &Path) -> EffectiveConfig {
    let fetched = layers.fetched.as_ref().map(Settings::from);
    let cached = layers.cached.as_ref().map(Settings::from);
    let mut chain = vec![
        (Source::Flag, &layers.flag),
        (Source::Env, &layers.env),
        (Source::File, &layers.file),
    ];
    chain.extend(fetched.as_ref().map(|s| (Source::Fetched, s)));
    chain.extend(cached.as_ref().map(|s| (Source::Cached, s)));
    let webapp_basedir = optional(&chain, |s| s.webapp_basedir.clone());
    let tasks_directory = optional(&chain, |s| s.tasks_directory.clone());
    let (tasks_dir, needs_config) = tasks_dir(&chain, &webapp_basedir, &tasks_directory, state_dir);
    let extra = layers
        .fetched
        .as_ref()
        .or(layers.cached.as_ref())
        .map(|w| w.extra.clone())
        .unwrap_or_default();
    EffectiveConfig {
        webapp_url: optional(&chain, |s| s.webapp_url.clone()),
        daemon_id: or_default(&chain, |s| s.daemon_id.clone(), super::default_daemon_id),
        makemkvcon_path: optional(&chain, |s| s.makemkvcon_path.clone()),
        websocket_port: or_default(&chain, |s| s.websocket_port, || DEFAULT_WEBSOCKET_PORT),
        heartbeat_interval: or_default(&chain, |s| s.heartbeat_interval, || DEFAULT_HEARTBEAT_SECS),
        log_level: or_default(
            &chain,
            |s| s.log_level.clone(),
            || DEFAULT_LOG_LEVEL.to_owned(),
        ),
        wiki_url: optional(&chain, |s| s.wiki_url.clone()),
        ripped_directory: optional(&chain, |s| s.ripped_directory.clone()),
        webapp_basedir,
        tasks_directory,
        tasks_dir,
        extra,
        needs_config,
    }
}

type Chain<'a> = [(Source, &'a Settings)];

fn first<T>(chain: &Chain<'_>, get: impl Fn(&Settings) -> Option<T>) -> Option<Sourced<T>> {
    chain.iter().find_map(|(source, s)| {
        get(s).map(|value| Sourced {
            value,
            source: *source,
        })
    })
}

fn optional<T>(chain: &Chain<'_>, get: impl Fn(&Settings) -> Option<T>) -> Sourced<Option<T>> {
    match first(chain, get) {
        Some(Sourced { value, source }) => Sourced {
            value: Some(value),
            source,
        },
        None => Sourced {
            value: None,
            source: Source::Default,
        },
    }
}

fn or_default<T>(
    chain: &Chain<'_>,
    get: impl Fn(&Settings) -> Option<T>,
    default: impl FnOnce() -> T,
) -> Sourced<T> {
    first(chain, get).unwrap_or_else(|| Sourced {
        value: default(),
        source: Source::Default,
    })
}

/// `--tasks-dir` (or its env / yaml forms), else `webapp_basedir` + `tasks_directory`
/// without its leading `/`, else the stand-in and the reason.
fn tasks_dir(
    chain: &Chain<'_>,
    basedir: &Sourced<Option<PathBuf>>,
    tasks_directory: &Sourced<Option<String>>,
    state_dir: &Path,
) -> (Sourced<PathBuf>, Option<String>) {
    if let Some(explicit) = first(chain, |s| s.tasks_dir.clone()) {
        return (explicit, None);
    }
    let reason = match (&basedir.value, &tasks_directory.value) {
        (Some(base), Some(dir)) => {
            let value = base.join(dir.trim_start_matches('/'));
            return (
                Sourced {
                    value,
                    source: Source::Resolved,
                },
                None,
            );
        }
        (None, _) => {
            "no tasks directory: set webapp_url and webapp_basedir in daemon.yaml \
                      (or give --tasks-dir)"
        }
        (Some(_), None) => {
            "the webapp's tasks_directory is unknown (webapp unreachable and no \
                            cached config): start the webapp, or set tasks_directory in daemon.yaml"
        }
    };
    let stand_in = Sourced {
        value: state_dir.join("tasks"),
        source: Source::Default,
    };
    (stand_in, Some(format!("{NEEDS_CONFIG}: {reason}")))
}

impl EffectiveConfig {
    /// `(name, value as text, source)` for every value, in a stable order.
    pub fn entries(&self) -> Vec<(&'static str, String, Source)> {
        fn show<T: std::fmt::Debug>(v: &Option<T>) -> String {
            v.as_ref().map_or_else(
                || "(none)".to_owned(),
                |v| format!("{v:?}").trim_matches('"').to_owned(),
            )
        }
        vec![
            (
                "webapp_url",
                show(&self.webapp_url.value),
                self.webapp_url.source,
            ),
            (
                "webapp_basedir",
                show(&self.webapp_basedir.value),
                self.webapp_basedir.source,
            ),
            (
                "daemon_id",
                self.daemon_id.value.clone(),
                self.daemon_id.source,
            ),
            (
                "makemkvcon_path",
                show(&self.makemkvcon_path.value),
                self.makemkvcon_path.source,
            ),
            (
                "tasks_directory",
                show(&self.tasks_directory.value),
                self.tasks_directory.source,
            ),
            (
                "tasks_dir",
                self.tasks_dir.value.display().to_string(),
                self.tasks_dir.source,
            ),
            (
                "websocket_port",
                self.websocket_port.value.to_string(),
                self.websocket_port.source,
            ),
            (
                "heartbeat_interval",
                format!("{} s", self.heartbeat_interval.value),
                self.heartbeat_interval.source,
            ),
            (
                "log_level",
                self.log_level.value.clone(),
                self.log_level.source,
            ),
            ("wiki_url", show(&self.wiki_url.value), self.wiki_url.source),
            (
                "ripped_directory",
                show(&self.ripped_directory.value),
                self.ripped_directory.source,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_slash_is_stripped_when_joining() {
        let layers = Layers {
            file: Settings {
                webapp_basedir: Some("/opt/amphigory".into()),
                tasks_directory: Some("/data/tasks".into()),
                ..Settings::default()
            },
            ..Layers::default()
        };
        let e = resolve(&layers, Path::new("/state"));
        assert_eq!(
            e.tasks_dir.value,
            PathBuf::from("/opt/amphigory/data/tasks")
        );
        assert_eq!(e.tasks_dir.source, Source::Resolved);
        assert_eq!(e.needs_config, None);
    }
}
