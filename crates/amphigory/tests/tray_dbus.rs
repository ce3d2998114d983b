#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// Linux only (the whole file); elsewhere an empty test crate, documented here.
#![cfg_attr(not(target_os = "linux"), allow(missing_docs))]
#![cfg(target_os = "linux")]
//! The Linux tray over D-Bus: a private session bus (`dbus-daemon`, Debian's `dbus`
//! package), the real `amphigory daemon` on simulated drives showing its tray there (not
//! `--headless`), and this test playing the panel: it reads the StatusNotifierItem and
//! its `com.canonical.dbusmenu` menu, and clicks items the way a panel does (`Event`
//! `"clicked"`). Without `dbus-daemon` the tests are skipped with a notice, except under
//! `CI=true`, where `.ci/run` installs it.
//!
//! There is no StatusNotifierWatcher on the private bus: the daemon keeps its item on the
//! bus anyway, under the well-known name `org.kde.StatusNotifierItem-<pid>-<n>`.

mod support;

use std::collections::HashMap;

use futures_util::StreamExt;
use support::daemon::{Daemon, DaemonSpec, Rig, WAIT, wait_for};
use support::dbus::PrivateBus;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};
use zbus::{Connection, MessageStream, Proxy};

/// Logged by the daemon once its item is on the bus.
const TRAY_UP: &str = "tray icon on the D-Bus session bus";
const SNI_PATH: &str = "/StatusNotifierItem";
const SNI: &str = "org.kde.StatusNotifierItem";
const DBUSMENU: &str = "com.canonical.dbusmenu";

/// One item of the menu as a panel sees it.
#[derive(Debug, Clone)]
struct Item {
    id: i32,
    label: String,
    enabled: bool,
}

/// The panel's side: a connection to the private bus and the daemon's item on it.
struct Panel {
    runtime: tokio::runtime::Runtime,
    conn: Connection,
    item: String,
}

impl Panel {
    /// Connects to `bus` and finds the item of the daemon with this pid.
    fn connect(bus: &PrivateBus, daemon: &Daemon) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let conn = runtime.block_on(async {
            let builder = zbus::connection::Builder::address(bus.address.as_str()).unwrap();
            builder.build().await.unwrap()
        });
        // ksni numbers its items: `org.kde.StatusNotifierItem-<pid>-<n>`.
        let prefix = format!("org.kde.StatusNotifierItem-{}-", daemon.pid());
        let names = runtime.block_on(async {
            let dbus = zbus::fdo::DBusProxy::new(&conn).await.unwrap();
            dbus.list_names().await.unwrap()
        });
        let mut items: Vec<String> = names
            .iter()
            .map(|n| n.as_str().to_owned())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        assert_eq!(items.len(), 1, "{prefix}* on the bus: {names:?}");
        Self {
            runtime,
            conn,
            item: items.remove(0),
        }
    }

    fn block_on<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        self.runtime
            .block_on(async { tokio::time::timeout(WAIT, future).await })
            .expect("D-Bus call timed out")
    }

    async fn proxy(&self, path: &str, interface: &'static str) -> Proxy<'static> {
        Proxy::new(&self.conn, self.item.clone(), path.to_owned(), interface)
            .await
            .unwrap()
    }

    /// The StatusNotifierItem's `Menu` object path.
    fn menu_path(&self) -> String {
        self.block_on(async {
            let sni = self.proxy(SNI_PATH, SNI).await;
            let path: OwnedObjectPath = sni.get_property("Menu").await.unwrap();
            path.as_str().to_owned()
        })
    }

    /// `GetLayout(0, -1, [])`, flattened.
    fn layout(&self, menu: &str) -> Vec<Item> {
        self.block_on(async {
            let proxy = self.proxy(menu, DBUSMENU).await;
            let reply = proxy
                .call_method("GetLayout", &(0i32, -1i32, Vec::<String>::new()))
                .await
                .unwrap();
            type Node = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);
            let (_revision, (_root, _props, children)): (u32, Node) =
                reply.body().deserialize().unwrap();
            children.iter().map(item_of).collect()
        })
    }

    /// What a panel sends when an item is clicked.
    fn click(&self, menu: &str, item: &Item) {
        self.block_on(async {
            let proxy = self.proxy(menu, DBUSMENU).await;
            let event = (item.id, "clicked", Value::from(0i32), 0u32);
            proxy.call_method("Event", &event).await.unwrap();
        });
    }

    /// Every signal of the menu from now on.
    fn menu_signals(&self) -> MessageStream {
        self.block_on(async {
            let rule = zbus::MatchRule::builder()
                .msg_type(zbus::message::Type::Signal)
                .sender(self.item.as_str())
                .unwrap()
                .interface(DBUSMENU)
                .unwrap()
                .build();
            MessageStream::for_match_rule(rule, &self.conn, None)
                .await
                .unwrap()
        })
    }

    /// Waits until the menu has an item labelled `label` (re-reading the layout on each
    /// of the menu's signals).
    fn wait_for_item(&self, menu: &str, signals: &mut MessageStream, label: &str) -> Item {
        loop {
            if let Some(item) = find(&self.layout(menu), label) {
                return item;
            }
            self.block_on(signals.next())
                .unwrap_or_else(|| panic!("menu signals ended before {label:?} appeared"))
                .unwrap();
        }
    }
}

/// A child of the layout: a variant holding `(ia{sv}av)`.
fn item_of(value: &OwnedValue) -> Item {
    let Value::Structure(node) = &**value else {
        panic!("layout child is not a structure: {value:?}")
    };
    let fields = node.fields();
    let id = i32::try_from(&fields[0]).unwrap();
    let Value::Dict(props) = &fields[1] else {
        panic!("layout properties are not a dict")
    };
    let props: HashMap<String, OwnedValue> = props.try_clone().unwrap().try_into().unwrap();
    let label = props
        .get("label")
        .map(|v| String::try_from(v.try_clone().unwrap()).unwrap())
        .unwrap_or_default();
    let enabled = props
        .get("enabled")
        .is_none_or(|v| bool::try_from(&**v).unwrap());
    Item {
        id,
        // `_` marks the access key in dbusmenu; `__` is a literal one.
        label: label.replace("__", "_"),
        enabled,
    }
}

fn find(items: &[Item], label: &str) -> Option<Item> {
    items.iter().find(|i| i.label == label).cloned()
}

/// A daemon on one simulated drive with its tray on `bus`, up and on the bus.
fn start_daemon(rig: &Rig, bus: &PrivateBus, name: &str) -> Daemon {
    let spec = DaemonSpec {
        tray_bus: Some(bus.address.clone()),
        ..DaemonSpec::new(name)
    };
    let daemon = rig.launch(&spec);
    daemon.wait_log(TRAY_UP, WAIT);
    daemon
}

#[test]
fn the_tray_menu_pauses_the_queue_and_quits() {
    let Some(bus) = PrivateBus::start() else {
        return;
    };
    let rig = Rig::new();
    let mut daemon = start_daemon(&rig, &bus, "tray");
    let panel = Panel::connect(&bus, &daemon);

    let (title, pixmaps) = panel.block_on(async {
        let sni = panel.proxy(SNI_PATH, SNI).await;
        let title: String = sni.get_property("Title").await.unwrap();
        let pixmaps: Vec<(i32, i32, Vec<u8>)> = sni.get_property("IconPixmap").await.unwrap();
        (title, pixmaps)
    });
    assert_eq!(title, "Amphigory");
    let sizes: Vec<(i32, i32, usize)> = pixmaps.iter().map(|(w, h, d)| (*w, *h, d.len())).collect();
    assert_eq!(sizes, [(22, 22, 22 * 22 * 4), (44, 44, 44 * 44 * 4)]);

    let menu = panel.menu_path();
    let items = panel.layout(&menu);
    let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
    assert!(labels[0].starts_with("Disc"), "{labels:?}");
    for expected in [
        "Queue: 0 tasks",
        "Open Webapp…",
        "Restart Daemon",
        "Preferences…",
    ] {
        assert!(
            labels.contains(&expected),
            "{expected:?} missing from {labels:?}"
        );
    }
    let pause = find(&items, "Pause After Track").unwrap();
    assert!(pause.enabled);
    assert!(
        !find(&items, "Pause Now").unwrap().enabled,
        "idle: nothing to stop"
    );
    assert!(
        !find(&items, "Open Webapp…").unwrap().enabled,
        "no webapp configured"
    );

    // zbus removes a signal subscription on drop, from a task: keep the runtime entered.
    let _entered = panel.runtime.enter();
    let mut signals = panel.menu_signals();
    panel.click(&menu, &pause);
    let paused = rig.tasks().join("PAUSED");
    wait_for("the PAUSED marker", WAIT, &[&rig.tasks()], || {
        paused.exists().then_some(())
    });
    let resume = panel.wait_for_item(&menu, &mut signals, "Resume");
    assert!(resume.enabled);
    assert!(find(&panel.layout(&menu), "Pause After Track").is_none());

    let quit = find(&panel.layout(&menu), "Quit").unwrap();
    panel.click(&menu, &quit);
    let status = daemon.wait_exit(WAIT);
    assert!(status.success(), "{status}:\n{}", daemon.log_text());
    assert!(daemon.log_index(&["menu: Quit"]).is_some());
}

#[test]
fn restart_daemon_re_executes_it() {
    let Some(bus) = PrivateBus::start() else {
        return;
    };
    let rig = Rig::new();
    let mut daemon = start_daemon(&rig, &bus, "restart");
    let panel = Panel::connect(&bus, &daemon);
    let menu = panel.menu_path();
    let first = daemon.log_index(&[TRAY_UP]).unwrap();

    let restart = find(&panel.layout(&menu), "Restart Daemon").unwrap();
    panel.click(&menu, &restart);
    let (stopped, _) = daemon.wait_log_from(first, "daemon stopped", WAIT);
    let (exec, line) = daemon.wait_log_from(stopped, "restarting: ", WAIT);
    assert!(line.contains("amphigory"), "{line}");
    // Same process (exec), a fresh daemon: ready again, its item back on the bus.
    daemon.wait_log_from(exec, support::daemon::READY, WAIT);
    daemon.wait_log_from(exec, TRAY_UP, WAIT);
    let again = Panel::connect(&bus, &daemon);
    let menu = again.menu_path();
    assert!(find(&again.layout(&menu), "Pause After Track").is_some());
    daemon.stop();
}

/// No session bus to be found: the daemon says so and carries on headless.
#[test]
fn without_a_session_bus_the_daemon_runs_headless() {
    let rig = Rig::new();
    let nowhere = format!("unix:path={}", rig.root().join("no-bus").display());
    let spec = DaemonSpec {
        tray_bus: Some(nowhere),
        ..DaemonSpec::new("nobus")
    };
    let mut daemon = rig.launch(&spec);
    let line = daemon.wait_log("running headless", WAIT);
    assert!(line.contains("no tray icon"), "{line}");
    daemon.wait_log(support::daemon::READY, WAIT);
    daemon.stop();
}
