//! Proof after a rip (SPEC §11.2): the placed file's Matroska header is read and its size
//! and duration compared with what was expected, before the result is written. A file
//! that is not Matroska fails the task with `MAKEMKV_FAILED` and is kept aside under a
//! name that says so — never deleted, never left where a media server would index it.

use std::path::{Path, PathBuf};

use amphigory_wire::result::Verification;
use amphigory_wire::{ErrorCode, TaskError};

use crate::verify::{self, Expected};

/// Aside names tried before giving up on keeping a bad file aside.
const ASIDE_ATTEMPTS: u32 = 100;

/// Verifies the rip at `path`: its verification, or the failure to report.
pub(super) async fn verify_rip(path: &Path, expected: Expected) -> Result<Verification, TaskError> {
    let owned = path.to_owned();
    let checked = tokio::task::spawn_blocking(move || verify::check_file(&owned, &expected)).await;
    let (verification, problem) = match checked {
        Ok(done) => done,
        Err(e) => {
            // A panic in the header reader (in a build that unwinds; the release build
            // aborts) or a runtime shutting down: the file is kept as it is.
            let detail = format!("the header check stopped: {e}");
            return Err(not_valid(path, None, detail));
        }
    };
    if let Some(problem) = problem {
        let aside = keep_aside(path);
        return Err(not_valid(path, aside.as_deref(), problem.to_string()));
    }
    if verification.size_ok == Some(false) || verification.duration_ok == Some(false) {
        tracing::warn!(
            path = %path.display(),
            "the rip does not match what was expected: {} bytes for {:?} expected, duration {:?} for {:?}",
            verification.actual_size_bytes,
            verification.expected_size_bytes,
            verification.actual_duration,
            verification.expected_duration,
        );
    }
    Ok(verification)
}

/// `MAKEMKV_FAILED`: "output is not a valid MKV", saying where the file was kept.
fn not_valid(path: &Path, aside: Option<&Path>, detail: String) -> TaskError {
    let kept = match aside {
        Some(aside) => format!("kept as {}", aside.display()),
        None => format!("left at {}", path.display()),
    };
    TaskError::new(
        ErrorCode::MakemkvFailed,
        format!("MakeMKV reported success, but the output is not a valid MKV ({kept})"),
        Some(detail),
    )
}

/// Renames `path` to `<name>.not-a-valid-mkv` (or `<name>.not-a-valid-mkv.N` when that
/// exists); `None` when it cannot be renamed (it then stays where it is).
fn keep_aside(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    for n in 0..ASIDE_ATTEMPTS {
        let candidate = match n {
            0 => format!("{name}.not-a-valid-mkv"),
            n => format!("{name}.not-a-valid-mkv.{n}"),
        };
        let aside = path.with_file_name(candidate);
        if aside.symlink_metadata().is_ok() {
            continue;
        }
        return match std::fs::rename(path, &aside) {
            Ok(()) => Some(aside),
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot move the invalid rip aside: {e}");
                None
            }
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_that_is_not_matroska_fails_and_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("M (2004).mkv");
        std::fs::write(&path, b"not a matroska file at all").unwrap();
        let err = verify_rip(&path, Expected::default()).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::MakemkvFailed);
        assert!(err.message.contains("not a valid MKV"), "{}", err.message);
        let aside = dir.path().join("M (2004).mkv.not-a-valid-mkv");
        assert!(
            err.message.contains(&aside.display().to_string()),
            "{}",
            err.message
        );
        assert!(!path.exists());
        assert_eq!(
            std::fs::read(&aside).unwrap(),
            b"not a matroska file at all"
        );
    }

    #[tokio::test]
    async fn a_second_bad_file_gets_its_own_aside_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.mkv");
        std::fs::write(dir.path().join("x.mkv.not-a-valid-mkv"), b"first").unwrap();
        std::fs::write(&path, b"second").unwrap();
        verify_rip(&path, Expected::default()).await.unwrap_err();
        let second = dir.path().join("x.mkv.not-a-valid-mkv.1");
        assert_eq!(std::fs::read(second).unwrap(), b"second");
    }
}
