//! Ripping one title (SPEC §6.1): checks before the run, the hidden temp directory, and
//! moving MakeMKV's file to the requested name.
//!
//! Rules:
//! - The output directory must exist and be writable (`OUTPUT_WRITE_FAILED` otherwise;
//!   the runner does not create it, so a missing mount is never mistaken for an empty
//!   folder).
//! - **No clobbering**: if the requested file already exists the rip fails at once with
//!   `OUTPUT_WRITE_FAILED` (before an hour of ripping, not after), and the final move
//!   refuses to replace a file that appeared meanwhile (hard link + unlink, which fails
//!   on an existing name; plain rename after a check where hard links are unsupported).
//! - With [`RipRequest::space_needed`] and
//!   [`RunnerConfig::free_space_margin`](super::RunnerConfig), the volume must have that
//!   much free, less what other running rips to it still need (the runner's
//!   [`SpaceLedger`](super::SpaceLedger)), before anything starts.
//! - MakeMKV writes into `<output>/.amphigory-rip-<daemon pid>-<random>/`; an `mkv` run
//!   prints no `TINFO`, so its file is the single `.mkv` found there. The directory is
//!   removed on every path (success, failure, cancel, and on drop as a backstop), except
//!   a directory named by the caller ([`RipRequest::temp_dir`]) after a success.

use std::io;
use std::path::{Path, PathBuf};

use amphigory_wire::ErrorCode;
use tokio_util::sync::CancellationToken;

use super::attempt::{self, AttemptEnd, AttemptEvent};
use super::{OPEN_ATTEMPTS, Reporter, RunError, Runner, Source, unreadable};
use crate::makemkv::progress::{ProgressKind, ProgressTracker, ProgressUpdate};

/// Name prefix of the runner's temp directories inside an output directory.
pub use crate::fsio::RUNNER_TEMP_DIR_PREFIX as TEMP_DIR_PREFIX;

/// One title to rip.
#[derive(Debug, Clone, PartialEq)]
pub struct RipRequest {
    /// The disc.
    pub source: Source,
    /// `TINFO` title index (from a scan with the same `--minlength`).
    pub title: u32,
    /// Existing directory for the result.
    pub output_dir: PathBuf,
    /// File name of the result (no `/`).
    pub filename: String,
    /// Expected size in bytes (the task's, else the scan's): size and speed estimates.
    pub expected_size: Option<u64>,
    /// Bytes to find free (and hold while the rip runs) before it starts; `None` skips
    /// the check. Usually `expected_size`, else a default for the disc type.
    pub space_needed: Option<u64>,
    /// Hidden directory (inside `output_dir`) to rip into before the rename. Named per task
    /// by the engine (`queue::rip_temp_dir`) so any daemon's crash recovery can find and
    /// remove it; `None` makes a fresh uniquely named one. A named directory outlives a
    /// successful rip, holding a second hard link of the placed file: until the caller has
    /// written the result and removed the directory, that link proves to crash recovery
    /// which file at the destination this rip placed.
    pub temp_dir: Option<PathBuf>,
    /// Bytes per second this drive usually reads discs of this type (its history): the
    /// ETA before MakeMKV's first progress.
    pub usual_rate: Option<f64>,
}

/// A finished rip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RipOutput {
    /// Where the file is now (`output_dir/filename`).
    pub path: PathBuf,
    /// Its size.
    pub size_bytes: u64,
    /// The name MakeMKV gave it (`title_t00.mkv`); always known after a rip.
    pub makemkv_name: Option<String>,
}

/// How an attempt ended, for the retry loop.
enum Verdict {
    Saved,
    RetryOpen,
    Fail(RunError),
}

/// A rip attempt that did not fail.
enum Tried {
    Saved(RipOutput),
    /// MSG 5010; the detail of this attempt.
    RetryOpen(String),
}

impl Runner {
    /// Rips `request.title` to `request.output_dir/request.filename`. Progress goes to
    /// `on_progress` (0 % first, 100 % on success, at most every 250 ms between).
    pub async fn rip(
        &self,
        request: &RipRequest,
        cancel: &CancellationToken,
        on_progress: impl FnMut(ProgressUpdate) + Send,
    ) -> Result<RipOutput, RunError> {
        let destination = check_destination(request)?;
        let space = match (request.space_needed, self.config.free_space_margin) {
            (Some(size), Some(margin)) => {
                Some(self.space.reserve(&request.output_dir, size, margin)?)
            }
            _ => None,
        };
        let tracker = ProgressTracker::new(ProgressKind::Rip, request.expected_size)
            .with_usual_rate(request.usual_rate);
        let mut reporter = Reporter::new(tracker, on_progress);
        reporter.space = space;
        let mut failures = Vec::new();
        for attempt in 1..=OPEN_ATTEMPTS {
            if attempt > 1 {
                self.backoff(cancel).await?;
            }
            let temp = create_temp_dir(&request.output_dir, request.temp_dir.as_deref())?;
            let tried = self
                .rip_into(&temp, request, &destination, cancel, &mut reporter)
                .await;
            if request.temp_dir.is_some() && matches!(tried, Ok(Tried::Saved(_))) {
                temp.keep();
            }
            match tried? {
                Tried::Saved(output) => {
                    reporter.complete();
                    return Ok(output);
                }
                Tried::RetryOpen(detail) => {
                    tracing::info!(source = %request.source, attempt, "MakeMKV could not open the disc");
                    failures.push(detail);
                }
            }
        }
        Err(unreadable(&failures))
    }

    /// One `mkv` run into `temp`, and on success the move to `destination`.
    async fn rip_into<F: FnMut(ProgressUpdate) + Send>(
        &self,
        temp: &RipTemp,
        request: &RipRequest,
        destination: &Path,
        cancel: &CancellationToken,
        reporter: &mut Reporter<F>,
    ) -> Result<Tried, RunError> {
        let args = self.args(&[
            "mkv".into(),
            request.source.to_string().into(),
            request.title.to_string().into(),
            temp.path().as_os_str().to_owned(),
        ]);
        let limit = self.config.rip_limit;
        let end = attempt::run(self, args, &request.source, cancel, limit, &mut |event| {
            if let AttemptEvent::Tick(_) = event {
                reporter.set_file_size(find_mkv(temp.path()).ok().map(|(_, size)| size));
            }
            reporter.handle(&event);
        })
        .await?;
        let keep_link = request.temp_dir.is_some();
        match verdict(&end) {
            Verdict::Saved => {
                place_output(temp.path(), destination, &end, keep_link).map(Tried::Saved)
            }
            Verdict::RetryOpen => Ok(Tried::RetryOpen(end.detail())),
            Verdict::Fail(error) => Err(error),
        }
    }
}

/// Success needs exit 0, `MSG:5036` with ≥ 1 saved and no failure message (SPEC §6.6).
fn verdict(end: &AttemptEnd) -> Verdict {
    if let Some(error) = end.common_failure("rip") {
        return Verdict::Fail(error);
    }
    let m = &end.monitor;
    if m.open_failed && m.copy_complete.is_none() {
        return match end.no_disc_failure() {
            Some(error) => Verdict::Fail(error),
            None => Verdict::RetryOpen,
        };
    }
    if !end.exited_ok() {
        return Verdict::Fail(end.exit_failure());
    }
    let message = if m.save_failed || m.copy_partial {
        "MakeMKV failed to save the title"
    } else {
        match m.copy_complete {
            Some(saved) if saved >= 1 => return Verdict::Saved,
            Some(_) => "MakeMKV saved no title",
            None => "MakeMKV stopped without reporting a result",
        }
    };
    Verdict::Fail(RunError::failed(
        ErrorCode::MakemkvFailed,
        message,
        Some(end.detail()),
    ))
}

fn write_failed(message: String, detail: Option<String>) -> RunError {
    RunError::failed(ErrorCode::OutputWriteFailed, message, detail)
}

/// The final path, after checking the name, the directory and that nothing is there.
fn check_destination(request: &RipRequest) -> Result<PathBuf, RunError> {
    let name = request.filename.as_str();
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(RunError::failed(
            ErrorCode::InvalidTask,
            format!("Invalid output file name {name:?}"),
            None,
        ));
    }
    let dir = &request.output_dir;
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(write_failed(
                format!("{} is not a directory", dir.display()),
                None,
            ));
        }
        Err(e) => {
            return Err(write_failed(
                format!("Output directory {} is not available", dir.display()),
                Some(e.to_string()),
            ));
        }
    }
    let destination = dir.join(name);
    if destination.symlink_metadata().is_ok() {
        return Err(write_failed(
            format!(
                "{} already exists; not overwriting it",
                destination.display()
            ),
            None,
        ));
    }
    Ok(destination)
}

/// The temp directory of one attempt; removed when dropped, on every path.
struct RipTemp(PathBuf);

impl RipTemp {
    fn path(&self) -> &Path {
        &self.0
    }

    /// Leaves the directory for the caller to remove.
    fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for RipTemp {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!("cannot remove the temp directory {}: {e}", self.0.display());
            }
        }
    }
}

fn create_temp_dir(output_dir: &Path, named: Option<&Path>) -> Result<RipTemp, RunError> {
    let cannot_write = |e: io::Error| {
        write_failed(
            format!(
                "Cannot write to the output directory {}",
                output_dir.display()
            ),
            Some(e.to_string()),
        )
    };
    let Some(path) = named else {
        let temp = tempfile::Builder::new()
            .prefix(&format!("{TEMP_DIR_PREFIX}{}-", std::process::id()))
            .tempdir_in(output_dir)
            .map_err(cannot_write)?;
        return Ok(RipTemp(temp.keep()));
    };
    // A leftover from an interrupted run of the same task: never rip on top of it.
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        std::fs::remove_dir_all(path).map_err(cannot_write)?;
    }
    std::fs::create_dir(path).map_err(cannot_write)?;
    Ok(RipTemp(path.to_owned()))
}

/// The single `.mkv` MakeMKV wrote into `dir`, with its size.
fn find_mkv(dir: &Path) -> io::Result<(PathBuf, u64)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let is_mkv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("mkv"));
        if is_mkv && entry.file_type()?.is_file() {
            found.push((path, entry.metadata()?.len()));
        }
    }
    match found.len() {
        1 => found.pop().ok_or_else(|| io::Error::other("unreachable")),
        0 => Err(io::Error::new(io::ErrorKind::NotFound, "no .mkv file")),
        n => Err(io::Error::other(format!("{n} .mkv files"))),
    }
}

/// Moves MakeMKV's file to `destination` without replacing anything there (`keep_link`:
/// leaving a second link in `temp`).
fn place_output(
    temp: &Path,
    destination: &Path,
    end: &AttemptEnd,
    keep_link: bool,
) -> Result<RipOutput, RunError> {
    let failed = |message: &str, e: io::Error| {
        RunError::failed(
            ErrorCode::MakemkvFailed,
            message,
            Some(format!("{e}\n{}", end.detail())),
        )
    };
    let (file, size) = find_mkv(temp)
        .map_err(|e| failed("MakeMKV reported success but its output file is missing", e))?;
    if size == 0 {
        return Err(failed(
            "MakeMKV wrote an empty file",
            io::Error::other(file.display().to_string()),
        ));
    }
    let makemkv_name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    move_no_clobber(&file, destination, keep_link).map_err(|e| {
        let message = if e.kind() == io::ErrorKind::AlreadyExists {
            format!(
                "{} appeared during the rip; not overwriting it",
                destination.display()
            )
        } else {
            format!("Cannot move the rip to {}", destination.display())
        };
        write_failed(message, Some(e.to_string()))
    })?;
    Ok(RipOutput {
        path: destination.to_owned(),
        size_bytes: size,
        makemkv_name,
    })
}

/// Hard link + unlink (atomic, fails on an existing name; `keep_from` skips the unlink);
/// where the file system has no hard links, a rename after a check.
fn move_no_clobber(from: &Path, to: &Path, keep_from: bool) -> io::Result<()> {
    match std::fs::hard_link(from, to) {
        Ok(()) if keep_from => Ok(()),
        Ok(()) => std::fs::remove_file(from),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(link_error) => {
            if to.symlink_metadata().is_ok() {
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, link_error));
            }
            std::fs::rename(from, to)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_clobber_move_refuses_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.mkv"), dir.path().join("b.mkv"));
        std::fs::write(&a, b"new").unwrap();
        std::fs::write(&b, b"old").unwrap();
        let err = move_no_clobber(&a, &b, false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&b).unwrap(), b"old");
        std::fs::remove_file(&b).unwrap();
        move_no_clobber(&a, &b, false).unwrap();
        assert!(!a.exists());
        assert_eq!(std::fs::read(&b).unwrap(), b"new");
        let c = dir.path().join("c.mkv");
        move_no_clobber(&b, &c, true).unwrap();
        use std::os::unix::fs::MetadataExt;
        let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
        assert_eq!(ino(&b), ino(&c), "a second link stays behind");
    }
}
