//! The live link to the real Amphigory webapp (SPEC §7.2). The webapp is a WebSocket
//! *server* at `{webapp_url as ws}/ws` that never dials out, so the daemon connects to it
//! and keeps reconnecting with exponential backoff (1 s doubling to 30 s).
//!
//! On every connection, first `daemon_config` (the webapp ignores anything sent before it),
//! then `disc_event`s for the discs already in, then the progress of every running task,
//! then, as they happen: `disc_event`s and
//! `progress` from the event bus, and a `heartbeat` every `heartbeat_interval`. `request`s
//! are answered through [`super::requests::respond`], exactly as the daemon's own server
//! answers them. The webapp echoes everything to every socket: echoes and unknown types
//! are ignored quietly. `config_updated` / `webapp_config_changed` wake the config
//! refresher, as does every (re)connection.
//!
//! The link is one task that owns its socket; it only reads the bus and the status, so
//! nothing else ever waits for it: with the webapp down the queue runs on and results
//! pile up in `complete/`. An `https://` webapp is reached over `wss://` (see
//! [`crate::tls`]).

use std::sync::Arc;
use std::time::Duration;

use amphigory_wire::ws::{DiscEventKind, InboundMessage, LinkMessage};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, broadcast};
use tokio::time::{MissedTickBehavior, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

mod connect;

pub use connect::{LinkError, Socket, open};

use super::requests;
use crate::config::http::HttpUrl;
use crate::config::{ConfigRefresher, EffectiveConfig};
use crate::core::status::progress_event;
use crate::core::{DaemonEvent, EventBus};
use crate::engine::{EngineHandle, Report};
use crate::units::now_rfc3339;

/// Exponential backoff between connection attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s doubling to 30 s (SPEC §7.2).
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The delay before the next attempt after `failures` failed ones in a row (0 after a
    /// connection that worked): `initial`, doubled per failure, capped at `max`.
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.initial.saturating_mul(1 << doublings).min(self.max)
    }
}

/// How the link connects and what it announces.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    /// The webapp.
    pub url: HttpUrl,
    /// `webapp_basedir`, announced in `daemon_config`.
    pub webapp_basedir: Option<std::path::PathBuf>,
    /// The makemkvcon in use, announced in `daemon_config`.
    pub makemkvcon_path: Option<std::path::PathBuf>,
    /// Heartbeat period (a refetched config changes it at once).
    pub heartbeat_interval: Duration,
    /// Between connection attempts.
    pub backoff: Backoff,
    /// TCP connect plus WebSocket handshake.
    pub connect_timeout: Duration,
    /// A write (answers included, SPEC: within 5 s) that takes longer drops the connection.
    pub write_timeout: Duration,
    /// Refetches the webapp's config; `None` = never.
    pub refresher: Option<ConfigRefresher>,
}

impl LinkOptions {
    /// Defaults for everything but the URL.
    pub fn new(url: HttpUrl) -> Self {
        Self {
            url,
            webapp_basedir: None,
            makemkvcon_path: None,
            heartbeat_interval: Duration::from_secs(10),
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(5),
            refresher: None,
        }
    }
}

/// What the link reads and notifies.
#[derive(Debug, Clone)]
pub struct LinkContext {
    /// Disc and progress events.
    pub bus: EventBus,
    /// The engine: answers to requests and progress after a reconnect read its status;
    /// the link reports whether it is up.
    pub engine: EngineHandle,
    /// Notified when the webapp's config should be refetched.
    pub config_changed: Arc<Notify>,
}

/// Spawns the link, and the config refresher when there is one, on `tasks`.
pub fn spawn(
    options: LinkOptions,
    ctx: LinkContext,
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
) {
    if let Some(refresher) = options.refresher.clone() {
        let engine = ctx.engine.clone();
        tasks.spawn(crate::config::refresh::run(
            refresher,
            ctx.config_changed.clone(),
            move |problems| {
                let engine = engine.clone();
                async move { engine.report(Report::ConfigProblems(problems)).await }
            },
            shutdown.child_token(),
        ));
    }
    tasks.spawn(run(options, ctx, shutdown.child_token()));
}

/// Connects, serves, reconnects, until `shutdown`. Never fails.
pub async fn run(options: LinkOptions, ctx: LinkContext, shutdown: CancellationToken) {
    let ws_url = options.url.ws_url("/ws");
    let set_connected = |up: bool| ctx.engine.report(Report::WebappLink(up));
    set_connected(false).await;
    let mut failures: u32 = 0;
    loop {
        let attempt = tokio::select! {
            () = shutdown.cancelled() => return,
            attempt = open(&options.url, options.connect_timeout) => attempt,
        };
        match attempt {
            Ok(ws) => {
                info!("webapp link connected to {ws_url}");
                set_connected(true).await;
                failures = 0;
                ctx.config_changed.notify_one();
                let why = Session::new(ws, &options, &ctx, &shutdown).run().await;
                set_connected(false).await;
                if shutdown.is_cancelled() {
                    return;
                }
                info!("webapp link lost ({why}); reconnecting");
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                if failures == 1 {
                    warn!("webapp link: cannot connect to {ws_url} ({e}); retrying with backoff");
                } else {
                    debug!("webapp link: attempt {failures} failed: {e}");
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(options.backoff.delay(failures)) => {}
        }
    }
}

/// One connection.
struct Session<'a> {
    ws: Socket,
    options: &'a LinkOptions,
    ctx: &'a LinkContext,
    shutdown: &'a CancellationToken,
    events: broadcast::Receiver<DaemonEvent>,
}

impl<'a> Session<'a> {
    fn new(
        ws: Socket,
        options: &'a LinkOptions,
        ctx: &'a LinkContext,
        shutdown: &'a CancellationToken,
    ) -> Self {
        // Subscribed before registering: nothing published meanwhile is missed, and all
        // of it goes out after `daemon_config`.
        let events = ctx.bus.subscribe();
        Self {
            ws,
            options,
            ctx,
            shutdown,
            events,
        }
    }

    /// Serves until the connection ends; says why.
    async fn run(mut self) -> LinkError {
        if let Err(e) = self.register().await {
            return e;
        }
        let mut config = self
            .options
            .refresher
            .as_ref()
            .map(ConfigRefresher::subscribe);
        let period = config
            .as_ref()
            .map_or(self.options.heartbeat_interval, |c| {
                heartbeat_of(&c.borrow())
            });
        let mut heartbeat = heartbeat_timer(period);
        loop {
            let outcome = tokio::select! {
                () = self.shutdown.cancelled() => {
                    let _ = timeout(Duration::from_secs(1), self.ws.close(None)).await;
                    return LinkError::Stopping;
                }
                inbound = self.ws.next() => match inbound {
                    Some(Ok(message)) => self.on_message(message).await,
                    Some(Err(e)) => Err(e.into()),
                    None => Err(LinkError::Closed),
                },
                event = self.events.recv() => self.on_event(event).await,
                _ = heartbeat.tick() => self.send(&LinkMessage::Heartbeat { timestamp: now_rfc3339() }).await,
                Some(period) = changed(&mut config) => {
                    heartbeat = heartbeat_timer(period);
                    Ok(())
                }
            };
            if let Err(why) = outcome {
                return why;
            }
        }
    }

    /// `daemon_config` first, then the discs already in (a webapp that restarted, or a
    /// daemon that started with a disc in, must show them), then where every running
    /// task is.
    async fn register(&mut self) -> Result<(), LinkError> {
        let snapshot = self.ctx.engine.snapshot();
        let display = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
        self.send(&LinkMessage::DaemonConfig {
            timestamp: now_rfc3339(),
            daemon_id: snapshot.daemon_id.clone(),
            makemkvcon_path: display(&self.options.makemkvcon_path),
            webapp_basedir: display(&self.options.webapp_basedir),
            git_sha: option_env!("AMPHIGORY_GIT_SHA").map(str::to_owned),
        })
        .await?;
        for message in discs_in(&snapshot) {
            self.send(&message).await?;
        }
        self.send_running_progress().await
    }

    async fn send_running_progress(&mut self) -> Result<(), LinkError> {
        for task in self.ctx.engine.snapshot().running {
            if let Some(message) = link_message(&progress_event(&task)) {
                self.send(&message).await?;
            }
        }
        Ok(())
    }

    async fn on_event(&mut self, event: Result<DaemonEvent, RecvError>) -> Result<(), LinkError> {
        match event {
            Ok(event) => match link_message(&event) {
                Some(message) => self.send(&message).await,
                None => Ok(()),
            },
            // Missed events: the snapshot has where every task is now.
            Err(RecvError::Lagged(missed)) => {
                debug!("webapp link missed {missed} events; resending progress");
                self.send_running_progress().await
            }
            Err(RecvError::Closed) => Err(LinkError::BusClosed),
        }
    }

    async fn on_message(&mut self, message: Message) -> Result<(), LinkError> {
        let Message::Text(text) = message else {
            // Pings are answered by tungstenite; binary frames mean nothing here.
            return Ok(());
        };
        match serde_json::from_str::<InboundMessage>(text.as_str()) {
            Ok(InboundMessage::Request {
                request_id,
                method,
                params,
            }) => {
                let answer =
                    requests::respond(&self.ctx.engine.snapshot(), request_id, &method, &params);
                self.send(&answer).await
            }
            Ok(InboundMessage::ConfigUpdated | InboundMessage::WebappConfigChanged) => {
                info!("webapp says its config changed; refetching");
                self.ctx.config_changed.notify_one();
                Ok(())
            }
            // The webapp's echoes of what we (or other daemons) sent, and anything new.
            Ok(InboundMessage::Unknown) => Ok(()),
            Err(e) => {
                debug!("webapp link: ignoring malformed input ({e})");
                Ok(())
            }
        }
    }

    async fn send(&mut self, message: &LinkMessage) -> Result<(), LinkError> {
        let json = serde_json::to_string(message)?;
        match timeout(
            self.options.write_timeout,
            self.ws.send(Message::text(json)),
        )
        .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(LinkError::Write(e)),
            Err(_) => Err(LinkError::WriteTimeout),
        }
    }
}

/// The link message for a bus event: disc events and progress; nothing else.
pub fn link_message(event: &DaemonEvent) -> Option<LinkMessage> {
    match event {
        DaemonEvent::TaskProgress { .. } => event.progress().map(LinkMessage::Progress),
        DaemonEvent::Disc {
            event,
            device,
            volume_name,
            fingerprint,
            ..
        } => {
            let (volume_name, fingerprint, volume_path) = match event {
                DiscEventKind::Inserted => (volume_name.clone(), None, None),
                DiscEventKind::Fingerprinted => (None, fingerprint.clone(), None),
                DiscEventKind::Ejected => {
                    (None, None, volume_name.as_deref().and_then(volume_path))
                }
            };
            Some(LinkMessage::DiscEvent {
                event: *event,
                device: device.clone(),
                volume_name,
                fingerprint,
                volume_path,
            })
        }
        _ => None,
    }
}

/// `disc_event` `inserted` and (when known) `fingerprinted` for every drive holding a
/// disc, as the webapp would have heard them when the discs went in.
fn discs_in(snapshot: &crate::core::StatusSnapshot) -> Vec<LinkMessage> {
    use amphigory_wire::drive::DriveState;
    let mut messages = Vec::new();
    for drive in snapshot
        .drives
        .iter()
        .filter(|d| d.state != DriveState::Empty)
    {
        messages.push(LinkMessage::DiscEvent {
            event: DiscEventKind::Inserted,
            device: drive.device.clone(),
            volume_name: drive.disc_volume.clone(),
            fingerprint: None,
            volume_path: None,
        });
        if let Some(fingerprint) = &drive.fingerprint {
            messages.push(LinkMessage::DiscEvent {
                event: DiscEventKind::Fingerprinted,
                device: drive.device.clone(),
                volume_name: None,
                fingerprint: Some(fingerprint.clone()),
                volume_path: None,
            });
        }
    }
    messages
}

/// Where macOS mounted a volume of that name; unknown elsewhere.
fn volume_path(volume_name: &str) -> Option<String> {
    cfg!(target_os = "macos").then(|| format!("/Volumes/{volume_name}"))
}

fn heartbeat_of(config: &EffectiveConfig) -> Duration {
    Duration::from_secs(config.heartbeat_interval.value.max(1))
}

fn heartbeat_timer(period: Duration) -> tokio::time::Interval {
    let period = period.max(Duration::from_millis(10));
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    timer
}

/// The new heartbeat period when the config changed; pending forever without a refresher.
async fn changed(
    config: &mut Option<tokio::sync::watch::Receiver<Arc<EffectiveConfig>>>,
) -> Option<Duration> {
    match config {
        Some(rx) => match rx.changed().await {
            Ok(()) => Some(heartbeat_of(&rx.borrow_and_update())),
            Err(_) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_thirty() {
        let b = Backoff::default();
        let delays: Vec<u64> = (0..9).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn disc_events_carry_the_webapp_fields_per_kind() {
        let disc = |event| DaemonEvent::Disc {
            event,
            drive_id: "me@h:sr0".into(),
            device: "/dev/sr0".into(),
            volume_name: Some("DEMO".into()),
            fingerprint: Some("fp".into()),
        };
        let v = |e| serde_json::to_value(link_message(&disc(e)).unwrap()).unwrap();
        assert_eq!(
            v(DiscEventKind::Inserted),
            serde_json::json!({"type":"disc_event","event":"inserted","device":"/dev/sr0","volume_name":"DEMO"})
        );
        assert_eq!(
            v(DiscEventKind::Fingerprinted),
            serde_json::json!({"type":"disc_event","event":"fingerprinted","device":"/dev/sr0","fingerprint":"fp"})
        );
        assert_eq!(v(DiscEventKind::Ejected)["event"], "ejected");
        assert!(link_message(&DaemonEvent::Paused).is_none());
    }
}
