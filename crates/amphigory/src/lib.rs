//! Amphigory's host daemon: owns the optical drives, runs `makemkvcon`, works the shared
//! task queue and reports progress everywhere.
//!
//! # Layout
//! - [`makemkv`]: robot-mode parser, scan assembler and classifier, progress tracker
//!   (pure), and the supervised `makemkvcon` runner (I/O).
//! - [`sim`]: the simulated `makemkvcon`, a hidden subcommand of this binary, with the
//!   built-in demo discs.
//! - [`fingerprint`]: stable disc ids (SPEC §9.4).
//! - [`cli`]: the `amphigory` command line; `main.rs` only calls [`cli::main`].
//!
//! Wire types (task and result files, WebSocket and control-socket messages) live in the
//! `amphigory-wire` crate, shared with every peer.

pub mod cli;
pub mod fingerprint;
pub mod makemkv;
pub mod sim;
