//! Pure parsing of device events into one [`Uevent`] shape, from the three forms they come
//! in:
//!
//! - the raw kernel payload a `NETLINK_KOBJECT_UEVENT` socket delivers
//!   (`ACTION@DEVPATH\0KEY=VALUE\0…`), see [`parse_netlink`];
//! - the text of `udevadm monitor` (header lines `KERNEL[ts] change /devices/… (block)`,
//!   optionally followed by `KEY=VALUE` lines with `--property`/`--environment`), see
//!   [`parse_monitor_text`];
//! - the text of `udevadm info --query=all` (`P:`/`N:`/`E: KEY=VALUE` lines, old and new
//!   layouts), `udevadm info -q env` (bare `KEY=VALUE`) and udev's database files
//!   (`/run/udev/data/b11:0`, `E:KEY=VALUE`), see [`parse_info_text`].

use std::collections::BTreeMap;

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The kernel's own uevent (netlink, or a `KERNEL[…]` monitor line): no `ID_*` keys.
    Kernel,
    /// The event udev sends after its rules ran (`UDEV  […]` monitor line): `ID_*` keys.
    Udev,
    /// A snapshot of udev's database (`udevadm info`, `/run/udev/data`), not an event.
    Database,
}

/// What happened to the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Device appeared.
    Add,
    /// Device went away.
    Remove,
    /// Something about it changed (for `sr*`: the medium).
    Change,
    /// No action: a database snapshot describing the current state.
    Snapshot,
    /// Any other action (`bind`, `move`, `online`, …).
    Other(String),
}

impl Action {
    fn parse(s: &str) -> Self {
        match s {
            "add" => Self::Add,
            "remove" => Self::Remove,
            "change" => Self::Change,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// One device event (or database snapshot), whatever form it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uevent {
    /// Kernel, udev or database.
    pub source: Source,
    /// What happened.
    pub action: Action,
    /// Kernel device path (`/devices/…/block/sr0`), when known.
    pub devpath: Option<String>,
    /// Device name without `/dev/` (`sr0`), from `DEVNAME`, else the last `DEVPATH`
    /// component for block devices.
    pub devname: Option<String>,
    /// `block`, `scsi`, `module`, … when known.
    pub subsystem: Option<String>,
    /// `disk`, `partition`, `scsi_device`, … when known.
    pub devtype: Option<String>,
    /// Every `KEY=VALUE` property, as given.
    pub properties: BTreeMap<String, String>,
}

impl Uevent {
    fn new(source: Source, action: Action) -> Self {
        Self {
            source,
            action,
            devpath: None,
            devname: None,
            subsystem: None,
            devtype: None,
            properties: BTreeMap::new(),
        }
    }

    /// The value of a property.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }

    /// True when the property is exactly `1`.
    pub fn flag(&self, key: &str) -> bool {
        self.get(key) == Some("1")
    }

    /// Adds one property and fills the named fields it implies.
    fn set(&mut self, key: &str, value: &str) {
        match key {
            "ACTION" if self.action == Action::Snapshot => self.action = Action::parse(value),
            "DEVPATH" => self.devpath = Some(value.to_owned()),
            "DEVNAME" => self.devname = Some(strip_dev(value).to_owned()),
            "SUBSYSTEM" => self.subsystem = Some(value.to_owned()),
            "DEVTYPE" => self.devtype = Some(value.to_owned()),
            _ => {}
        }
        self.properties.insert(key.to_owned(), value.to_owned());
    }

    /// Fills `devname` from the device path when the event named no `DEVNAME`.
    fn finish(mut self) -> Self {
        if self.devname.is_none() && self.subsystem.as_deref() != Some("module") {
            if let Some(path) = self.devpath.as_deref() {
                if path.contains("/block/") {
                    self.devname = path.rsplit('/').next().map(str::to_owned);
                }
            }
        }
        self
    }
}

fn strip_dev(name: &str) -> &str {
    name.strip_prefix("/dev/").unwrap_or(name)
}

/// Parses one raw kernel uevent datagram. Returns `None` for anything else (udevd's
/// `libudev` messages, garbage).
pub fn parse_netlink(buf: &[u8]) -> Option<Uevent> {
    let mut parts = buf.split(|b| *b == 0).filter(|p| !p.is_empty());
    let header = std::str::from_utf8(parts.next()?).ok()?;
    let (action, devpath) = header.split_once('@')?;
    let mut ev = Uevent::new(Source::Kernel, Action::parse(action));
    ev.devpath = Some(devpath.to_owned());
    for part in parts {
        let Ok(text) = std::str::from_utf8(part) else {
            continue;
        };
        if let Some((k, v)) = text.split_once('=') {
            ev.set(k, v);
        }
    }
    Some(ev.finish())
}

/// Parses a monitor header line: `KERNEL[869.297856] change   /devices/… (block)`.
fn parse_monitor_header(line: &str) -> Option<Uevent> {
    let (source, rest) = if let Some(r) = line.strip_prefix("KERNEL[") {
        (Source::Kernel, r)
    } else if let Some(r) = line.strip_prefix("UDEV") {
        (Source::Udev, r.trim_start().strip_prefix('[')?)
    } else {
        return None;
    };
    let (_, rest) = rest.split_once(']')?;
    let mut words = rest.split_whitespace();
    let mut ev = Uevent::new(source, Action::parse(words.next()?));
    ev.devpath = words.next().map(str::to_owned);
    ev.subsystem = words
        .next()
        .and_then(|w| w.strip_prefix('('))
        .and_then(|w| w.strip_suffix(')'))
        .map(str::to_owned);
    Some(ev)
}

/// Parses `udevadm monitor` output (with or without `--property`) into its events, in
/// order. `KEY=VALUE` lines before the first header (the tail of an event whose header
/// was not captured) become one [`Source::Database`]-like snapshot with no action.
pub fn parse_monitor_text(text: &str) -> Vec<Uevent> {
    let mut out = Vec::new();
    let mut current: Option<Uevent> = None;
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(ev) = parse_monitor_header(line) {
            out.extend(current.take().map(Uevent::finish));
            current = Some(ev);
            continue;
        }
        let Some((k, v)) = property_line(line) else {
            continue;
        };
        let ev = current.get_or_insert_with(|| Uevent::new(Source::Database, Action::Snapshot));
        if k == "ACTION" && ev.source != Source::Database {
            ev.properties.insert(k.to_owned(), v.to_owned());
        } else {
            ev.set(k, v);
        }
    }
    out.extend(current.map(Uevent::finish));
    out
}

/// A `KEY=VALUE` line whose key looks like a property name (upper case, digits, `_`).
fn property_line(line: &str) -> Option<(&str, &str)> {
    let (k, v) = line.split_once('=')?;
    let ok = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    ok.then_some((k, v))
}

/// Parses one `udevadm info` / `udevadm info -q env` / udev database snapshot.
pub fn parse_info_text(text: &str) -> Uevent {
    let mut ev = Uevent::new(Source::Database, Action::Snapshot);
    for line in text.lines() {
        let line = line.trim_end();
        let (tag, value) = match line.split_once(':') {
            Some((t, v)) if t.len() == 1 => (t, v.strip_prefix(' ').unwrap_or(v)),
            _ => ("E", line),
        };
        match tag {
            "P" => ev.devpath = Some(value.to_owned()),
            "N" | "M" if ev.devname.is_none() => ev.devname = Some(strip_dev(value).to_owned()),
            "U" => ev.subsystem = Some(value.to_owned()),
            "T" => ev.devtype = Some(value.to_owned()),
            "E" => {
                if let Some((k, v)) = property_line(value) {
                    ev.set(k, v);
                }
            }
            _ => {}
        }
    }
    ev.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netlink_payload() {
        let raw = b"change@/devices/x/block/sr0\0ACTION=change\0DEVPATH=/devices/x/block/sr0\0\
SUBSYSTEM=block\0DISK_MEDIA_CHANGE=1\0DEVNAME=sr0\0DEVTYPE=disk\0SEQNUM=9\0";
        let ev = parse_netlink(raw);
        let ev = ev.as_ref();
        assert_eq!(ev.map(|e| e.action.clone()), Some(Action::Change));
        assert_eq!(ev.and_then(|e| e.devname.as_deref()), Some("sr0"));
        assert_eq!(ev.and_then(|e| e.subsystem.as_deref()), Some("block"));
        assert!(ev.is_some_and(|e| e.flag("DISK_MEDIA_CHANGE")));
        assert!(parse_netlink(b"libudev\0\xfe\xed").is_none());
    }
}
