//! Build script: records the git commit the binary is built from (`AMPHIGORY_GIT_SHA`,
//! announced to the webapp as `git_sha`): as given in the build's environment (a packager
//! building from an archive), else `git rev-parse HEAD`. Outside a git checkout and
//! without it given, nothing is recorded and `git_sha` is left out.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let Some(manifest) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        return;
    };
    // A packager building from a source archive (no .git) can say which commit it is.
    println!("cargo:rerun-if-env-changed=AMPHIGORY_GIT_SHA");
    if let Some(given) = std::env::var("AMPHIGORY_GIT_SHA")
        .ok()
        .filter(|s| is_sha(s))
    {
        println!("cargo:rustc-env=AMPHIGORY_GIT_SHA={given}");
        return;
    }
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
        .filter(|s| is_sha(s));
    if let Some(sha) = sha {
        println!("cargo:rustc-env=AMPHIGORY_GIT_SHA={sha}");
    }
}

/// A full commit id: 40 hexadecimal digits.
fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
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
