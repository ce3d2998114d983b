#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Finds the simulated makemkvcon processes of one test in the process table: those whose
//! environment names a sim directory under the test's root, or whose command line
//! mentions it. Zombies do not count (they run nothing).

#[cfg(target_os = "linux")]
use std::fs;
use std::path::Path;

/// Live (not zombie) processes running `__sim-makemkvcon` whose environment names a
/// sim directory under `root`, or whose command line mentions `root`.
#[cfg(target_os = "linux")]
pub fn sim_makemkvcons(root: &Path) -> Vec<u32> {
    let root = root.to_string_lossy().into_owned();
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let Ok(cmdline) = fs::read(dir.join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if !args.iter().any(|a| a == amphigory::cli::SIM_MAKEMKVCON_ARG) {
            continue;
        }
        let environ = fs::read(dir.join("environ")).unwrap_or_default();
        let sim_dir = format!("{}={root}", amphigory::sim::SIM_DIR_ENV);
        let ours = environ
            .split(|b| *b == 0)
            .any(|v| String::from_utf8_lossy(v).starts_with(&sim_dir))
            || args.iter().any(|a| a.contains(&root));
        if ours && !is_zombie(&dir) {
            pids.push(pid);
        }
    }
    pids
}

#[cfg(target_os = "linux")]
fn is_zombie(dir: &Path) -> bool {
    let stat = fs::read_to_string(dir.join("stat")).unwrap_or_default();
    // `pid (comm) S …`: the state follows the last `)`.
    stat.rsplit(')')
        .next()
        .is_some_and(|rest| rest.trim_start().starts_with(['Z', 'X']))
}

/// Elsewhere: `ps` with environments (`-E`, BSD), matched the same way.
#[cfg(not(target_os = "linux"))]
pub fn sim_makemkvcons(root: &Path) -> Vec<u32> {
    let root = root.to_string_lossy().into_owned();
    let out = std::process::Command::new("ps")
        .args(["-axwwE", "-o", "pid=,stat=,command="])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(amphigory::cli::SIM_MAKEMKVCON_ARG) && l.contains(&root))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let pid = words.next()?.parse().ok()?;
            let zombie = words.next()?.starts_with('Z');
            (!zombie).then_some(pid)
        })
        .collect()
}
