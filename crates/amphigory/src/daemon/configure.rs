//! The loaded configuration turned into the daemon's options. It lives here, above both,
//! because the options name the servers' link settings and the configuration must not
//! know the layers above it (issue 15).

use std::path::Path;
use std::time::Duration;

use crate::config::http::HttpUrl;
use crate::config::{ConfigRefresher, Loaded};
use crate::core::{Problem, ProblemKind};
use crate::servers::webapp_link::LinkOptions;

use super::DaemonOptions;

/// What [`Loaded`] sets in a [`DaemonOptions`].
pub trait ApplyConfig {
    /// Fills the daemon's options from the configuration: id, WebSocket port and heartbeat,
    /// makemkvcon (discovered; not needed with simulated drives), the webapp's origin,
    /// the link (unless `--no-webapp`) and the initial problems.
    fn apply(&self, options: &mut DaemonOptions);

    /// The webapp link's options: `None` without a `webapp_url` or with `--no-webapp`.
    fn link_options(&self, makemkvcon: Option<&Path>) -> Option<LinkOptions>;
}

impl ApplyConfig for Loaded {
    fn apply(&self, options: &mut DaemonOptions) {
        let e = &self.effective;
        options.daemon_id = e.daemon_id.value.clone();
        options.ws_port = Some(e.websocket_port.value);
        options.heartbeat_interval = Duration::from_secs(e.heartbeat_interval.value);
        options.webapp_url = e.webapp_url.value.clone();
        options.engine.ripped_directory = e.ripped_directory.value.clone();
        options.config_problems = self.problems();
        if options.simulate.is_none() {
            let discovery = crate::config::makemkvcon::discover(e.makemkvcon_path.value.as_deref());
            if let Some(loud) = &discovery.configured_missing {
                tracing::error!("{loud}");
            }
            if let Some(problem) = discovery.problem() {
                tracing::error!("{problem}");
                options
                    .problems
                    .push(Problem::new(ProblemKind::NoMakemkvcon, problem));
            }
            options.makemkvcon = discovery.found;
        }
        options.webapp_link = self.link_options(options.makemkvcon.as_deref());
    }

    fn link_options(&self, makemkvcon: Option<&Path>) -> Option<LinkOptions> {
        if self.no_webapp {
            return None;
        }
        let url = HttpUrl::parse(self.effective.webapp_url.value.as_deref()?).ok()?;
        let mut link = LinkOptions::new(url);
        link.webapp_basedir = self.effective.webapp_basedir.value.clone();
        link.makemkvcon_path = makemkvcon.map(Path::to_owned);
        link.heartbeat_interval = Duration::from_secs(self.effective.heartbeat_interval.value);
        link.refresher = ConfigRefresher::new(self);
        Some(link)
    }
}
