//! `Amphigory.app`'s `Info.plist` (SPEC §11.3): a menu-bar-only app (`LSUIElement`) with
//! the LaunchAgent's identifier, its version this binary's Cargo version. Written by
//! `amphigory generate info-plist`, which `packaging/macos/bundle.sh` runs.

use plist::{Dictionary, Value};

use super::launchd::LABEL;

/// The executable's name inside `Contents/MacOS`.
pub const EXECUTABLE: &str = "amphigory";
/// The icon file's name inside `Contents/Resources` (without `.icns`).
pub const ICON: &str = "Amphigory";

/// The bundle's property list for `version`.
pub fn info_plist(version: &str) -> Dictionary {
    let text = |s: &str| Value::String(s.to_owned());
    let mut dict = Dictionary::new();
    for (key, value) in [
        ("CFBundleIdentifier", text(LABEL)),
        ("CFBundleName", text("Amphigory")),
        ("CFBundleDisplayName", text("Amphigory")),
        ("CFBundleExecutable", text(EXECUTABLE)),
        ("CFBundleIconFile", text(ICON)),
        ("CFBundlePackageType", text("APPL")),
        ("CFBundleInfoDictionaryVersion", text("6.0")),
        ("CFBundleShortVersionString", text(version)),
        ("CFBundleVersion", text(version)),
        ("LSMinimumSystemVersion", text("11.0")),
        // Menu bar only: no Dock icon, no app menu.
        ("LSUIElement", Value::Boolean(true)),
        ("NSHighResolutionCapable", Value::Boolean(true)),
    ] {
        dict.insert(key.to_owned(), value);
    }
    dict
}

/// [`info_plist`] as XML.
pub fn info_plist_xml(version: &str) -> Result<Vec<u8>, plist::Error> {
    let mut out = Vec::new();
    Value::Dictionary(info_plist(version)).to_writer_xml(&mut out)?;
    out.push(b'\n');
    Ok(out)
}
