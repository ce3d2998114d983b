//! The webapp's runtime configuration (SPEC §3): `GET {webapp_url}/config.json` with a
//! short deadline, and its atomic cache `cached_config.json` in the state directory.
//!
//! Missing optional keys are simply absent here (the resolver supplies defaults); extra
//! keys are kept in [`WebappConfig::extra`]; a body that is not a JSON object, or a known
//! key of the wrong type, makes the whole answer unusable (and the cache is used instead).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::http::{self, HttpError, HttpUrl};

/// Where the webapp serves its configuration.
pub const CONFIG_PATH: &str = "/config.json";
/// How long start-up waits for it (SPEC §3).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// The cache's file name in the state directory.
pub const CACHE_FILE: &str = "cached_config.json";

/// What `/config.json` says.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct WebappConfig {
    /// Container path of the task queue, e.g. `/data/tasks`.
    #[serde(default)]
    pub tasks_directory: Option<String>,
    /// Port of the daemon's WebSocket server.
    #[serde(default)]
    pub websocket_port: Option<u16>,
    /// The wiki, for the menu.
    #[serde(default)]
    pub wiki_url: Option<String>,
    /// Heartbeat period, seconds (a fraction is rounded up).
    #[serde(default, deserialize_with = "positive_seconds")]
    pub heartbeat_interval: Option<u64>,
    /// Log level.
    #[serde(default)]
    pub log_level: Option<String>,
    /// makemkvcon path (may be null).
    #[serde(default)]
    pub makemkv_path: Option<String>,
    /// Host path of rips (informational).
    #[serde(default)]
    pub ripped_directory: Option<String>,
    /// Everything else, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn positive_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let Some(secs) = Option::<f64>::deserialize(d)? else {
        return Ok(None);
    };
    if !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 {
        return Err(serde::de::Error::custom(format!(
            "heartbeat_interval must be between 0 and 86400 seconds, not {secs}"
        )));
    }
    // In range, so the cast neither truncates nor wraps.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(Some(secs.ceil() as u64))
}

/// Why a `/config.json` body (or the cache) is not a configuration.
#[derive(Debug, thiserror::Error)]
pub enum WebappJsonError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but not an object.
    #[error("not a JSON object")]
    NotObject,
    /// An object with a known key of the wrong type: `key: error`.
    #[error("unusable: {0}")]
    Unusable(String),
}

/// Why the cached configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// It could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The cache file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is not a configuration.
    #[error("{}: {source}", path.display())]
    Invalid {
        /// The cache file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: WebappJsonError,
    },
}

impl WebappConfig {
    /// Parses a `/config.json` body (or the cache).
    pub fn from_json(bytes: &[u8]) -> Result<(Self, Value), WebappJsonError> {
        let value: Value = serde_json::from_slice(bytes).map_err(WebappJsonError::NotJson)?;
        if !value.is_object() {
            return Err(WebappJsonError::NotObject);
        }
        let config = Self::deserialize(&value).map_err(|e| {
            // serde names no field through `flatten`: find the culprit ourselves.
            let culprit = value.as_object().and_then(culprit);
            WebappJsonError::Unusable(culprit.unwrap_or_else(|| e.to_string()))
        })?;
        Ok((config, value))
    }
}

/// `key: error` for the first known key whose value has the wrong type.
fn culprit(object: &Map<String, Value>) -> Option<String> {
    fn bad<T: serde::de::DeserializeOwned>(
        object: &Map<String, Value>,
        key: &str,
    ) -> Option<String> {
        let error = T::deserialize(object.get(key)?).err()?;
        Some(format!("{key}: {error}"))
    }
    let strings = [
        "tasks_directory",
        "wiki_url",
        "log_level",
        "makemkv_path",
        "ripped_directory",
    ];
    strings
        .into_iter()
        .find_map(|key| bad::<Option<String>>(object, key))
        .or_else(|| bad::<Option<u16>>(object, "websocket_port"))
        .or_else(|| {
            let error = positive_seconds(object.get("heartbeat_interval")?).err()?;
            Some(format!("heartbeat_interval: {error}"))
        })
}

/// Why the webapp's configuration could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Unreachable, too slow, not HTTP.
    #[error("{0}")]
    Http(#[from] HttpError),
    /// An HTTP error status.
    #[error("HTTP {0}")]
    Status(u16),
    /// A body that is not a usable configuration.
    #[error("config.json is {0}")]
    Invalid(#[from] WebappJsonError),
}

/// `GET {url}/config.json` within `timeout`: the parsed configuration and the raw JSON
/// (for the cache).
pub async fn fetch(url: &HttpUrl, timeout: Duration) -> Result<(WebappConfig, Value), FetchError> {
    let response = http::get(url, CONFIG_PATH, timeout).await?;
    if response.status != 200 {
        return Err(FetchError::Status(response.status));
    }
    WebappConfig::from_json(&response.body).map_err(FetchError::Invalid)
}

/// `state_dir/cached_config.json`.
pub fn cache_path(state_dir: &Path) -> PathBuf {
    state_dir.join(CACHE_FILE)
}

/// The cached configuration: `Ok(None)` when there is none, `Err` (say why) when it is
/// there but unusable.
pub fn read_cache(state_dir: &Path) -> Result<Option<WebappConfig>, CacheError> {
    let path = cache_path(state_dir);
    match std::fs::read(&path) {
        Ok(bytes) => match WebappConfig::from_json(&bytes) {
            Ok((config, _)) => Ok(Some(config)),
            Err(source) => Err(CacheError::Invalid { path, source }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CacheError::Read { path, source }),
    }
}

/// Replaces the cache atomically: a temp file in the same directory, fsynced, renamed.
pub fn write_cache(state_dir: &Path, raw: &Value) -> std::io::Result<()> {
    std::fs::create_dir_all(state_dir)?;
    crate::fsio::write_atomic(state_dir, CACHE_FILE, &cache_bytes(raw)?, true)
}

/// What the cache holds for the raw `/config.json` value `raw`: pretty JSON and a newline.
pub fn cache_bytes(raw: &Value) -> serde_json::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(raw)?;
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_are_absent_and_extra_keys_are_kept() {
        let (c, _) =
            WebappConfig::from_json(br#"{"tasks_directory":"/t","theme":"dark"}"#).unwrap();
        assert_eq!(c.tasks_directory.as_deref(), Some("/t"));
        assert_eq!(c.websocket_port, None);
        assert_eq!(c.extra.get("theme"), Some(&Value::from("dark")));
        let (c, _) =
            WebappConfig::from_json(br#"{"heartbeat_interval":2.5,"makemkv_path":null}"#).unwrap();
        assert_eq!(c.heartbeat_interval, Some(3));
        assert_eq!(c.makemkv_path, None);
    }

    #[test]
    fn wrong_shapes_are_refused() {
        assert!(
            WebappConfig::from_json(b"<html>")
                .unwrap_err()
                .to_string()
                .starts_with("not JSON")
        );
        assert!(WebappConfig::from_json(b"[1]").is_err());
        assert!(WebappConfig::from_json(br#"{"websocket_port":"x"}"#).is_err());
        assert!(WebappConfig::from_json(br#"{"heartbeat_interval":0}"#).is_err());
    }

    #[test]
    fn cache_round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_cache(dir.path()).unwrap(), None);
        let raw = serde_json::json!({"tasks_directory":"/x","websocket_port":1});
        write_cache(dir.path(), &raw).unwrap();
        let cached = read_cache(dir.path()).unwrap().unwrap();
        assert_eq!(cached.websocket_port, Some(1));
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1);
        std::fs::write(cache_path(dir.path()), b"{broken").unwrap();
        assert!(read_cache(dir.path()).is_err());
    }
}
