//! Serial numbers out of recordings: pure text functions, tested on the shapes real
//! tools print (udev records, property lists, MakeMKV's LibreDrive line).

/// Shortest value treated as a serial when replacing it elsewhere in the text (shorter
/// ones would blot out ordinary words).
const MIN_SERIAL: usize = 4;

/// `text` with every serial it names, and MakeMKV's LibreDrive `id=`, replaced by `X`s.
pub fn scrub(text: &str) -> String {
    scrub_with(text, &serials(text))
}

/// `text` with each of `serials` (and its own LibreDrive ids) replaced by `X`s of the
/// same length.
pub fn scrub_with(text: &str, serials: &[String]) -> String {
    let mut out = text.to_owned();
    let mut sorted: Vec<&String> = serials.iter().filter(|s| s.len() >= MIN_SERIAL).collect();
    // Longest first, so a serial that contains another is replaced whole.
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for serial in sorted {
        out = out.replace(serial.as_str(), &"X".repeat(serial.chars().count()));
    }
    scrub_drive_ids(&out)
}

/// The serial values `text` names: `KEY=VALUE` (udev, `E: KEY=VALUE` or `E:KEY=VALUE`)
/// and property-list `<key>` / `<string>` pairs whose key contains "serial".
pub fn serials(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending_key = false;
    for line in text.lines() {
        let line = line.trim();
        let body = line.strip_prefix("E:").map(str::trim_start).unwrap_or(line);
        if let Some((key, value)) = body.split_once('=') {
            if key.to_ascii_uppercase().contains("SERIAL") && !value.trim().is_empty() {
                found.push(value.trim().to_owned());
            }
        }
        if let Some(key) = between(line, "<key>", "</key>") {
            pending_key = key.to_ascii_lowercase().contains("serial");
            // A `<key>…</key><string>…</string>` pair on one line.
            if let Some(value) = between(line, "<string>", "</string>").filter(|_| pending_key) {
                found.push(value.trim().to_owned());
                pending_key = false;
            }
            continue;
        }
        if pending_key {
            if let Some(value) = between(line, "<string>", "</string>") {
                found.push(value.trim().to_owned());
            }
            pending_key = false;
        }
    }
    found.retain(|s| !s.is_empty() && !s.chars().all(|c| c == 'X'));
    found
}

fn between<'a>(line: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = line.find(open)? + open.len();
    let rest = line.get(start..)?;
    rest.find(close).and_then(|end| rest.get(..end))
}

/// MakeMKV names the drive's firmware id in its LibreDrive message (`… (v06.2
/// id=1A2B3C4D5E6F)`): every `id=` followed by 6 or more hex digits loses the digits.
fn scrub_drive_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("id=") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let hex = after
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(after.len());
        if hex >= 6 {
            out.push_str(&"X".repeat(hex));
            rest = after.get(hex..).unwrap_or("");
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn udev_serials_go_everywhere_they_appear() {
        let text = "S: disk/by-id/ata-HL-DT-ST_BD-RE_BH12LS38_K91B6A95648\n\
                    E: ID_MODEL=HL-DT-ST_BD-RE_BH12LS38\n\
                    E: ID_SERIAL=HL-DT-ST_BD-RE_BH12LS38_K91B6A95648\n\
                    E:ID_SERIAL_SHORT=K91B6A95648\n\
                    E: ID_FS_LABEL=MY_MOVIE\n";
        let clean = scrub(text);
        assert!(!clean.contains("K91B6A95648"), "{clean}");
        assert!(
            clean.contains("ata-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
            "{clean}"
        );
        assert!(clean.contains("E:ID_SERIAL_SHORT=XXXXXXXXXXX"), "{clean}");
        assert!(
            clean.contains("ID_MODEL=HL-DT-ST_BD-RE_BH12LS38"),
            "{clean}"
        );
        assert!(clean.contains("ID_FS_LABEL=MY_MOVIE"), "{clean}");
    }

    #[test]
    fn plist_serials_and_libredrive_ids_are_blotted() {
        let plist = "<dict>\n<key>serialNumber</key>\n<string>S1234567</string>\n\
                     <key>volumeName</key><string>MY_MOVIE</string>\n</dict>";
        let clean = scrub(plist);
        assert!(
            !clean.contains("S1234567") && clean.contains("MY_MOVIE"),
            "{clean}"
        );
        let msg = r#"MSG:1011,0,1,"Using LibreDrive mode (v06.2 id=1A2B3C4D5E6F)","x""#;
        let clean = scrub(msg);
        assert!(clean.contains("id=XXXXXXXXXXXX)"), "{clean}");
        assert_eq!(scrub("grid=ab, id=12"), "grid=ab, id=12");
    }
}
