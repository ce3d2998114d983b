//! `hooks:` in `daemon.yaml` (SPEC §11.1): which command runs on which event. The names
//! live here, below the runner in `crate::hooks`, because the configuration must reject
//! an unknown one (with its line) before anything runs.

use std::collections::BTreeMap;
use std::fmt;

/// An event a hook can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HookEvent {
    /// A disc went into a drive.
    DiscInserted,
    /// A scan task finished well.
    ScanComplete,
    /// A rip task finished well.
    RipComplete,
    /// A task failed (any type).
    TaskFailed,
    /// The queue emptied after work: nothing waits, nothing runs.
    QueueEmpty,
}

impl HookEvent {
    /// Every event, in the order the documentation lists them.
    pub const ALL: [Self; 5] = [
        Self::DiscInserted,
        Self::ScanComplete,
        Self::RipComplete,
        Self::TaskFailed,
        Self::QueueEmpty,
    ];

    /// The event's name in `AMPHIGORY_EVENT` and the JSON (`rip_complete`).
    pub fn name(self) -> &'static str {
        match self {
            Self::DiscInserted => "disc_inserted",
            Self::ScanComplete => "scan_complete",
            Self::RipComplete => "rip_complete",
            Self::TaskFailed => "task_failed",
            Self::QueueEmpty => "queue_empty",
        }
    }

    /// The key under `hooks:` (`on_rip_complete`).
    pub fn key(self) -> String {
        format!("on_{}", self.name())
    }

    /// The event a `hooks:` key names, if it names one.
    pub fn from_key(key: &str) -> Option<Self> {
        let name = key.strip_prefix("on_")?;
        Self::ALL.into_iter().find(|e| e.name() == name)
    }
}

impl fmt::Display for HookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The configured hooks: event → argv (program first, no shell).
pub type Hooks = BTreeMap<HookEvent, Vec<String>>;

/// Why a `hooks:` entry cannot be used; the caller adds the file and the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookKeyError {
    /// A key that names no event.
    #[error("unknown hook (known: {})", known_keys())]
    Unknown,
    /// An empty argv.
    #[error("must name a command (a list: program, then its arguments)")]
    Empty,
}

fn known_keys() -> String {
    HookEvent::ALL.map(HookEvent::key).join(", ")
}

/// Checks the raw `hooks:` mapping; the first bad key and why.
pub fn typed(raw: &BTreeMap<String, Vec<String>>) -> Result<Hooks, (String, HookKeyError)> {
    raw.iter()
        .map(|(key, argv)| {
            let event = HookEvent::from_key(key).ok_or((key.clone(), HookKeyError::Unknown))?;
            if argv.first().is_none_or(|p| p.trim().is_empty()) {
                return Err((key.clone(), HookKeyError::Empty));
            }
            Ok((event, argv.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for event in HookEvent::ALL {
            assert_eq!(HookEvent::from_key(&event.key()), Some(event));
        }
        assert_eq!(HookEvent::from_key("rip_complete"), None);
        assert_eq!(HookEvent::from_key("on_rip_done"), None);
    }

    #[test]
    fn unknown_and_empty_are_refused() {
        let raw = BTreeMap::from([("on_rip_done".to_owned(), vec!["x".to_owned()])]);
        assert_eq!(
            typed(&raw),
            Err(("on_rip_done".to_owned(), HookKeyError::Unknown))
        );
        let raw = BTreeMap::from([("on_queue_empty".to_owned(), vec![])]);
        assert_eq!(
            typed(&raw),
            Err(("on_queue_empty".to_owned(), HookKeyError::Empty))
        );
    }
}
