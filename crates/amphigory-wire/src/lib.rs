//! Wire types of Amphigory: every JSON shape the daemon reads or writes.
//!
//! # Layout
//! - [`error`]: the error codes of SPEC §5 and the `{code, message, detail}` object.
//! - [`task`]: task files as the webapp writes them (SPEC §4.1), read leniently.
//! - [`result`]: result files (`complete/<id>.json`, SPEC §4.2).
//! - [`scan`]: the scan result of SPEC §6.3.
//! - [`drive`]: the drive object of SPEC §9.1.
//! - [`ws`]: WebSocket messages, the daemon's server (§7.1) and the webapp link (§7.2).
//! - [`control`]: the local control socket (§8): requests, responses, event envelopes.
//!
//! Types here carry no behaviour beyond serde and small accessors; conversions from the
//! daemon's internal state happen at each server boundary.

pub mod control;
pub mod drive;
pub mod error;
pub mod result;
pub mod scan;
pub mod task;
pub mod ws;

pub use error::{ErrorCode, TaskError};
