//! Refetching the webapp's configuration when it says it changed (`config_updated`, the
//! seed's name, or `webapp_config_changed`, the real daemon's — on the daemon's own server
//! or on the webapp link) and whenever the link (re)connects: fetch, cache, re-resolve,
//! publish. Heartbeats follow the new interval at once; a new queue directory or port
//! needs a restart, which the status says.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::Loaded;
use super::http::HttpUrl;
use super::resolve::{EffectiveConfig, Layers, resolve};
use super::webapp::{self, FetchError};
use crate::core::{Problem, ProblemKind};

/// Every "restart needed" problem starts with this.
pub use crate::core::problem::RESTART_NEEDED;

/// Refetches and re-resolves; cheap to clone.
#[derive(Debug, Clone)]
pub struct ConfigRefresher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    url: HttpUrl,
    state_dir: PathBuf,
    timeout: Duration,
    // A std mutex: held only to swap and read the layers, never across an await.
    layers: Mutex<Layers>,
    tx: watch::Sender<Arc<EffectiveConfig>>,
    /// What the daemon started with (a change needs a restart).
    started: Arc<EffectiveConfig>,
}

impl ConfigRefresher {
    /// A refresher for this configuration; `None` without a usable `webapp_url` or with
    /// `--no-webapp`.
    pub fn new(loaded: &Loaded) -> Option<Self> {
        if loaded.no_webapp {
            return None;
        }
        let url = HttpUrl::parse(loaded.effective.webapp_url.value.as_deref()?).ok()?;
        let started = Arc::new(loaded.effective.clone());
        Some(Self {
            inner: Arc::new(Inner {
                url,
                state_dir: loaded.state_dir.clone(),
                timeout: loaded.fetch_timeout,
                layers: Mutex::new(loaded.layers.clone()),
                tx: watch::channel(started.clone()).0,
                started,
            }),
        })
    }

    /// Sees every new configuration.
    pub fn subscribe(&self) -> watch::Receiver<Arc<EffectiveConfig>> {
        self.inner.tx.subscribe()
    }

    /// Fetches `/config.json` now: on success it is cached, resolved and published.
    pub async fn refresh(&self) -> Result<Arc<EffectiveConfig>, FetchError> {
        let inner = &self.inner;
        let (config, raw) = webapp::fetch(&inner.url, inner.timeout).await?;
        if let Err(e) = webapp::write_cache(&inner.state_dir, &raw) {
            tracing::warn!("cannot cache the webapp config: {e}");
        }
        let layers = match inner.layers.lock() {
            Ok(mut layers) => {
                layers.fetched = Some(config);
                layers.cached = None;
                layers.clone()
            }
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let effective = Arc::new(resolve(&layers, &inner.state_dir));
        inner.tx.send_replace(effective.clone());
        Ok(effective)
    }

    /// The problems this configuration means for a daemon started with another one.
    pub fn problems(&self, now: &EffectiveConfig) -> Vec<Problem> {
        let started = &self.inner.started;
        let mut problems = Vec::new();
        if now.tasks_dir.value != started.tasks_dir.value && now.needs_config.is_none() {
            problems.push(Problem::new(ProblemKind::RestartNeeded, format!(
                "{RESTART_NEEDED}: the tasks directory is now {} (in use: {}); restart the daemon to use it",
                now.tasks_dir.value.display(),
                started.tasks_dir.value.display()
            )));
        } else if let Some(needs) = &now.needs_config {
            problems.push(Problem::new(ProblemKind::NeedsConfig, needs.clone()));
        }
        if now.websocket_port.value != started.websocket_port.value {
            problems.push(Problem::new(ProblemKind::RestartNeeded, format!(
                "{RESTART_NEEDED}: websocket_port is now {} (listening on {}); restart the daemon to use it",
                now.websocket_port.value, started.websocket_port.value
            )));
        }
        problems
    }
}

/// Refetches on every notification until `shutdown`, giving `report` the problems each
/// refetched configuration means (they replace the configuration's earlier ones in the
/// status); failures are logged and the configuration in force stays.
pub async fn run<F>(
    refresher: ConfigRefresher,
    changed: Arc<Notify>,
    report: impl Fn(Vec<Problem>) -> F + Send,
    shutdown: CancellationToken,
) where
    F: std::future::Future<Output = ()> + Send,
{
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = changed.notified() => {}
        }
        let refreshed = tokio::select! {
            () = shutdown.cancelled() => return,
            refreshed = refresher.refresh() => refreshed,
        };
        match refreshed {
            Ok(now) => {
                tracing::info!("webapp config refetched");
                report(refresher.problems(&now)).await;
            }
            Err(e) => tracing::warn!("cannot refetch the webapp config: {e}"),
        }
    }
}
