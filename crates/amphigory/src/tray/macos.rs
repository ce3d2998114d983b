//! macOS: an `NSStatusItem` through the `tray-icon` crate, with template images (macOS
//! recolours them for light and dark menu bars). AppKit only works on the main thread,
//! inside a running `NSApplication` loop, so: the main thread runs `NSApp.run()` (no
//! Dock icon: an accessory app) and everything that touches AppKit happens in
//! `refresh`, a block performed on the main run loop. The status item is created by the
//! first refresh, that is once the loop has started (tray-icon's rule on macOS). The
//! daemon's side wakes the loop through `CFRunLoopPerformBlock` (callable from any
//! thread); clicks arrive in muda's event handler and go straight into the action
//! channel. All the FFI of the tray is in this file.
//!
//! Without a window-server session (over ssh, or as a LaunchDaemon rather than an agent)
//! there is no menu bar: the daemon logs it and runs headless.

use std::cell::RefCell;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use block2::RcBlock;
use objc2::MainThreadMarker;
use objc2_app_kit::{
    NSApplication, NSApplicationActivationPolicy, NSEvent, NSEventModifierFlags, NSEventType,
};
use objc2_core_foundation::{CFRunLoop, CFType, kCFRunLoopCommonModes};
use objc2_foundation::NSPoint;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tray_icon::menu::{Menu, MenuEvent, MenuItem as MudaItem, PredefinedMenuItem};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use super::icons::{self, Scale};
use super::platform::{MainSide, Platform, Waker, join};
use super::{IconName, MenuItem, TrayAction, TrayMenu};

/// `NSApp.run()` is running: wake-ups may be performed on the main run loop (blocks
/// performed on a loop nobody runs would pile up).
static LOOP_RUNNING: AtomicBool = AtomicBool::new(false);
/// A refresh is already scheduled: further changes need no other.
static REFRESH_PENDING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The main thread's tray: the state channel and the status item.
    static MAIN: RefCell<Option<MacMain>> = const { RefCell::new(None) };
}

/// The macOS backend.
pub(super) struct MacOs;

impl Platform for MacOs {
    fn waker() -> Option<Waker> {
        Some(Arc::new(|| {
            if LOOP_RUNNING.load(Ordering::SeqCst) && !REFRESH_PENDING.swap(true, Ordering::SeqCst)
            {
                schedule_refresh();
            }
        }))
    }

    fn run(runtime: &Runtime, main: MainSide, daemon: JoinHandle<ExitCode>) -> ExitCode {
        let Some(mtm) = MainThreadMarker::new() else {
            tracing::warn!("the menu-bar icon needs the main thread: running headless");
            return join(runtime, daemon);
        };
        if objc2_core_graphics::CGSessionCopyCurrentDictionary().is_none() {
            tracing::info!("no window-server session (ssh, LaunchDaemon): running headless");
            return join(runtime, daemon);
        }
        let app = NSApplication::sharedApplication(mtm);
        app.setActivationPolicy(NSApplicationActivationPolicy::Accessory);
        let actions = main.actions.clone();
        MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
            if let Some(action) = TrayAction::from_id(event.id.as_ref()) {
                let _ = actions.send(action);
            }
        }));
        MAIN.with(|cell| *cell.borrow_mut() = Some(MacMain::new(main)));
        LOOP_RUNNING.store(true, Ordering::SeqCst);
        REFRESH_PENDING.store(true, Ordering::SeqCst);
        schedule_refresh();
        app.run();
        LOOP_RUNNING.store(false, Ordering::SeqCst);
        // Dropping the TrayIcon removes the status item.
        MAIN.with(|cell| cell.borrow_mut().take());
        MenuEvent::set_event_handler(None::<fn(MenuEvent)>);
        join(runtime, daemon)
    }
}

/// Performs [`refresh`] on the main run loop and wakes it. Any thread.
fn schedule_refresh() {
    let Some(main_loop) = CFRunLoop::main() else {
        return;
    };
    let block = RcBlock::new(refresh);
    // SAFETY: `CFRunLoopPerformBlock` and `CFRunLoopWakeUp` are thread-safe; the mode is
    // the CoreFoundation constant `kCFRunLoopCommonModes` (read-only, valid for the
    // process's life); the block captures nothing, so running it on another thread is
    // sound, and CoreFoundation copies it before this function returns.
    unsafe {
        let mode: Option<&CFType> = kCFRunLoopCommonModes.map(|m| -> &CFType { m });
        main_loop.perform_block(mode, Some(&block));
    }
    main_loop.wake_up();
}

/// On the main thread: shows the newest state, or stops the loop once the daemon ended.
fn refresh() {
    REFRESH_PENDING.store(false, Ordering::SeqCst);
    let Some(mtm) = MainThreadMarker::new() else {
        return;
    };
    MAIN.with(|cell| {
        if let Ok(mut main) = cell.try_borrow_mut() {
            if let Some(main) = main.as_mut() {
                main.refresh(mtm);
            }
        }
    });
}

/// Stops `NSApp.run()`: `stop:` takes effect after the next event, so one is posted.
fn stop_app(mtm: MainThreadMarker) {
    let app = NSApplication::sharedApplication(mtm);
    app.stop(None);
    let event = NSEvent::otherEventWithType_location_modifierFlags_timestamp_windowNumber_context_subtype_data1_data2(
        NSEventType::ApplicationDefined,
        NSPoint::new(0.0, 0.0),
        NSEventModifierFlags::empty(),
        0.0,
        0,
        None,
        0,
        0,
        0,
    );
    if let Some(event) = event {
        app.postEvent_atStart(&event, true);
    }
}

/// The main thread's side: what to show, and the status item once there is one.
struct MacMain {
    side: MainSide,
    tray: Option<MacTray>,
    shown: Option<TrayMenu>,
    failed: bool,
}

impl MacMain {
    fn new(side: MainSide) -> Self {
        Self {
            side,
            tray: None,
            shown: None,
            failed: false,
        }
    }

    fn refresh(&mut self, mtm: MainThreadMarker) {
        let (started, closed, menu) = {
            let state = self.side.state.borrow_and_update();
            (state.started, state.closed, state.menu())
        };
        if closed {
            self.tray = None;
            stop_app(mtm);
            return;
        }
        if !started || self.failed || self.shown.as_ref() == Some(&menu) {
            return;
        }
        match self.tray.as_mut() {
            Some(tray) => tray.show(&menu),
            None => match MacTray::new(&menu) {
                Ok(tray) => {
                    tracing::info!("menu-bar icon shown");
                    self.tray = Some(tray);
                }
                Err(e) => {
                    tracing::warn!("no menu-bar icon ({e}): running headless");
                    self.failed = true;
                }
            },
        }
        self.shown = Some(menu);
    }
}

/// Which kind of item each line is: while it stays the same, items are updated in place
/// (an open menu keeps working); otherwise the menu is rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Info,
    Separator,
    Action(TrayAction),
}

/// Why the status item or its menu could not be made or changed.
#[derive(Debug, thiserror::Error)]
enum MacTrayError {
    /// The status item (tray-icon).
    #[error("{0}")]
    Item(#[from] tray_icon::Error),
    /// The menu (muda).
    #[error("{0}")]
    Menu(#[from] tray_icon::menu::Error),
    /// The icon's pixels.
    #[error("{0}")]
    BadIcon(#[from] tray_icon::BadIcon),
    /// The icon's file.
    #[error("{0}")]
    IconFile(#[from] icons::IconError),
}

/// The status item and its menu.
struct MacTray {
    icon: TrayIcon,
    icon_name: IconName,
    items: Vec<Option<MudaItem>>,
    shape: Vec<Slot>,
}

impl MacTray {
    fn new(menu: &TrayMenu) -> Result<Self, MacTrayError> {
        let (muda, items) = build_menu(menu)?;
        let icon = TrayIconBuilder::new()
            .with_id("amphigory")
            .with_icon(template_icon(menu.icon)?)
            .with_icon_as_template(true)
            .with_tooltip(&menu.tooltip)
            .with_menu(Box::new(muda))
            .build()?;
        Ok(Self {
            icon,
            icon_name: menu.icon,
            items,
            shape: shape(menu),
        })
    }

    fn show(&mut self, menu: &TrayMenu) {
        if menu.icon != self.icon_name {
            let set = template_icon(menu.icon).and_then(|icon| {
                self.icon
                    .set_icon_with_as_template(Some(icon), true)
                    .map_err(MacTrayError::from)
            });
            match set {
                Ok(()) => self.icon_name = menu.icon,
                Err(e) => tracing::warn!("menu-bar icon: {e}"),
            }
        }
        if let Err(e) = self.icon.set_tooltip(Some(&menu.tooltip)) {
            tracing::debug!("menu-bar tooltip: {e}");
        }
        let shape = shape(menu);
        if shape == self.shape {
            for (item, muda) in menu.items.iter().zip(&self.items) {
                if let Some(muda) = muda {
                    muda.set_text(escape(item.title()));
                    muda.set_enabled(item.enabled());
                }
            }
            return;
        }
        match build_menu(menu) {
            Ok((muda, items)) => {
                self.icon.set_menu(Some(Box::new(muda)));
                self.items = items;
                self.shape = shape;
            }
            Err(e) => tracing::warn!("menu-bar menu: {e}"),
        }
    }
}

fn shape(menu: &TrayMenu) -> Vec<Slot> {
    menu.items
        .iter()
        .map(|item| match item {
            MenuItem::Info(_) => Slot::Info,
            MenuItem::Separator => Slot::Separator,
            MenuItem::Action { action, .. } => Slot::Action(*action),
        })
        .collect()
}

/// A muda menu for `menu`, with the items that can change (`None` for separators).
fn build_menu(menu: &TrayMenu) -> Result<(Menu, Vec<Option<MudaItem>>), MacTrayError> {
    let muda = Menu::new();
    let mut items = Vec::with_capacity(menu.items.len());
    for (i, item) in menu.items.iter().enumerate() {
        if *item == MenuItem::Separator {
            muda.append(&PredefinedMenuItem::separator())?;
            items.push(None);
            continue;
        }
        let id = match item.action() {
            Some(action) => action.id().to_owned(),
            None => format!("info-{i}"),
        };
        let entry = MudaItem::with_id(id, escape(item.title()), item.enabled(), None);
        muda.append(&entry)?;
        items.push(Some(entry));
    }
    Ok((muda, items))
}

/// muda strips `&` (a mnemonic marker elsewhere): a literal one is doubled.
fn escape(title: &str) -> String {
    title.replace('&', "&&")
}

/// The 2x icon (tray-icon scales it to the menu bar's 18 pt), as a template image.
fn template_icon(name: IconName) -> Result<Icon, MacTrayError> {
    let rgba = icons::load(name, Scale::X2)?;
    Ok(Icon::from_rgba(rgba.pixels, rgba.width, rgba.height)?)
}
