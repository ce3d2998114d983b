//! Stopping a makemkvcon that a previous life of this daemon left running (killed daemon
//! on macOS, where there is no parent-death signal), before its drive is used again.
//! Pids are reused, so a recorded pid is only killed when it still is a makemkvcon.

use crate::makemkv::process::kill_orphan_group;
use crate::queue::OrphanChild;

/// Kills each recorded child that is still a makemkvcon (real or simulated).
pub(super) fn stop(orphans: &[OrphanChild]) {
    for orphan in orphans {
        if !is_makemkvcon(orphan.pid) {
            continue;
        }
        match kill_orphan_group(orphan.pid) {
            Ok(true) => {
                tracing::warn!(task = %orphan.task_id, pid = orphan.pid, "stopped an orphaned makemkvcon")
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(task = %orphan.task_id, pid = orphan.pid, "cannot stop an orphaned makemkvcon: {e}")
            }
        }
    }
}

/// Does `pid` run makemkvcon (or the simulated one)?
fn is_makemkvcon(pid: u32) -> bool {
    command_line(pid).is_some_and(|cmd| looks_like_makemkvcon(&cmd))
}

fn looks_like_makemkvcon(command_line: &str) -> bool {
    command_line.contains("makemkvcon") || command_line.contains(crate::sim::SIM_MAKEMKVCON_ARG)
}

#[cfg(target_os = "linux")]
fn command_line(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).replace('\0', " "))
}

#[cfg(not(target_os = "linux"))]
fn command_line(pid: u32) -> Option<String> {
    let out = std::process::Command::new("ps")
        .args(["-o", "command=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_real_and_simulated_makemkvcon_only() {
        assert!(looks_like_makemkvcon(
            "/usr/bin/makemkvcon -r --cache=1024 mkv dev:/dev/sr0 0 /x"
        ));
        assert!(looks_like_makemkvcon(
            "/x/amphigory __sim-makemkvcon -r info dev:/dev/sim0"
        ));
        assert!(!looks_like_makemkvcon("/usr/bin/vim notes.txt"));
        assert!(
            !is_makemkvcon(std::process::id()),
            "the test binary is not makemkvcon"
        );
    }
}
