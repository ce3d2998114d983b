//! Linux: a StatusNotifierItem with a `com.canonical.dbusmenu` menu on the D-Bus session
//! bus, through the `ksni` crate (pure Rust over `zbus`: no GTK, no system libraries).
//! KDE Plasma shows it natively, GNOME with the AppIndicator extension, most other
//! panels too.
//!
//! The service is a task on the runtime (it is only D-Bus traffic); the main thread
//! awaits the state channel and pushes each new menu to it. ksni registers with the
//! `org.kde.StatusNotifierWatcher` when one is there and keeps serving (and registers
//! later) when it is not: the item is on the bus as `org.kde.StatusNotifierItem-PID-N`
//! either way. No session bus at all: the daemon logs it and runs headless.

use std::process::ExitCode;

use ksni::TrayMethods as _;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::icons::{self, Scale};
use super::platform::{MainSide, Platform, Waker};
use super::{IconName, MenuItem, TrayAction, TrayMenu};

/// The ink colour of the icons: template icons are black, invisible on the dark panels
/// most desktops use; this grey keeps at least 3:1 contrast on black, white and the
/// usual dark-grey and light-grey panels.
const INK: [u8; 3] = [0x88, 0x88, 0x88];

/// The Linux backend.
pub(super) struct Linux;

impl Platform for Linux {
    fn waker() -> Option<Waker> {
        None
    }

    fn run(runtime: &Runtime, main: MainSide, daemon: JoinHandle<ExitCode>) -> ExitCode {
        runtime.block_on(serve(main, daemon))
    }
}

/// Shows the tray once the daemon has started, follows its state, takes the tray down
/// when the daemon's task ends; returns its exit code.
async fn serve(mut main: MainSide, mut daemon: JoinHandle<ExitCode>) -> ExitCode {
    let mut tray: Option<ksni::Handle<KsniTray>> = None;
    let mut shown: Option<TrayMenu> = None;
    let mut updates_open = true;
    loop {
        tokio::select! {
            code = &mut daemon => {
                // The item leaves the bus with the connection, when the runtime shuts
                // down (or at exec, on restart). `Handle::shutdown` would close it now,
                // but zbus then logs a spurious warning about its `NameLost` watch.
                drop(tray);
                return code.unwrap_or_else(|e| {
                    tracing::error!("the daemon's task failed: {e}");
                    ExitCode::FAILURE
                });
            }
            changed = main.state.changed(), if updates_open => {
                if changed.is_err() {
                    updates_open = false;
                    continue;
                }
            }
        }
        let menu = {
            let state = main.state.borrow_and_update();
            (state.started && !state.closed).then(|| state.menu())
        };
        let Some(menu) = menu.filter(|m| shown.as_ref() != Some(m)) else {
            continue;
        };
        match &tray {
            Some(handle) => {
                let next = menu.clone();
                if handle.update(move |t| t.show(next)).await.is_none() {
                    tracing::warn!("the tray icon's D-Bus service stopped");
                }
            }
            None if shown.is_none() => tray = spawn(menu.clone(), main.actions.clone()).await,
            None => {}
        }
        shown = Some(menu);
    }
}

/// Puts the item on the session bus; `None` (logged) when there is no session bus.
async fn spawn(
    menu: TrayMenu,
    actions: mpsc::UnboundedSender<TrayAction>,
) -> Option<ksni::Handle<KsniTray>> {
    let tray = KsniTray::new(menu, actions);
    match tray.assume_sni_available(true).spawn().await {
        Ok(handle) => {
            tracing::info!(
                "tray icon on the D-Bus session bus (org.kde.StatusNotifierItem-{}-N)",
                std::process::id()
            );
            Some(handle)
        }
        Err(ksni::Error::Dbus(e)) => {
            tracing::warn!(
                "no tray icon: no D-Bus session bus to show it on ({e}); running headless"
            );
            None
        }
        Err(e) => {
            tracing::warn!("no tray icon ({e}): running headless");
            None
        }
    }
}

/// What ksni serves.
struct KsniTray {
    menu: TrayMenu,
    pixmaps: Vec<ksni::Icon>,
    actions: mpsc::UnboundedSender<TrayAction>,
}

impl KsniTray {
    fn new(menu: TrayMenu, actions: mpsc::UnboundedSender<TrayAction>) -> Self {
        Self {
            pixmaps: pixmaps(menu.icon),
            menu,
            actions,
        }
    }

    /// Shows `menu` (the icon is decoded again only when it changed).
    fn show(&mut self, menu: TrayMenu) {
        if menu.icon != self.menu.icon {
            self.pixmaps = pixmaps(menu.icon);
        }
        self.menu = menu;
    }
}

/// The icon at both sizes, tinted, as StatusNotifierItem pixmaps.
fn pixmaps(icon: IconName) -> Vec<ksni::Icon> {
    Scale::ALL
        .into_iter()
        .filter_map(|scale| match icons::load(icon, scale) {
            Ok(rgba) => Some(rgba.tinted(INK)),
            Err(e) => {
                tracing::warn!("{e}");
                None
            }
        })
        .map(|rgba| ksni::Icon {
            width: i32::try_from(rgba.width).unwrap_or(0),
            height: i32::try_from(rgba.height).unwrap_or(0),
            data: rgba.to_argb32(),
        })
        .collect()
}

/// dbusmenu labels treat `_` as the access-key marker: a literal one is doubled.
fn label(text: &str) -> String {
    text.replace('_', "__")
}

/// Tooltip text is a subset of HTML.
fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl ksni::Tray for KsniTray {
    // A left click opens the menu too: the item has nothing else to show.
    const MENU_ON_ACTIVATE: bool = true;

    fn id(&self) -> String {
        "amphigory".into()
    }

    fn title(&self) -> String {
        "Amphigory".into()
    }

    fn category(&self) -> ksni::Category {
        ksni::Category::ApplicationStatus
    }

    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        self.pixmaps.clone()
    }

    fn tool_tip(&self) -> ksni::ToolTip {
        ksni::ToolTip {
            title: "Amphigory".into(),
            description: escape_markup(&self.menu.tooltip),
            ..ksni::ToolTip::default()
        }
    }

    fn menu(&self) -> Vec<ksni::MenuItem<Self>> {
        self.menu.items.iter().map(ksni_item).collect()
    }

    fn watcher_online(&self) {
        tracing::info!("tray: a StatusNotifierWatcher appeared; the icon is shown");
    }

    fn watcher_offline(&self, reason: ksni::OfflineReason) -> bool {
        let why = match reason {
            ksni::OfflineReason::Error(e) => e.to_string(),
            _ => "it went away".to_owned(),
        };
        tracing::info!(
            "tray: no StatusNotifierWatcher on the session bus ({why}); \
             the icon appears when a panel that shows tray icons starts"
        );
        true
    }
}

fn ksni_item(item: &MenuItem) -> ksni::MenuItem<KsniTray> {
    match item {
        MenuItem::Separator => ksni::MenuItem::Separator,
        MenuItem::Info(text) => ksni::menu::StandardItem {
            label: label(text),
            enabled: false,
            ..Default::default()
        }
        .into(),
        MenuItem::Action { action, enabled } => {
            let action = *action;
            ksni::menu::StandardItem {
                label: label(action.title()),
                enabled: *enabled,
                activate: Box::new(move |tray: &mut KsniTray| {
                    let _ = tray.actions.send(action);
                }),
                ..Default::default()
            }
            .into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underscores_are_literal_in_labels() {
        assert_eq!(label("Disc: THE_MATRIX"), "Disc: THE__MATRIX");
    }

    #[test]
    fn tooltips_escape_markup() {
        assert_eq!(escape_markup("a <b> & c"), "a &lt;b&gt; &amp; c");
    }
}
