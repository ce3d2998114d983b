//! Linux only: the kernel's uevents for optical drives, captured raw from the netlink
//! socket while `record --watch` runs and written as `udevadm monitor --kernel --property`
//! prints them (the format of `fixtures/udev`), so a real insert or eject can be replayed
//! through the same parser the daemon's tests use.

use std::time::Duration;

use crate::drives::linux::{sys, uevent, uevent_rules};

/// File name of the capture in a recording.
pub const UEVENTS_FILE: &str = "udevadm-monitor.txt";

/// Collects every uevent about an optical drive for `duration`, as monitor text.
pub async fn capture(duration: Duration) -> std::io::Result<String> {
    let socket = sys::async_uevent_socket()?;
    let mut out = String::new();
    let mut buf = vec![0u8; 16 * 1024];
    let deadline = tokio::time::sleep(duration);
    tokio::pin!(deadline);
    loop {
        let mut guard = tokio::select! {
            () = &mut deadline => return Ok(out),
            ready = socket.readable() => ready?,
        };
        let Ok(Ok(n)) = guard.try_io(|fd| sys::recv_uevent(fd.get_ref(), &mut buf)) else {
            continue;
        };
        let Some(event) = buf.get(..n).and_then(uevent::parse_netlink) else {
            continue;
        };
        if uevent_rules::is_optical(&event) {
            out.push_str(&monitor_text(uptime(), &event));
        }
    }
}

/// Seconds since boot, as `udevadm monitor` stamps its lines.
fn uptime() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// One event as `udevadm monitor --kernel --property` prints it: the header line, the
/// properties, a blank line.
pub fn monitor_text(uptime: f64, event: &uevent::Uevent) -> String {
    let action = event.get("ACTION").unwrap_or("change");
    let devpath = event.devpath.as_deref().unwrap_or("");
    let subsystem = event.subsystem.as_deref().unwrap_or("block");
    let mut text = format!("KERNEL[{uptime:.6}] {action:<8} {devpath} ({subsystem})\n");
    for (key, value) in &event.properties {
        text.push_str(&format!("{key}={value}\n"));
    }
    text.push('\n');
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_kernel_event_reads_back_as_it_came() {
        let payload = b"change@/devices/pci0000:00/0000:00:1f.2/ata2/host1/target1:0:0/1:0:0:0/block/sr0\0\
            ACTION=change\0DEVPATH=/devices/pci0000:00/0000:00:1f.2/ata2/host1/target1:0:0/1:0:0:0/block/sr0\0\
            SUBSYSTEM=block\0DISK_MEDIA_CHANGE=1\0DEVNAME=sr0\0DEVTYPE=disk\0SEQNUM=2571\0MAJOR=11\0MINOR=0\0";
        let event = uevent::parse_netlink(payload).unwrap();
        let text = monitor_text(1234.5, &event);
        assert!(
            text.starts_with("KERNEL[1234.500000] change   /devices/"),
            "{text}"
        );
        let back = uevent::parse_monitor_text(&text);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].devname.as_deref(), Some("sr0"));
        assert!(uevent_rules::is_media_change(&back[0]));
        assert!(uevent_rules::is_optical(&back[0]));
    }
}
