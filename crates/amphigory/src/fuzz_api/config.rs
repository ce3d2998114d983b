//! Configuration others write: the webapp's `/config.json` (and the cache of it), and the
//! user's `daemon.yaml`.

use std::path::Path;

use super::{Violation, ensure};
use crate::config::file::{self, FileError};
use crate::config::webapp::{WebappConfig, cache_bytes};

const WEBAPP: &str = "config.json";
const YAML: &str = "daemon.yaml";

/// `data` as a `/config.json` body through [`WebappConfig::from_json`]. An accepted
/// configuration has a heartbeat within bounds and reads back from the cache the daemon
/// writes of it as the very same configuration.
pub fn webapp_config(data: &[u8]) -> Result<(), Violation> {
    let Ok((config, raw)) = WebappConfig::from_json(data) else {
        return Ok(());
    };
    ensure(
        config
            .heartbeat_interval
            .is_none_or(|s| (1..=86_400).contains(&s)),
        WEBAPP,
        || {
            format!(
                "heartbeat_interval {:?} accepted",
                config.heartbeat_interval
            )
        },
    )?;
    let cached = cache_bytes(&raw).map_err(|e| Violation {
        decoder: WEBAPP,
        property: format!("cannot write the cache of {raw}: {e}"),
    })?;
    let again = WebappConfig::from_json(&cached);
    ensure(
        again.as_ref().is_ok_and(|(c, r)| *c == config && *r == raw),
        WEBAPP,
        || format!("{config:?} cached as {cached:?} reads back as {again:?}"),
    )
}

/// `data` as the text of `daemon.yaml` through [`file::parse`] (a file that is not UTF-8
/// is a read error before any parsing). Lines named in errors and warnings point inside
/// the file, at the key named when there is one.
pub fn daemon_yaml(data: &[u8]) -> Result<(), Violation> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    // YAML breaks lines at `\n`, `\r\n` and a lone `\r`, and so must every line number.
    let unix = text.replace("\r\n", "\n");
    let lines: Vec<&str> = unix.split(['\n', '\r']).collect();
    let names_key = |line: u64, key: &str| {
        usize::try_from(line)
            .ok()
            .and_then(|l| l.checked_sub(1))
            .and_then(|l| lines.get(l))
            .is_some_and(|l| l.starts_with(key))
    };
    match file::parse(Path::new("daemon.yaml"), text) {
        Ok(parsed) => {
            for unknown in &parsed.unknown {
                ensure(
                    unknown.line.is_none_or(|l| names_key(l, &unknown.key)),
                    YAML,
                    || format!("unknown key {unknown:?} is not on that line"),
                )?;
            }
            Ok(())
        }
        Err(FileError::Syntax { line, .. }) => {
            let last = u64::try_from(lines.len())
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            ensure(line <= last, YAML, || {
                format!("syntax error at line {line} of a {}-line file", lines.len())
            })
        }
        Err(FileError::Invalid { line, key, .. }) => {
            // A key inside a mapping (`hooks.on_x`) is named on its own (indented) line,
            // or, when that cannot be found, on its parent's.
            let names = |l: u64| match key.split_once('.') {
                None => names_key(l, &key),
                Some((parent, child)) => {
                    names_key(l, parent)
                        || usize::try_from(l)
                            .ok()
                            .and_then(|l| l.checked_sub(1))
                            .and_then(|l| lines.get(l))
                            .map(|l| l.trim_start().trim_start_matches(['"', '\'']))
                            .is_some_and(|l| l.starts_with(child))
                }
            };
            ensure(line.is_none_or(names), YAML, || {
                format!("invalid `{key}` reported at line {line:?}, which does not name it")
            })
        }
        Err(FileError::Read { .. }) => Ok(()),
    }
}
