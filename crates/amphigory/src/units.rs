//! Sizes as people read them, shared by the terminal and the notifications.

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
