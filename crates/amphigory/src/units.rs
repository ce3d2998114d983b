//! Sizes as people read them, shared by the terminal and the notifications; timestamps
//! as the files, hooks and peers write them.

use chrono::{DateTime, Local, SecondsFormat};

/// RFC 3339 with offset, seconds precision (`2025-12-27T14:30:52+01:00`).
pub fn rfc3339(t: DateTime<Local>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Now, as [`rfc3339`].
pub fn now_rfc3339() -> String {
    rfc3339(Local::now())
}

/// `1.5 GB`, decimal units like MakeMKV and the webapp.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    #[allow(clippy::cast_precision_loss)] // display only
    let mut value = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        unit = u;
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
    }
    if unit == "B" {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {unit}")
    }
}
