//! Build script: records the git commit the binary is built from (`AMPHIGORY_GIT_SHA`,
//! announced to the webapp as `git_sha`). Outside a git checkout (a crates.io tarball, a
//! source archive) or without git, nothing is recorded and `git_sha` is left out.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let Some(manifest) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        return;
    };
    if let Some(git_dir) = git_dir_above(&manifest) {
        watch_head(&git_dir);
    }
    let sha = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(&manifest)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()));
    if let Some(sha) = sha {
        println!("cargo:rustc-env=AMPHIGORY_GIT_SHA={sha}");
    }
}

/// The git directory of the checkout holding `dir`: `.git` itself, or where a worktree's
/// `.git` file points.
fn git_dir_above(dir: &Path) -> Option<PathBuf> {
    let dot_git = dir
        .ancestors()
        .map(|d| d.join(".git"))
        .find(|p| p.exists())?;
    if dot_git.is_dir() {
        return Some(dot_git);
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let target = text.strip_prefix("gitdir:")?.trim();
    Some(dot_git.parent()?.join(target))
}

/// Re-runs this script when `HEAD` moves: the `HEAD` file, and the branch it names (its
/// folder, where a new loose ref appears, and `packed-refs`), in the common directory for
/// worktrees. Only paths that exist are named (cargo re-runs on every build for a
/// missing one).
fn watch_head(git_dir: &Path) {
    let head = git_dir.join("HEAD");
    println!("cargo:rerun-if-changed={}", head.display());
    let Ok(text) = std::fs::read_to_string(&head) else {
        return;
    };
    let Some(reference) = text.strip_prefix("ref:").map(str::trim) else {
        return;
    };
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|_| git_dir.to_owned());
    let branch = common.join(reference);
    let candidates = [
        branch.parent().map(Path::to_owned),
        Some(common.join("packed-refs")),
    ];
    for candidate in candidates.into_iter().flatten() {
        if candidate.exists() {
            println!("cargo:rerun-if-changed={}", candidate.display());
        }
    }
}
