//! Event envelopes (SPEC §8): what a subscribed connection receives after its `ok`.

use serde::{Deserialize, Serialize};

use crate::ws::ServerMessage;

/// Kind of envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    /// Progress and other data.
    Data,
    /// Errors.
    Error,
    /// State changes.
    Status,
}

/// An event as a subscriber receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Always `"amphigory"`.
    pub event_name: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// RFC 3339 of the same instant.
    pub timestamp_iso: String,
    /// Kind of message.
    pub message_type: MessageType,
    /// The §7.1 message.
    pub data: ServerMessage,
}
