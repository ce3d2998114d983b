//! What the menu's clicks do, on the daemon's side: engine commands, a browser opened
//! on a URL, or a graceful shutdown (followed by a re-exec for Restart).

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{TrayAction, TrayHandle};
use crate::engine::EngineHandle;

/// The program that opens a URL in the user's browser.
#[cfg(target_os = "macos")]
const OPENER: &str = "open";
/// The program that opens a URL in the user's browser.
#[cfg(not(target_os = "macos"))]
const OPENER: &str = "xdg-open";

/// What the actions act on.
pub(super) struct ActionContext {
    /// The engine.
    pub engine: EngineHandle,
    /// The tray (current URLs).
    pub handle: TrayHandle,
    /// Set by Restart: the main thread re-executes once everything has stopped.
    pub restart: Arc<AtomicBool>,
    /// The daemon's root token (Quit, Restart).
    pub shutdown: CancellationToken,
}

/// Acts on clicks until `shutdown`.
pub(super) async fn run(mut clicks: mpsc::UnboundedReceiver<TrayAction>, ctx: ActionContext) {
    loop {
        let action = tokio::select! {
            () = ctx.shutdown.cancelled() => return,
            action = clicks.recv() => match action {
                Some(action) => action,
                None => return,
            },
        };
        perform(action, &ctx).await;
    }
}

/// Does what `action` says.
async fn perform(action: TrayAction, ctx: &ActionContext) {
    tracing::info!("menu: {}", action.title());
    let config = ctx.handle.config();
    match action {
        TrayAction::PauseAfterTrack => set_paused(ctx, true, false).await,
        TrayAction::PauseNow => set_paused(ctx, true, true).await,
        TrayAction::Resume => set_paused(ctx, false, false).await,
        TrayAction::OpenWebapp => open(config.webapp_url.as_deref()),
        TrayAction::Help => open(config.wiki_url.as_deref()),
        TrayAction::Preferences => open(config.preferences_url().as_deref()),
        TrayAction::Restart => {
            ctx.restart.store(true, Ordering::SeqCst);
            ctx.shutdown.cancel();
        }
        TrayAction::Quit => ctx.shutdown.cancel(),
    }
}

/// Pauses (after the running tasks, or `now`) or resumes; the menu follows the status.
async fn set_paused(ctx: &ActionContext, paused: bool, now: bool) {
    if let Err(e) = ctx.engine.set_paused(paused, now).await {
        tracing::warn!("menu: {e}");
    }
}

/// Opens `url` in the browser, without waiting for it (the child is reaped in the
/// background). Only `http(s)` URLs: anything else from a config file is refused.
fn open(url: Option<&str>) {
    let Some(url) = url else {
        tracing::warn!("menu: no URL configured");
        return;
    };
    if !is_web_url(url) {
        tracing::warn!("menu: not opening {url:?}: only http:// and https:// URLs");
        return;
    }
    let child = tokio::process::Command::new(OPENER)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(mut child) => {
            let url = url.to_owned();
            tokio::spawn(async move {
                match child.wait().await {
                    Ok(status) if !status.success() => {
                        tracing::warn!("{OPENER} {url} exited with {status}");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("{OPENER} {url}: {e}"),
                }
            });
        }
        Err(e) => tracing::warn!("cannot run {OPENER} to open {url}: {e}"),
    }
}

/// `http://…` or `https://…` with something after the scheme.
pub(super) fn is_web_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["http://", "https://"].iter().any(|scheme| {
        lower
            .strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty())
    }) && !url.chars().any(char::is_whitespace)
}
