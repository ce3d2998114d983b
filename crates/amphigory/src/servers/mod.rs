//! The daemon's servers: the WebSocket server browsers and local tools connect to
//! (SPEC §7.1), and the `request` methods (§7.2) it shares with the webapp link.
//!
//! Each server takes what it needs as arguments (listeners, the event bus, the status
//! handle, a shutdown token), so tests start a real one on `127.0.0.1:0`.

pub mod requests;
pub mod ws;
