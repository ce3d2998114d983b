//! Amphigory's host daemon: owns the optical drives, runs `makemkvcon`, works the shared
//! task queue and reports progress everywhere.
//!
//! # Layout
//! - [`makemkv`]: robot-mode parser, scan assembler and classifier, progress tracker
//!   (pure), and the supervised `makemkvcon` runner (I/O).
//! - [`sim`]: the simulated `makemkvcon`, a hidden subcommand of this binary, with the
//!   built-in demo discs.
//! - [`fingerprint`]: stable disc ids (SPEC §9.4).
//! - [`core`]: the event bus ([`core::DaemonEvent`]) and the status snapshot every
//!   server reads.
//! - [`queue`]: the durable file queue shared with the webapp (SPEC §4).
//! - [`engine`]: claims tasks for free drives, runs them, writes results.
//! - [`daemon`]: wires queue, drives, runner and engine together; `run` takes its
//!   shutdown signal.
//! - [`servers`]: the WebSocket server of SPEC §7.1 and the `request` methods it shares
//!   with the webapp link.
//! - [`cli`]: the `amphigory` command line; `main.rs` only calls [`cli::main`].
//!
//! Wire types (task and result files, WebSocket and control-socket messages) live in the
//! `amphigory-wire` crate, shared with every peer.

pub mod cli;
pub mod core;
pub mod daemon;
pub mod engine;
pub mod fingerprint;
pub mod makemkv;
pub mod queue;
pub mod servers;
pub mod sim;
