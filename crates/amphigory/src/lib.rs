//! Amphigory's host daemon: owns the optical drives, runs `makemkvcon`, works the shared
//! task queue and reports progress everywhere.
//!
//! # Layers
//! Modules sit in layers, and a module imports (`use crate::X`, `crate::X::` paths) only
//! from its own layer or below: the pure ground (units, files, fingerprints, the event
//! bus and status of `core`) knows nothing of drives or servers; `makemkv` drives the
//! tool, `sim` stands in for it; the sources (`drives`, `queue`, `config`) feed the
//! engine; the servers report what the engine does; `daemon` only wires them; the edges
//! (`cli`, `tray`, `record`, `service`, `fuzz_api`) are ways in, and nothing below them
//! names them. Modules of one layer must not import each other in a cycle, nor may the
//! helpers inside one module. The table is read by `tests/layers.rs`, which fails on
//! every import that points up:
//!
//! ```text
//! 0 base: units, fsio, fswatch, fingerprint, tls, history, core
//! 1 makemkv: makemkv, verify
//! 2 sim: sim
//! 3 sources: drives, queue, config
//! 4 engine: engine, hooks, notify
//! 5 servers: servers, awake
//! 6 daemon: daemon
//! 7 edges: record, service, cli, tray, fuzz_api
//! ```
//!
//! # Layout
//! - [`makemkv`]: robot-mode parser, scan assembler and classifier, progress tracker
//!   (pure), and the supervised `makemkvcon` runner (I/O).
//! - [`sim`]: the simulated `makemkvcon`, a hidden subcommand of this binary, with the
//!   built-in demo discs and the recording format `--simulate DIR` replays.
//! - [`drives`]: disc detection behind the [`drives::DriveMonitor`] trait (SPEC §9.2),
//!   simulated drives included; each monitor's way of ejecting, drive ids and labels.
//! - [`fingerprint`]: stable disc ids (SPEC §9.4).
//! - [`core`]: the event bus ([`core::DaemonEvent`]), the status snapshot every
//!   server reads (published by the engine alone), its typed problems
//!   ([`core::Problem`]), and what detection knows of a disc ([`core::DiscInfo`]).
//! - [`queue`]: the durable file queue shared with the webapp (SPEC §4).
//! - [`engine`]: the only owner of the daemon's state: one state machine per drive,
//!   routing, proactive scans, disc events; claims tasks for free drives, runs them,
//!   writes results; counts the tasks waiting for a disc in no drive ("disc needed");
//!   publishes the status snapshot as a projection of its state after every change.
//!   Everyone else goes through its typed [`engine::EngineHandle`].
//! - [`verify`]: proof after a rip: the output's Matroska header, size and duration
//!   against what was expected (SPEC §11.2).
//! - [`history`]: `history.jsonl` in the state directory, one line per finished task, and
//!   the per-drive averages read from it (SPEC §11.2).
//! - [`awake`]: keeping the machine awake while a task runs (SPEC §11.1): a logind
//!   inhibitor on Linux, an IOKit power assertion on macOS, behind a small trait.
//! - [`hooks`]: the user's commands run on events (SPEC §11.1): which event calls which
//!   hook, and the supervised hook process (process group, time limit, stderr tail).
//! - [`daemon`]: wires queue, drives, runner and engine together and applies the
//!   configuration to its options; `run` takes its shutdown signal.
//! - [`config`]: `daemon.yaml`, the webapp's `/config.json` and its cache, precedence
//!   with provenance, path resolution, makemkvcon discovery, the defaults (state
//!   directory, daemon id) and the notification level (SPEC §3).
//! - [`servers`]: the WebSocket server of SPEC §7.1, the live link to the webapp (§7.2)
//!   and the `request` methods both answer; the local control socket (§8); the wire
//!   messages made from events and status.
//! - [`tls`]: plain or TLS connections to the webapp (rustls on Linux, the platform's TLS
//!   on macOS).
//! - [`tray`]: the menu-bar / tray icon and menu (SPEC §10): a pure model, a `Send`
//!   handle for the daemon, a main-thread loop per OS (ksni on Linux, tray-icon on macOS).
//!   It hosts the daemon it shows, so it is an edge like the CLI.
//! - [`notify`]: desktop notifications (SPEC §11.1): what to say, decided from the event
//!   bus (pure), and one backend per OS behind a small trait (the freedesktop
//!   notification server over D-Bus on Linux; the user-notification API from the app
//!   bundle, else `osascript`, on macOS), on tasks of their own that never block.
//! - `fsio`: atomic file writes (temp, fsync, rename, fsync the directory) for every
//!   file other processes read: results, task files, labels, caches, pid and sim state.
//! - [`record`]: recordings of a real drive session (`amphigory record`), replayed by
//!   `--simulate DIR`; the probing `selftest` shares.
//! - [`service`]: installing the daemon as a launchd LaunchAgent (macOS) or systemd user
//!   unit (Linux), SPEC §11.3.
//! - [`units`]: sizes as people read them (`1.5 GB`), for the CLI and notifications, and
//!   RFC 3339 timestamps.
//! - [`cli`]: the `amphigory` command line; `main.rs` only calls [`cli::main`]. The one
//!   place errors become exit codes.
//! - `fuzz_api` (hidden): one entry per decoder of what others wrote, calling what the
//!   daemon calls and checking properties; used by the fuzz targets in `fuzz/`.
//!
//! Wire types (task and result files, WebSocket and control-socket messages) live in the
//! `amphigory-wire` crate, shared with every peer.

pub mod awake;
pub mod cli;
pub mod config;
pub mod core;
pub mod daemon;
pub mod drives;
pub mod engine;
pub mod fingerprint;
pub(crate) mod fsio;
pub(crate) mod fswatch;
#[doc(hidden)]
pub mod fuzz_api;
pub mod history;
pub mod hooks;
pub mod makemkv;
pub mod notify;
pub mod queue;
pub mod record;
pub mod servers;
pub mod service;
pub mod sim;
pub mod tls;
pub mod tray;
pub mod units;
pub mod verify;
