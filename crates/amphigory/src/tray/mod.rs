//! The menu-bar / tray icon and its menu (SPEC §10).
//!
//! Three layers, after espanso's tray:
//! - this module and [`menu`]: the **pure model** — a [`StatusSnapshot`] plus a little
//!   configuration ([`TrayConfig`]) become a [`TrayMenu`] ([`menu`]): the icon to show
//!   ([`IconName`], here), a tooltip and the items with their titles and enabled flags.
//!   No I/O; unit-tested per state.
//! - `session`: the plumbing between the daemon and the main thread. The daemon's side
//!   ([`TrayLink`]) pushes snapshots through a `Send` [`TrayHandle`] and acts on clicks
//!   ([`TrayAction`]); the main thread runs the platform's loop. They share nothing but
//!   two channels.
//! - `clicks`: what the menu's clicks do, on the daemon's side.
//! - one backend per OS behind the small `Platform` trait (`platform`, which the session
//!   and the backends share, so neither imports the other's side), selected by `cfg`: `linux`
//!   (the `ksni` crate: a StatusNotifierItem with a `com.canonical.dbusmenu` menu over
//!   the D-Bus session bus; pure Rust, no GTK), `macos` (the `tray-icon` crate on an
//!   `NSApplication` run loop, template images), and a headless stub elsewhere. Without a
//!   session (no D-Bus session bus, no window server) the daemon logs it and runs
//!   headless.
//!
//! [`icons`] holds the icon PNGs, drawn by `examples/gen_icons` and embedded with
//! `include_bytes!`.
//!
//! Why these crates: `tray-icon` 0.24 (the newest for our Rust 1.85) can only draw a Linux
//! tray through GTK and libappindicator (system `-dev` packages); its pure-Rust `ksni`
//! backend arrived in 0.25, which needs Rust 1.90 and adds muda's menu layer on top. So
//! Linux uses `ksni` directly (default features off, its `tokio` flavour: zbus on the
//! daemon's own runtime, no extra executor thread), and `tray-icon` (default features
//! off) is a macOS-only dependency, driven by a bare `NSApplication` loop (objc2) rather
//! than tao or winit.

#[cfg(any(target_os = "linux", target_os = "macos"))]
pub mod app_icon;
mod clicks;
pub mod draw;
pub mod icons;
pub mod menu;
mod platform;
mod session;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod other;

use amphigory_wire::drive::{DriveState, DriveStatus};

use crate::config::EffectiveConfig;
use crate::core::StatusSnapshot;
use crate::core::{Problem, ProblemKind};

pub use menu::{MenuItem, TrayAction, TrayMenu, eta_text, progress_bar};
pub use session::{TrayHandle, TrayLink, run};

/// What the tray needs besides the status snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrayConfig {
    /// The webapp (Open Webapp…, Preferences… at `{webapp_url}/config`).
    pub webapp_url: Option<String>,
    /// Help & Documentation….
    pub wiki_url: Option<String>,
    /// The live link to the webapp.
    pub webapp_link: LinkState,
}

impl TrayConfig {
    /// The URLs of a resolved configuration (the link's state is not known yet).
    pub fn from_config(effective: &EffectiveConfig) -> Self {
        Self {
            webapp_url: effective.webapp_url.value.clone(),
            wiki_url: effective.wiki_url.value.clone(),
            webapp_link: LinkState::Unknown,
        }
    }

    /// `{webapp_url}/config`, the webapp's settings page.
    pub fn preferences_url(&self) -> Option<String> {
        let base = self.webapp_url.as_deref()?.trim_end_matches('/');
        Some(format!("{base}/config"))
    }
}

/// The state of the live link to the webapp (SPEC §7.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LinkState {
    /// No link (no webapp configured, `--no-webapp`), or its state is not known.
    #[default]
    Unknown,
    /// Connected.
    Connected,
    /// Configured but down: the icon shows "disconnected".
    Down,
}

/// What the drives are doing, as the disc of the icon shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activity {
    /// No disc in any drive: an outline with an empty centre.
    IdleEmpty,
    /// A disc, nothing running: a solid disc.
    IdleDisc,
    /// A scan or rip running: a solid disc with motion marks.
    Working,
}

impl Activity {
    /// Every activity.
    pub const ALL: [Self; 3] = [Self::IdleEmpty, Self::IdleDisc, Self::Working];

    /// Its part of the icon's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::IdleEmpty => "idle-empty",
            Self::IdleDisc => "idle-disc",
            Self::Working => "working",
        }
    }
}

/// An overlay badge; several stack from the bottom-right corner in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Overlay {
    /// The queue is paused.
    Paused,
    /// The webapp link is down (or storage is missing).
    Disconnected,
    /// A problem a person should fix (makemkvcon missing, restart needed…).
    Error,
    /// No usable configuration yet (SPEC §3).
    NeedsConfig,
}

impl Overlay {
    /// Every overlay, in stacking order.
    pub const ALL: [Self; 4] = [
        Self::Paused,
        Self::Disconnected,
        Self::Error,
        Self::NeedsConfig,
    ];

    /// Its part of the icon's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Paused => "paused",
            Self::Disconnected => "disconnected",
            Self::Error => "error",
            Self::NeedsConfig => "needs-config",
        }
    }
}

/// Which icon to show: an activity and a set of overlays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IconName {
    /// The disc.
    pub activity: Activity,
    /// Bit `i` set = [`Overlay::ALL`]`[i]` shown.
    overlays: u8,
}

impl IconName {
    /// An icon without overlays.
    pub fn new(activity: Activity) -> Self {
        Self {
            activity,
            overlays: 0,
        }
    }

    /// This icon with `overlay` too.
    pub fn with(mut self, overlay: Overlay) -> Self {
        self.overlays |= Self::bit(overlay);
        self
    }

    /// Is `overlay` shown?
    pub fn has(self, overlay: Overlay) -> bool {
        self.overlays & Self::bit(overlay) != 0
    }

    /// The overlays shown, in stacking order.
    pub fn overlays(self) -> Vec<Overlay> {
        Overlay::ALL.into_iter().filter(|o| self.has(*o)).collect()
    }

    /// Every icon: each activity with each combination of overlays (3 × 16).
    pub fn all() -> Vec<Self> {
        Activity::ALL
            .into_iter()
            .flat_map(|activity| (0..16u8).map(move |overlays| Self { activity, overlays }))
            .collect()
    }

    /// The file stem: the activity, then each overlay, joined by `-`
    /// (`working-paused-error`).
    pub fn stem(self) -> String {
        let mut stem = self.activity.name().to_owned();
        for overlay in self.overlays() {
            stem.push('-');
            stem.push_str(overlay.name());
        }
        stem
    }

    fn bit(overlay: Overlay) -> u8 {
        match overlay {
            Overlay::Paused => 1,
            Overlay::Disconnected => 2,
            Overlay::Error => 4,
            Overlay::NeedsConfig => 8,
        }
    }
}

/// The icon for this state.
pub fn icon_for(status: &StatusSnapshot, config: &TrayConfig) -> IconName {
    let busy = |d: &DriveStatus| matches!(d.state, DriveState::Scanning | DriveState::Ripping);
    let activity = if !status.running.is_empty() || status.drives.iter().any(busy) {
        Activity::Working
    } else if status.drives.iter().any(|d| d.state != DriveState::Empty) {
        Activity::IdleDisc
    } else {
        Activity::IdleEmpty
    };
    let needs_config = |p: &Problem| p.kind() == ProblemKind::NeedsConfig;
    let other_problem = status.problems.iter().any(|p| !needs_config(p));
    let needs_config = status.problems.iter().any(needs_config);
    let overlays = [
        (Overlay::Paused, status.paused),
        (Overlay::Disconnected, config.webapp_link == LinkState::Down),
        (Overlay::Error, other_problem),
        (Overlay::NeedsConfig, needs_config),
    ];
    overlays
        .into_iter()
        .filter(|(_, on)| *on)
        .fold(IconName::new(activity), |icon, (o, _)| icon.with(o))
}

#[cfg(test)]
mod tests;
