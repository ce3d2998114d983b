//! Unit tests of the menu model (each state combination: titles, enabled items, icon
//! name), the handle and the actions.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use amphigory_wire::drive::{DriveState, DriveStatus};
use amphigory_wire::task::TaskType;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::clicks::{self, ActionContext, is_web_url};
use super::session::TrayHandle;
use super::*;
use crate::core::StatusSnapshot;
use crate::core::status::RunningTask;
use crate::engine::EngineCommand;

fn drive(device: &str, state: DriveState, volume: Option<&str>) -> DriveStatus {
    DriveStatus {
        drive_id: format!("me@host:{device}"),
        device: format!("/dev/{device}"),
        state,
        disc_volume: volume.map(str::to_owned),
        ..DriveStatus::default()
    }
}

fn rip(device: &str, percent: u8, eta: Option<u64>) -> RunningTask {
    RunningTask {
        task_id: "t1".into(),
        task_type: TaskType::Rip,
        drive_id: format!("me@host:{device}"),
        percent,
        eta_seconds: eta,
        current_size_bytes: None,
        speed: None,
    }
}

fn urls() -> TrayConfig {
    TrayConfig {
        webapp_url: Some("http://localhost:6199/".into()),
        wiki_url: Some("https://wiki.example/amphigory".into()),
        webapp_link: LinkState::Connected,
    }
}

/// (title, enabled) of every line; separators as `---`.
fn lines(menu: &TrayMenu) -> Vec<(String, bool)> {
    menu.items
        .iter()
        .map(|i| match i {
            MenuItem::Separator => ("---".to_owned(), false),
            _ => (i.title().to_owned(), i.enabled()),
        })
        .collect()
}

fn owned(expected: &[(&str, bool)]) -> Vec<(String, bool)> {
    expected
        .iter()
        .map(|(t, e)| ((*t).to_owned(), *e))
        .collect()
}

#[test]
fn idle_without_a_disc_or_config() {
    let status = StatusSnapshot {
        drives: vec![drive("sr0", DriveState::Empty, None)],
        ..StatusSnapshot::default()
    };
    let menu = TrayMenu::new(&status, &TrayConfig::default());
    assert_eq!(
        lines(&menu),
        owned(&[
            ("No disc inserted", false),
            ("Idle", false),
            ("Queue: 0 tasks", false),
            ("---", false),
            ("Open Webapp…", false),
            ("Help & Documentation…", false),
            ("---", false),
            ("Pause After Track", true),
            ("Pause Now", false),
            ("---", false),
            ("Restart Daemon", true),
            ("Preferences…", false),
            ("Quit", true),
        ])
    );
    assert_eq!(menu.icon.stem(), "idle-empty");
    assert_eq!(menu.tooltip, "Amphigory — idle");
}

#[test]
fn ripping_with_progress_and_eta() {
    let status = StatusSnapshot {
        drives: vec![drive("sr0", DriveState::Ripping, Some("THE_MATRIX"))],
        running: vec![rip("sr0", 45, Some(754))],
        queue_depth: 1,
        ..StatusSnapshot::default()
    };
    let menu = TrayMenu::new(&status, &urls());
    assert_eq!(
        lines(&menu),
        owned(&[
            ("Disc: THE_MATRIX", false),
            ("Ripping: ████░░░░░░ 45% · ETA 13 min", false),
            ("Queue: 1 task", false),
            ("---", false),
            ("Open Webapp…", true),
            ("Help & Documentation…", true),
            ("---", false),
            ("Pause After Track", true),
            ("Pause Now", true),
            ("---", false),
            ("Restart Daemon", true),
            ("Preferences…", true),
            ("Quit", true),
        ])
    );
    assert_eq!(menu.icon.stem(), "working");
    assert_eq!(menu.tooltip, "Amphigory — Ripping 45%, 1 queued");
}

#[test]
fn paused_idle_offers_resume_and_no_pause_now() {
    let status = StatusSnapshot {
        drives: vec![drive("sr0", DriveState::Scanned, Some("ALIEN"))],
        paused: true,
        queue_depth: 3,
        ..StatusSnapshot::default()
    };
    let menu = TrayMenu::new(&status, &urls());
    assert_eq!(menu.items[0].title(), "Disc: ALIEN");
    assert_eq!(menu.items[1].title(), "Paused");
    assert_eq!(menu.items[2].title(), "Queue: 3 tasks · paused");
    assert!(menu.item("Pause After Track").is_none());
    assert!(menu.item("Resume").unwrap().enabled());
    assert!(!menu.item("Pause Now").unwrap().enabled());
    assert_eq!(menu.icon.stem(), "idle-disc-paused");
    assert_eq!(menu.tooltip, "Amphigory — idle, 3 queued (paused)");
}

#[test]
fn paused_after_the_current_track_can_still_pause_now() {
    let status = StatusSnapshot {
        drives: vec![drive("sr0", DriveState::Scanning, None)],
        running: vec![RunningTask {
            task_type: TaskType::Scan,
            ..rip("sr0", 100, None)
        }],
        paused: true,
        ..StatusSnapshot::default()
    };
    let menu = TrayMenu::new(&status, &urls());
    assert_eq!(menu.items[0].title(), "Disc: (reading…)");
    assert_eq!(menu.items[1].title(), "Scanning: ██████████ 100%");
    assert!(menu.item("Resume").unwrap().enabled());
    assert!(menu.item("Pause Now").unwrap().enabled());
    assert_eq!(menu.icon.stem(), "working-paused");
}

#[test]
fn one_line_per_drive_when_several() {
    let mut living_room = drive("sr0", DriveState::Ripping, Some("HEAT"));
    living_room.label = Some("Living room".into());
    let status = StatusSnapshot {
        drives: vec![
            living_room,
            drive("sr1", DriveState::Empty, None),
            drive("sr2", DriveState::DiscInserted, Some("  ")),
        ],
        running: vec![rip("sr0", 7, Some(30))],
        ..StatusSnapshot::default()
    };
    let menu = TrayMenu::new(&status, &urls());
    let titles: Vec<&str> = menu.items.iter().take(5).map(MenuItem::title).collect();
    assert_eq!(
        titles,
        [
            "Disc in Living room: HEAT",
            "No disc in sr1",
            "Disc in sr2: (unnamed)",
            "Ripping on Living room: ░░░░░░░░░░ 7% · ETA 1 min",
            "Queue: 0 tasks",
        ]
    );
}

#[test]
fn no_drive_at_all() {
    let menu = TrayMenu::new(&StatusSnapshot::default(), &urls());
    assert_eq!(menu.items[0].title(), "No drive found");
    assert_eq!(menu.icon.stem(), "idle-empty");
}

#[test]
fn problems_show_as_lines_and_overlays() {
    let status = StatusSnapshot {
        problems: vec![
            "needs config: no webapp_url".into(),
            "makemkvcon not found".into(),
            "restart needed: the queue directory changed".into(),
            "a fourth problem".into(),
        ],
        ..StatusSnapshot::default()
    };
    let config = TrayConfig {
        webapp_link: LinkState::Down,
        ..TrayConfig::default()
    };
    let menu = TrayMenu::new(&status, &config);
    let warnings: Vec<&str> = menu
        .items
        .iter()
        .map(MenuItem::title)
        .filter(|t| t.starts_with('⚠'))
        .collect();
    assert_eq!(
        warnings,
        [
            "⚠ needs config: no webapp_url",
            "⚠ makemkvcon not found",
            "⚠ restart needed: the queue directory changed",
        ]
    );
    assert_eq!(
        menu.icon.stem(),
        "idle-empty-disconnected-error-needs-config"
    );
}

#[test]
fn the_latest_needed_disc_has_a_line_of_its_own() {
    use amphigory_wire::ws::NeededDisc;
    let disc = |fp: &str, volume: Option<&str>, waiting| NeededDisc {
        fingerprint: fp.into(),
        volume_name: volume.map(str::to_owned),
        waiting,
        rips: waiting,
    };
    let needed = vec![disc("dvd-1", None, 1), disc("br-2", Some("MATRIX"), 3)];
    let status = StatusSnapshot {
        problems: needed
            .iter()
            .map(crate::core::status::disc_needed_problem)
            .chain(["makemkvcon not found".into()])
            .collect(),
        discs_needed: needed,
        ..StatusSnapshot::default()
    };
    let menu = TrayMenu::new(&status, &TrayConfig::default());
    let titles: Vec<&str> = menu.items.iter().map(MenuItem::title).collect();
    let queue = titles.iter().position(|t| t.starts_with("Queue:")).unwrap();
    assert_eq!(
        titles[queue + 1..queue + 3],
        [
            "⏏ Insert MATRIX — 3 rips wait for it (+1 more disc)",
            "⚠ makemkvcon not found",
        ]
    );
    assert!(
        !titles.iter().any(|t| t.contains("disc needed")),
        "{titles:?}"
    );
    let none = TrayMenu::new(&StatusSnapshot::default(), &TrayConfig::default());
    assert!(!none.items.iter().any(|i| i.title().starts_with('⏏')));
}

/// Every combination of drives, work, pause, link, problems and URLs: the icon and the
/// enabled items follow the rules of SPEC §10.
#[test]
fn every_state_combination() {
    let drive_sets = [
        vec![],
        vec![drive("sr0", DriveState::Empty, None)],
        vec![drive("sr0", DriveState::DiscInserted, Some("X"))],
        vec![
            drive("sr0", DriveState::Empty, None),
            drive("sr1", DriveState::Scanned, Some("Y")),
        ],
    ];
    let problem_sets: [&[&str]; 4] = [
        &[],
        &["needs config: x"],
        &["boom"],
        &["needs config: x", "boom"],
    ];
    let links = [LinkState::Unknown, LinkState::Connected, LinkState::Down];
    let mut seen = std::collections::HashSet::new();
    for drives in &drive_sets {
        for running in [false, true] {
            for paused in [false, true] {
                for link in links {
                    for problems in problem_sets {
                        for with_urls in [false, true] {
                            let status = StatusSnapshot {
                                drives: drives.clone(),
                                running: if running {
                                    vec![rip("sr0", 50, None)]
                                } else {
                                    vec![]
                                },
                                paused,
                                problems: problems.iter().map(|p| (*p).into()).collect(),
                                ..StatusSnapshot::default()
                            };
                            let config = TrayConfig {
                                webapp_link: link,
                                ..if with_urls {
                                    urls()
                                } else {
                                    TrayConfig::default()
                                }
                            };
                            let menu = TrayMenu::new(&status, &config);
                            check_combination(&status, &config, &menu);
                            seen.insert(menu.icon);
                        }
                    }
                }
            }
        }
    }
    // Every overlay combination with every activity is reachable.
    assert_eq!(
        seen.len(),
        3 * 8 * 2,
        "paused × link down × error × needs config"
    );
}

fn check_combination(status: &StatusSnapshot, config: &TrayConfig, menu: &TrayMenu) {
    let has_disc = status.drives.iter().any(|d| d.state != DriveState::Empty);
    let activity = match (!status.running.is_empty(), has_disc) {
        (true, _) => Activity::Working,
        (false, true) => Activity::IdleDisc,
        (false, false) => Activity::IdleEmpty,
    };
    let context = format!("{status:?} {config:?}");
    assert_eq!(menu.icon.activity, activity, "{context}");
    assert_eq!(menu.icon.has(Overlay::Paused), status.paused, "{context}");
    let down = config.webapp_link == LinkState::Down;
    assert_eq!(menu.icon.has(Overlay::Disconnected), down, "{context}");
    let needs = status
        .problems
        .iter()
        .any(|p| p.starts_with("needs config"));
    assert_eq!(menu.icon.has(Overlay::NeedsConfig), needs, "{context}");
    let other = status
        .problems
        .iter()
        .any(|p| !p.starts_with("needs config"));
    assert_eq!(menu.icon.has(Overlay::Error), other, "{context}");
    let enabled = |title: &str| menu.item(title).map(MenuItem::enabled);
    let (toggle, absent) = match status.paused {
        true => ("Resume", "Pause After Track"),
        false => ("Pause After Track", "Resume"),
    };
    assert_eq!(enabled(toggle), Some(true), "{context}");
    assert_eq!(enabled(absent), None, "{context}");
    assert_eq!(enabled("Pause Now"), Some(!status.running.is_empty()));
    let web = config.webapp_url.is_some();
    assert_eq!(enabled("Open Webapp…"), Some(web));
    assert_eq!(enabled("Preferences…"), Some(web));
    assert_eq!(
        enabled("Help & Documentation…"),
        Some(config.wiki_url.is_some())
    );
    assert_eq!(enabled("Restart Daemon"), Some(true));
    assert_eq!(enabled("Quit"), Some(true));
    let disc_lines = status.drives.len().max(1);
    let infos = menu
        .items
        .iter()
        .take_while(|i| matches!(i, MenuItem::Info(_)))
        .count();
    let task_lines = status.running.len().max(1);
    assert_eq!(infos, disc_lines + task_lines + 1 + status.problems.len());
    // Info lines are never clickable.
    assert!(
        menu.items
            .iter()
            .filter(|i| matches!(i, MenuItem::Info(_)))
            .all(|i| !i.enabled())
    );
}

#[test]
fn icon_names_cover_every_combination_once() {
    let all = IconName::all();
    assert_eq!(all.len(), 48);
    let stems: std::collections::HashSet<String> = all.iter().map(|i| i.stem()).collect();
    assert_eq!(stems.len(), 48);
    let icon = IconName::new(Activity::Working)
        .with(Overlay::NeedsConfig)
        .with(Overlay::Paused);
    assert_eq!(icon.stem(), "working-paused-needs-config");
    assert_eq!(icon.overlays(), [Overlay::Paused, Overlay::NeedsConfig]);
}

#[test]
fn actions_round_trip_their_ids() {
    for action in TrayAction::ALL {
        assert_eq!(TrayAction::from_id(action.id()), Some(action));
    }
    assert_eq!(TrayAction::from_id("info-0"), None);
}

#[test]
fn progress_bars_and_etas() {
    assert_eq!(progress_bar(0), "░░░░░░░░░░");
    assert_eq!(progress_bar(99), "█████████░");
    assert_eq!(progress_bar(100), "██████████");
    assert_eq!(progress_bar(250), "██████████");
    assert_eq!(eta_text(0), "<1 min");
    assert_eq!(eta_text(59), "1 min");
    assert_eq!(eta_text(3540), "59 min");
    assert_eq!(eta_text(3600), "1 h 00 min");
    assert_eq!(eta_text(3601), "1 h 01 min");
}

#[test]
fn preferences_is_the_webapps_config_page() {
    assert_eq!(
        urls().preferences_url().as_deref(),
        Some("http://localhost:6199/config")
    );
    assert_eq!(TrayConfig::default().preferences_url(), None);
    assert!(is_web_url("https://wiki.example/x"));
    assert!(!is_web_url("file:///etc/passwd"));
    assert!(!is_web_url("-a http://x"));
    assert!(!is_web_url("http://"));
}

#[test]
fn the_handle_keeps_the_newest_state() {
    let (handle, mut rx) = TrayHandle::new(None);
    handle.set_config(urls());
    handle.update(StatusSnapshot {
        paused: true,
        ..StatusSnapshot::default()
    });
    handle.set_link(LinkState::Down);
    assert!(rx.has_changed().unwrap());
    let menu = rx.borrow_and_update().menu();
    assert_eq!(menu.icon.stem(), "idle-empty-paused-disconnected");
    assert_eq!(handle.menu(), menu);
    // An identical snapshot is not a change.
    handle.update(StatusSnapshot {
        paused: true,
        ..StatusSnapshot::default()
    });
    assert!(!rx.has_changed().unwrap());
}

fn action_context() -> (
    ActionContext,
    mpsc::Receiver<EngineCommand>,
    Arc<AtomicBool>,
) {
    let (commands, engine) = mpsc::channel(8);
    let restart = Arc::new(AtomicBool::new(false));
    let ctx = ActionContext {
        engine: crate::engine::EngineHandle::new(
            commands,
            crate::core::StatusHandle::new(StatusSnapshot::default()),
            None,
        ),
        handle: TrayHandle::new(None).0,
        restart: restart.clone(),
        shutdown: CancellationToken::new(),
    };
    (ctx, engine, restart)
}

#[tokio::test]
async fn clicks_become_engine_commands() {
    let (ctx, mut engine, restart) = action_context();
    let shutdown = ctx.shutdown.clone();
    let (clicks, rx) = mpsc::unbounded_channel();
    let acting = tokio::spawn(clicks::run(rx, ctx));
    for action in [
        TrayAction::PauseAfterTrack,
        TrayAction::PauseNow,
        TrayAction::Resume,
    ] {
        clicks.send(action).unwrap();
    }
    assert!(matches!(
        engine.recv().await,
        Some(EngineCommand::Pause { now: false, .. })
    ));
    assert!(matches!(
        engine.recv().await,
        Some(EngineCommand::Pause { now: true, .. })
    ));
    assert!(matches!(
        engine.recv().await,
        Some(EngineCommand::Resume { .. })
    ));
    clicks.send(TrayAction::Quit).unwrap();
    acting.await.unwrap();
    assert!(shutdown.is_cancelled());
    assert!(!restart.load(Ordering::SeqCst));
}

#[tokio::test]
async fn restart_shuts_down_and_asks_for_a_re_exec() {
    let (ctx, _engine, restart) = action_context();
    let shutdown = ctx.shutdown.clone();
    let (clicks, rx) = mpsc::unbounded_channel();
    clicks.send(TrayAction::Restart).unwrap();
    clicks::run(rx, ctx).await;
    assert!(shutdown.is_cancelled());
    assert!(restart.load(Ordering::SeqCst));
}
