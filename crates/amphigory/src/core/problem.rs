//! Status problems: what a person should fix, typed by kind so that readers (the tray's
//! overlays, the engine replacing one source's problems) decide on the kind, never on the
//! words; shown and sent as one line of text each.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// The webapp's configuration is missing something the daemon needs.
    NeedsConfig,
    /// The configuration changed in a way only a restart applies.
    RestartNeeded,
    /// makemkvcon was not found.
    NoMakemkvcon,
    /// Disc detection could not start: no drive is used.
    NoDetection,
    /// The queue directory itself (folders, `tasks.json`).
    Queue,
    /// Finished tasks whose results cannot be written yet.
    ResultsUnwritten,
    /// A disc queued tasks wait for is in no drive.
    DiscNeeded,
    /// Anything else (a line read back whose kind is not known).
    Other,
}

impl ProblemKind {
    /// The words a line of this kind starts with, for kinds that have fixed ones.
    fn prefix(self) -> Option<&'static str> {
        match self {
            Self::NeedsConfig => Some(NEEDS_CONFIG),
            Self::RestartNeeded => Some(RESTART_NEEDED),
            Self::NoMakemkvcon => Some("makemkvcon not found"),
            Self::DiscNeeded => Some("disc needed"),
            _ => None,
        }
    }
}

/// How a "needs config" problem starts.
pub const NEEDS_CONFIG: &str = "needs config";
/// How a "restart needed" problem starts.
pub const RESTART_NEEDED: &str = "restart needed";

/// One problem: its kind and the line the status shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    kind: ProblemKind,
    text: String,
}

impl Problem {
    /// A problem of `kind` saying `text`.
    pub fn new(kind: ProblemKind, text: impl Into<String>) -> Self {
        Self {
            kind,
            text: text.into(),
        }
    }

    /// A line read back (a daemon's reply, a test's snapshot): its kind from the words it
    /// starts with, [`ProblemKind::Other`] when they say nothing.
    pub fn parse(text: impl Into<String>) -> Self {
        let text = text.into();
        let kind = [
            ProblemKind::NeedsConfig,
            ProblemKind::RestartNeeded,
            ProblemKind::NoMakemkvcon,
            ProblemKind::DiscNeeded,
        ]
        .into_iter()
        .find(|k| k.prefix().is_some_and(|p| text.starts_with(p)))
        .unwrap_or(ProblemKind::Other);
        Self { kind, text }
    }

    /// What it is about.
    pub fn kind(&self) -> ProblemKind {
        self.kind
    }

    /// The line the status shows.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl Deref for Problem {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<&str> for Problem {
    fn from(text: &str) -> Self {
        Self::parse(text)
    }
}

impl From<String> for Problem {
    fn from(text: String) -> Self {
        Self::parse(text)
    }
}

impl PartialEq<str> for Problem {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Problem {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl PartialEq<String> for Problem {
    fn eq(&self, other: &String) -> bool {
        &self.text == other
    }
}

/// On the wire a problem is its line (SPEC §8 `status`).
impl Serialize for Problem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Problem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::parse)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_keep_their_kind_and_travel_as_text() {
        let needs = Problem::new(ProblemKind::NeedsConfig, "needs config: no webapp_url");
        let json = serde_json::to_string(&needs).unwrap();
        assert_eq!(json, "\"needs config: no webapp_url\"");
        let back: Problem = serde_json::from_str(&json).unwrap();
        assert_eq!(back, needs);
        assert_eq!(Problem::from("queue is gone").kind(), ProblemKind::Other);
        assert!(needs.starts_with("needs config"));
        assert_eq!(needs, "needs config: no webapp_url");
    }
}
