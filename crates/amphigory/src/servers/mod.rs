//! The daemon's servers: the WebSocket server browsers and local tools connect to
//! (SPEC §7.1), the live link to the webapp (§7.2, [`webapp_link`]), and the `request`
//! methods both answer the same way; and the local control socket (§8, [`control`]) the
//! CLI and status bars use.
//!
//! Both listening servers admit clients through [`admission`]: a budget of clients each,
//! derived from the open-file limit, and a clean refusal beyond it.
//!
//! Each server takes what it needs as arguments (listeners, the event bus, the status
//! handle, a shutdown token), so tests start a real one on `127.0.0.1:0`.

pub(crate) mod admission;
pub mod control;
pub mod requests;
pub mod webapp_link;
pub mod wire_messages;
pub mod ws;
