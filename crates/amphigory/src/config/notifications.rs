//! How much the desktop notifications say (`notifications:` in daemon.yaml,
//! `--notifications`). A setting, so it lives with the configuration; `notify` reads it.

/// `notifications:` in daemon.yaml (`all`, `errors`, `off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationLevel {
    /// Every notification.
    #[default]
    All,
    /// Only failures.
    Errors,
    /// None.
    Off,
}

/// A `--notifications` value that is not a level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected all, errors or off, not {0:?}")]
pub struct ParseLevelError(String);

impl std::str::FromStr for NotificationLevel {
    type Err = ParseLevelError;

    /// `all`, `errors` or `off` (the `--notifications` flag).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(Self::All),
            "errors" => Ok(Self::Errors),
            "off" => Ok(Self::Off),
            other => Err(ParseLevelError(other.to_owned())),
        }
    }
}
