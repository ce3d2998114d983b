//! Disc detection input: Linux uevents (netlink payloads and `udevadm` text) and macOS
//! `drutil status` (text and `-xml`), parsed on every platform.

use super::{Violation, ensure, split_first_line};
use crate::drives::drutil;
use crate::fingerprint::DiscFacts;

const DRUTIL: &str = "drutil";

/// `data` as a netlink datagram ([`parse_netlink`], what the Linux monitor receives) and
/// as `udevadm` text ([`parse_info_text`] reads udev's database files, `parse_monitor_text`
/// captures), each event then judged by the monitor's decisions. A datagram printed back
/// from the event it gave must give the same event.
///
/// [`parse_netlink`]: crate::drives::linux::uevent::parse_netlink
/// [`parse_info_text`]: crate::drives::linux::uevent::parse_info_text
#[cfg(target_os = "linux")]
pub fn uevent(data: &[u8]) -> Result<(), Violation> {
    use crate::drives::linux::uevent::{parse_info_text, parse_monitor_text, parse_netlink};

    if let Some(event) = parse_netlink(data) {
        judge(&event);
        let printed = netlink_bytes(&event);
        let again = parse_netlink(&printed);
        ensure(again.as_ref() == Some(&event), "uevent", || {
            let printed = String::from_utf8_lossy(&printed);
            format!("{event:?} printed as {printed:?} parses to {again:?}")
        })?;
    }
    let text = String::from_utf8_lossy(data);
    judge(&parse_info_text(&text));
    parse_monitor_text(&text).iter().for_each(judge);
    Ok(())
}

/// What the Linux monitor asks of an event.
#[cfg(target_os = "linux")]
fn judge(event: &crate::drives::linux::uevent::Uevent) {
    use crate::drives::linux::uevent_rules;
    let _ = (
        uevent_rules::is_optical(event),
        uevent_rules::is_media_change(event),
        uevent_rules::presence_from_properties(event),
        uevent_rules::medium_kind(event),
        uevent_rules::volume_label(event),
    );
}

/// The kernel's datagram for `event`: `ACTION@DEVPATH`, then `KEY=VALUE`, NUL-separated.
#[cfg(target_os = "linux")]
fn netlink_bytes(event: &crate::drives::linux::uevent::Uevent) -> Vec<u8> {
    use crate::drives::linux::uevent::Action;
    let action = match &event.action {
        Action::Add => "add",
        Action::Remove => "remove",
        Action::Change => "change",
        Action::Snapshot => "",
        Action::Other(other) => other,
    };
    let mut out = format!("{action}@{}", event.devpath.as_deref().unwrap_or_default()).into_bytes();
    for (key, value) in &event.properties {
        out.push(0);
        out.extend_from_slice(format!("{key}={value}").as_bytes());
    }
    out.push(0);
    out
}

/// `data` as `drutil status` text through [`drutil::parse_text`]: facts only for a
/// medium with blocks, and their fingerprint computable.
pub fn drutil_text(data: &[u8]) -> Result<(), Violation> {
    let status = drutil::parse_text(&String::from_utf8_lossy(data));
    let facts = status.facts();
    ensure(
        facts.is_none() || (status.has_media() && !status.is_blank()),
        DRUTIL,
        || format!("facts {facts:?} from {status:?}"),
    )?;
    check_facts(facts.as_ref())
}

/// The first line of `data` names the disc's BSD device (`disk4`), the rest is `drutil
/// status -xml` output, read by [`drutil::parse_xml_for_device`] as the macOS monitor
/// reads it, and by [`drutil::parse_xml`].
pub fn drutil_xml(data: &[u8]) -> Result<(), Violation> {
    let (device, xml) = split_first_line(data);
    let xml = String::from_utf8_lossy(xml);
    if let Ok(facts) = drutil::parse_xml_for_device(&xml, &device) {
        check_facts(facts.as_ref())?;
    }
    if let Ok(facts) = drutil::parse_xml(&xml) {
        check_facts(facts.as_ref())?;
    }
    Ok(())
}

/// Facts give one fingerprint, the same each time.
fn check_facts(facts: Option<&DiscFacts>) -> Result<(), Violation> {
    let Some(facts) = facts else {
        return Ok(());
    };
    let (a, b) = (facts.fingerprint(), facts.fingerprint());
    ensure(a == b && !a.is_empty(), DRUTIL, || {
        format!("{facts:?} fingerprints as {a:?} then {b:?}")
    })
}
