//! Configuration (SPEC §3): `daemon.yaml`, the webapp's `/config.json` and its cache, the
//! precedence chain with the origin of every value, path resolution, `makemkvcon`
//! discovery, and refetching when the webapp says its config changed.
//!
//! - [`file`]: `daemon.yaml` (strict YAML, errors with file/line/key, unknown keys warned).
//! - [`http`]: the tiny plain-HTTP client behind the fetch.
//! - [`webapp`]: `/config.json` (2 s deadline) and `cached_config.json` (atomic).
//! - [`resolve`]: flag > env > `daemon.yaml` > fetched > cached > default, pure.
//! - [`makemkvcon`]: discovery and version.
//! - [`refresh`]: refetch on `config_updated` / `webapp_config_changed`.
//! - [`hooks`]: the event names `hooks:` may use (SPEC §11.1).
//!
//! [`load`] runs them in order for `amphigory daemon` and `amphigory doctor`; it never
//! waits on the webapp longer than the fetch deadline, and with neither webapp nor cache
//! it still succeeds, in the "needs config" state.

pub mod file;
pub mod hooks;
pub mod http;
pub mod makemkvcon;
pub mod notifications;
pub mod refresh;
pub mod resolve;
pub mod webapp;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

pub use notifications::NotificationLevel;
pub use refresh::ConfigRefresher;
pub use resolve::{EffectiveConfig, Layers, NEEDS_CONFIG, Settings, Source, Sourced};

use crate::core::{Problem, ProblemKind};
use file::LocalConfig;
use http::HttpUrl;

/// Why the configuration cannot be used (`cli` exits with 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `daemon.yaml` is unreadable, malformed or has a bad value.
    #[error(transparent)]
    File(#[from] file::FileError),
    /// An environment variable has a value that cannot work.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// No state directory can be chosen.
    #[error("no --state-dir given and no home directory to put ~/.config/amphigory in")]
    NoStateDir,
}

/// What to load.
#[derive(Debug, Clone)]
pub struct LoadRequest {
    /// `--config` / `AMPHIGORY_CONFIG`: must exist. `None`: `~/.config/amphigory/daemon.yaml`,
    /// if it exists.
    pub config_file: Option<PathBuf>,
    /// `--state-dir` / `AMPHIGORY_STATE_DIR`.
    pub state_dir: Option<PathBuf>,
    /// Values given as flags.
    pub flags: Settings,
    /// Values given in the environment ([`env_settings`]).
    pub env: Settings,
    /// `--no-webapp`: never contact the webapp.
    pub no_webapp: bool,
    /// Deadline of `GET /config.json` ([`webapp::FETCH_TIMEOUT`]).
    pub fetch_timeout: Duration,
}

impl Default for LoadRequest {
    fn default() -> Self {
        Self {
            config_file: None,
            state_dir: None,
            flags: Settings::default(),
            env: Settings::default(),
            no_webapp: false,
            fetch_timeout: webapp::FETCH_TIMEOUT,
        }
    }
}

/// How the webapp's configuration was obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WebappState {
    /// No `webapp_url`.
    NotConfigured,
    /// `--no-webapp`.
    Disabled,
    /// Fetched (and cached).
    Fetched,
    /// The fetch failed.
    Unreachable {
        /// Why.
        reason: String,
    },
}

/// Whether `cached_config.json` was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CacheState {
    /// A fresh fetch replaced it.
    Replaced,
    /// Used instead of the webapp.
    Used,
    /// Not there.
    Missing,
    /// There but unusable.
    Unusable {
        /// Why.
        reason: String,
    },
}

/// The loaded configuration.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration in force.
    pub effective: EffectiveConfig,
    /// The layers it came from (refetches re-resolve them).
    pub layers: Layers,
    /// What `daemon.yaml` said beyond the shared settings (daemon options, drive labels).
    pub file: LocalConfig,
    /// The `daemon.yaml` consulted, and whether it existed.
    pub file_path: Option<(PathBuf, bool)>,
    /// The state directory.
    pub state_dir: PathBuf,
    /// `--no-webapp` (flag or `daemon.yaml`).
    pub no_webapp: bool,
    /// The webapp at load time.
    pub webapp: WebappState,
    /// The cache at load time.
    pub cache: CacheState,
    /// Things to log as warnings (unknown keys, an unusable cache…).
    pub warnings: Vec<String>,
    /// Deadline of refetches.
    pub fetch_timeout: Duration,
}

/// Reads `daemon.yaml`, fetches `/config.json` (or reads the cache) and resolves.
pub async fn load(request: &LoadRequest) -> Result<Loaded, ConfigError> {
    let file_path = match &request.config_file {
        Some(path) => Some((path.clone(), true)),
        None => default_config_path().map(|p| (p, false)),
    };
    let mut warnings = Vec::new();
    let mut found = false;
    let mut local = LocalConfig::default();
    if let Some((path, required)) = &file_path {
        if let Some(parsed) = file::read(path, *required)? {
            warnings.extend(parsed.unknown_warning(path));
            local = parsed.config;
            found = true;
        }
    }
    let state_dir = request
        .state_dir
        .clone()
        .or_else(|| local.state_dir.clone())
        .or_else(default_state_dir)
        .ok_or(ConfigError::NoStateDir)?;
    let no_webapp = request.no_webapp || local.no_webapp == Some(true);
    let mut layers = Layers {
        flag: request.flags.clone(),
        env: request.env.clone(),
        file: Settings::from(&local),
        fetched: None,
        cached: None,
    };
    let url = [&layers.flag, &layers.env, &layers.file]
        .into_iter()
        .find_map(|s| s.webapp_url.clone());
    let webapp = match url {
        None => WebappState::NotConfigured,
        Some(_) if no_webapp => WebappState::Disabled,
        Some(url) => {
            fetch_into(
                &url,
                &state_dir,
                request.fetch_timeout,
                &mut layers,
                &mut warnings,
            )
            .await
        }
    };
    let cache = if layers.fetched.is_some() {
        CacheState::Replaced
    } else {
        match webapp::read_cache(&state_dir) {
            Ok(Some(cached)) => {
                layers.cached = Some(cached);
                CacheState::Used
            }
            Ok(None) => CacheState::Missing,
            Err(error) => {
                let reason = error.to_string();
                warnings.push(format!("cached webapp config ignored: {reason}"));
                CacheState::Unusable { reason }
            }
        }
    };
    let effective = resolve::resolve(&layers, &state_dir);
    Ok(Loaded {
        effective,
        layers,
        file: local,
        file_path: file_path.map(|(p, _)| (p, found)),
        state_dir,
        no_webapp,
        webapp,
        cache,
        warnings,
        fetch_timeout: request.fetch_timeout,
    })
}

async fn fetch_into(
    url: &str,
    state_dir: &Path,
    timeout: Duration,
    layers: &mut Layers,
    warnings: &mut Vec<String>,
) -> WebappState {
    let fetched = match HttpUrl::parse(url) {
        Ok(parsed) => webapp::fetch(&parsed, timeout)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match fetched {
        Ok((config, raw)) => {
            if let Err(e) = webapp::write_cache(state_dir, &raw) {
                warnings.push(format!(
                    "cannot cache the webapp config in {}: {e}",
                    state_dir.display()
                ));
            }
            layers.fetched = Some(config);
            WebappState::Fetched
        }
        Err(reason) => WebappState::Unreachable {
            reason: format!("{url}/config.json: {reason}"),
        },
    }
}

/// `~/.config/amphigory/daemon.yaml`, when there is a home directory.
pub fn default_config_path() -> Option<PathBuf> {
    default_state_dir().map(|dir| dir.join("daemon.yaml"))
}

/// The [`Source::Env`] layer from `lookup` (`std::env::var` in the daemon; a map in tests).
pub fn env_settings(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
    let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
    let websocket_port = get("AMPHIGORY_WS_PORT")
        .map(|v| {
            v.trim().parse::<u16>().map_err(|e| ConfigError::Env {
                name: "AMPHIGORY_WS_PORT".into(),
                message: format!("{v:?} is not a port number ({e})"),
            })
        })
        .transpose()?;
    let basedir = get("AMPHIGORY_WEBAPP_BASEDIR").map(PathBuf::from);
    if let Some(dir) = basedir.as_ref().filter(|d| !d.is_absolute()) {
        return Err(ConfigError::Env {
            name: "AMPHIGORY_WEBAPP_BASEDIR".into(),
            message: format!("must be an absolute path, not {}", dir.display()),
        });
    }
    let webapp_url = get("AMPHIGORY_WEBAPP_URL");
    if let Some(url) = &webapp_url {
        HttpUrl::parse(url).map_err(|e| ConfigError::Env {
            name: "AMPHIGORY_WEBAPP_URL".into(),
            message: e.to_string(),
        })?;
    }
    Ok(Settings {
        webapp_url,
        webapp_basedir: basedir,
        daemon_id: get("AMPHIGORY_DAEMON_ID"),
        makemkvcon_path: get("AMPHIGORY_MAKEMKVCON").map(PathBuf::from),
        tasks_dir: get("AMPHIGORY_TASKS_DIR").map(PathBuf::from),
        websocket_port,
        log_level: get("AMPHIGORY_LOG"),
        ..Settings::default()
    })
}

/// [`env_settings`] over this process's environment.
pub fn process_env() -> Result<Settings, ConfigError> {
    env_settings(|name| std::env::var(name).ok())
}

impl Loaded {
    /// Logs what a person starting the daemon should know about its configuration.
    pub fn log_summary(&self) {
        if let Some((path, found)) = &self.file_path {
            if *found {
                tracing::info!("configuration from {}", path.display());
            } else {
                tracing::info!("no {}: built-in defaults", path.display());
            }
        }
        for warning in &self.warnings {
            tracing::warn!("{warning}");
        }
        match (&self.webapp, &self.cache) {
            (WebappState::Fetched, _) => tracing::info!("webapp config fetched and cached"),
            (WebappState::Unreachable { reason }, CacheState::Used) => {
                tracing::warn!("webapp unreachable ({reason}); using the cached config");
            }
            (WebappState::Unreachable { reason }, _) => {
                tracing::warn!("webapp unreachable ({reason}) and no cached config");
            }
            (WebappState::Disabled, _) => {
                tracing::info!("--no-webapp: the webapp is not contacted")
            }
            (WebappState::NotConfigured, _) => tracing::info!("no webapp_url configured"),
        }
        if let Some(needs) = &self.effective.needs_config {
            tracing::warn!(
                "{needs}; queue at {} meanwhile",
                self.effective.tasks_dir.value.display()
            );
        }
    }

    /// Problems a person should fix, as the status shows them.
    pub fn problems(&self) -> Vec<Problem> {
        let needs = self.effective.needs_config.iter();
        needs
            .map(|text| Problem::new(ProblemKind::NeedsConfig, text.clone()))
            .collect()
    }
}

/// `$USER@shorthostname`.
pub fn default_daemon_id() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "amphigory".to_owned());
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".to_owned());
    let short = host.split('.').next().unwrap_or(&host).to_owned();
    format!("{user}@{short}")
}

/// `~/.config/amphigory`, when there is a home directory.
pub fn default_state_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".config").join("amphigory"))
}
