//! Small file-system primitives the queue is built from: atomic writes, bounded reads
//! that never follow a symbolic link, lease touches and ages.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, OFlag};
use nix::sys::stat::{UtimensatFlags, utimensat};
use nix::sys::time::TimeSpec;

/// Name prefix of the runner's temp directories inside an output directory
/// (`<prefix><pid>-…`). Here, below both, because the runner makes them and the queue's
/// crash recovery removes a dead incarnation's: neither needs to know the other.
pub const RUNNER_TEMP_DIR_PREFIX: &str = ".amphigory-rip-";

/// Prefix of every temporary file the queue writes: hidden, so no reader takes it for a
/// task or a result. The full prefix names the writer, `.amphigory.<host>.<pid>.` (see
/// [`writer_prefix`]), so a restarted daemon can remove what a killed one left behind.
pub(crate) const TEMP_PREFIX: &str = ".amphigory.";
/// Suffix of those temporary files: not `.json`.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

/// `.amphigory.<host>.<pid>.`: the temp-file prefix of this process.
fn writer_prefix() -> &'static str {
    static PREFIX: OnceLock<String> = OnceLock::new();
    PREFIX.get_or_init(|| format!("{TEMP_PREFIX}{}.{}.", this_host(), std::process::id()))
}

/// The host name with anything but letters, digits and `-` replaced by `-` (no dots, so
/// a temp name splits cleanly).
fn this_host() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// True when `name` is a temporary file written by another process of this host that no
/// longer runs: it was killed mid-write and nobody will ever rename the file. Temp files
/// of other hosts (shared mounts), of live processes, or in the old format are not.
pub(crate) fn temp_writer_is_dead(name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(TEMP_PREFIX)
        .and_then(|r| r.strip_suffix(TEMP_SUFFIX))
    else {
        return false;
    };
    let mut parts = rest.splitn(3, '.');
    let (Some(host), Some(pid), Some(_random)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Some(pid) = pid.parse::<u32>().ok().filter(|p| *p > 0) else {
        return false;
    };
    if host != this_host() || pid == std::process::id() {
        return false;
    }
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    // Signal 0 only asks whether the process exists (EPERM: it does, as another user).
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) == Err(Errno::ESRCH)
}

/// Writes `bytes` to `dir/name` atomically: a hidden temp file in the same directory,
/// written, fsynced, renamed over the target (or, with `clobber` false, renamed only if
/// the target does not exist: `AlreadyExists` otherwise), then the directory fsynced.
/// Readers see the old file or the new one, never a part.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8], clobber: bool) -> io::Result<()> {
    let tmp = temp_with(dir, bytes)?;
    tmp.as_file().sync_all()?;
    let target = dir.join(name);
    if clobber {
        tmp.persist(&target).map_err(|e| e.error)?;
    } else {
        tmp.persist_noclobber(&target).map_err(|e| e.error)?;
    }
    sync_dir(dir)
}

/// A hidden temp file in `dir` holding `bytes`, readable by the webapp.
fn temp_with(dir: &Path, bytes: &[u8]) -> io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(writer_prefix())
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    // tempfile creates 0600; the webapp (another user, in a container) must read these.
    tmp.as_file()
        .set_permissions(Permissions::from_mode(0o644))?;
    tmp.write_all(bytes)?;
    Ok(tmp)
}

/// Replaces `dir/name` atomically (hidden temp file, rename) without the fsyncs: readers
/// never see a partial file, but a power cut may lose it. For the claim's bookkeeping
/// (claim record, ownership sidecar), which recovery can do without and which must not
/// slow a pick-up down (`sync_all` is `F_FULLFSYNC` on macOS: milliseconds each).
pub(crate) fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    temp_with(dir, bytes)?
        .persist(dir.join(name))
        .map_err(|e| e.error)?;
    Ok(())
}

/// Temp files made ahead of need, one per target directory: an atomic replace on the
/// pickup path then costs a write and a rename, not a file creation (a millisecond or
/// more on some file systems: the claim of a task makes two). A spare waits in the
/// target's parent directory (the same file system), so the folders tasks and claims
/// live in hold nothing extra while the daemon idles. Spares carry this process's writer
/// prefix, so a restarted daemon's sweep removes those a killed one left; dropping the
/// set removes them.
#[derive(Debug, Default)]
pub(crate) struct Spares {
    // A std mutex: held only to move a handle in or out, never across an await.
    files: Mutex<HashMap<PathBuf, tempfile::NamedTempFile>>,
}

impl Spares {
    /// Makes sure `dir` has a spare (a file creation, in `dir`'s parent, when it has
    /// none).
    pub(crate) fn stock(&self, dir: &Path) -> io::Result<()> {
        if self.lock().contains_key(dir) {
            return Ok(());
        }
        let parent = dir.parent().unwrap_or(dir);
        let spare = temp_with(parent, &[])?;
        self.lock().entry(dir.to_owned()).or_insert(spare);
        Ok(())
    }

    fn take(&self, dir: &Path) -> Option<tempfile::NamedTempFile> {
        self.lock().remove(dir)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, tempfile::NamedTempFile>> {
        self.files.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// [`replace_file`], with `dir`'s spare temp file when there is one.
pub(crate) fn replace_file_with(
    spares: &Spares,
    dir: &Path,
    name: &str,
    bytes: &[u8],
) -> io::Result<()> {
    if let Some(mut spare) = spares.take(dir) {
        let placed = spare
            .write_all(bytes)
            .and_then(|()| spare.persist(dir.join(name)).map_err(|e| e.error));
        // A spare whose directory was replaced meanwhile: a fresh file does it.
        if placed.is_ok() {
            return Ok(());
        }
    }
    replace_file(dir, name, bytes)
}

/// Fsyncs a directory so a rename into it survives a power cut. File systems that cannot
/// sync a directory (`EINVAL`) are tolerated.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
        other => other,
    }
}

/// Why a task file could not be read as bytes.
#[derive(Debug)]
pub(crate) enum ReadProblem {
    /// It is not there (any more).
    Gone,
    /// It can never be read as a task: this says why (symbolic link, not a regular file,
    /// too big, unreadable).
    Unusable(String),
}

/// Reads a task file of at most `max` bytes without following a symbolic link and without
/// blocking on a FIFO.
pub(crate) fn read_task_file(path: &Path, max: u64) -> Result<Vec<u8>, ReadProblem> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReadProblem::Gone),
        Err(e) => return Err(ReadProblem::Unusable(format!("cannot be examined: {e}"))),
    };
    check_kind(&meta, max)?;
    let flags = OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReadProblem::Gone),
        Err(e) if e.raw_os_error() == Some(Errno::ELOOP as i32) => {
            return Err(symlink_problem());
        }
        Err(e) => return Err(ReadProblem::Unusable(format!("cannot be opened: {e}"))),
    };
    // The name may have been swapped between the lstat and the open: check what we got.
    let meta = file
        .metadata()
        .map_err(|e| ReadProblem::Unusable(format!("cannot be examined: {e}")))?;
    check_kind(&meta, max)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| ReadProblem::Unusable(format!("cannot be read: {e}")))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
        return Err(too_big(max));
    }
    Ok(bytes)
}

fn check_kind(meta: &fs::Metadata, max: u64) -> Result<(), ReadProblem> {
    if meta.file_type().is_symlink() {
        return Err(symlink_problem());
    }
    if !meta.is_file() {
        return Err(ReadProblem::Unusable(
            "task file is not a regular file".to_owned(),
        ));
    }
    if meta.len() > max {
        return Err(too_big(max));
    }
    Ok(())
}

fn symlink_problem() -> ReadProblem {
    ReadProblem::Unusable(
        "task file is a symbolic link; task files must be regular files (links are never followed)"
            .to_owned(),
    )
}

fn too_big(max: u64) -> ReadProblem {
    const MIB: u64 = 1024 * 1024;
    let limit = if max >= MIB && max % MIB == 0 {
        format!("{} MiB", max / MIB)
    } else {
        format!("{max} bytes")
    };
    ReadProblem::Unusable(format!("task file is larger than the {limit} limit"))
}

/// Sets a file's times to now (its lease), never following a symbolic link. Uses
/// `UTIME_NOW`, which needs only write access, not ownership of the file.
pub(crate) fn touch(path: &Path) -> io::Result<()> {
    utimensat(
        AT_FDCWD,
        path,
        &TimeSpec::UTIME_NOW,
        &TimeSpec::UTIME_NOW,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(io::Error::from)
}

/// How long ago `path` was modified; `None` when it does not exist. A modification time
/// in the future counts as just now.
pub(crate) fn age(path: &Path) -> io::Result<Option<Duration>> {
    match fs::symlink_metadata(path) {
        Ok(meta) => {
            let modified = meta.modified()?;
            Ok(Some(
                SystemTime::now()
                    .duration_since(modified)
                    .unwrap_or(Duration::ZERO),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether `time` (a file's mtime) lies within `window` of now, either side: a time
/// further in the future (a writer's clock running ahead on a shared mount) is not
/// "recent", or it would stay recent forever.
pub(crate) fn changed_within(time: SystemTime, window: Duration) -> bool {
    match SystemTime::now().duration_since(time) {
        Ok(age) => age < window,
        Err(ahead) => ahead.duration() < window,
    }
}

/// True when `path` exists (as anything, links not followed).
pub(crate) fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Removes a file (or a link, or whatever sits at `path`: a directory tree is removed
/// too); `Ok(false)` when there was nothing.
pub(crate) fn remove_any(path: &Path) -> io::Result<bool> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let result = if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Bytes free for an unprivileged writer on `dir`'s volume.
pub(crate) fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(dir).map_err(std::io::Error::from)?;
    // The field types differ between platforms (u32 on macOS, u64 on Linux).
    #[allow(clippy::useless_conversion)]
    Ok(u64::from(stat.blocks_available()).saturating_mul(u64::from(stat.fragment_size())))
}

/// The mount point of `dir`'s volume: its highest ancestor on the same device.
pub(crate) fn volume_of(dir: &Path) -> PathBuf {
    let Ok(device) = std::fs::metadata(dir).map(|m| m.dev()) else {
        return dir.to_owned();
    };
    let mut top = dir;
    while let Some(parent) = top.parent() {
        if std::fs::metadata(parent).map(|m| m.dev()).ok() != Some(device) {
            break;
        }
        top = parent;
    }
    top.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_leave_no_temp_files_and_respect_noclobber() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "a.json", b"{}", true).unwrap();
        write_atomic(dir.path(), "a.json", b"[]", true).unwrap();
        assert_eq!(fs::read(dir.path().join("a.json")).unwrap(), b"[]");
        let err = write_atomic(dir.path(), "a.json", b"x", false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        let mode = fs::metadata(dir.path().join("a.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn reads_refuse_links_and_big_files() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, b"{}").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(
            matches!(read_task_file(&link, 10), Err(ReadProblem::Unusable(m)) if m.contains("symbolic link"))
        );
        assert!(
            matches!(read_task_file(&real, 1), Err(ReadProblem::Unusable(m)) if m.contains("limit"))
        );
        assert_eq!(read_task_file(&real, 10).unwrap(), b"{}");
        assert!(matches!(
            read_task_file(&dir.path().join("none"), 10),
            Err(ReadProblem::Gone)
        ));
    }

    #[test]
    fn temp_files_of_dead_writers_on_this_host_are_recognised() {
        let host = this_host();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let ours = std::process::id();
        let temp = |host: &str, pid: u32| format!(".amphigory.{host}.{pid}.AbC123.tmp");
        assert!(temp_writer_is_dead(&temp(&host, dead)));
        assert!(!temp_writer_is_dead(&temp(&host, ours)));
        assert!(!temp_writer_is_dead(&temp(&host, 1)));
        assert!(!temp_writer_is_dead(&temp(&host, 0)));
        assert!(!temp_writer_is_dead(&temp("elsewhere", dead)));
        assert!(!temp_writer_is_dead(".amphigory.AbC123.tmp"));
        assert_eq!(writer_prefix(), format!(".amphigory.{host}.{ours}."));
    }

    #[test]
    fn touch_renews_an_old_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t");
        let f = File::create(&p).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        assert!(age(&p).unwrap().unwrap() >= Duration::from_secs(3500));
        touch(&p).unwrap();
        assert!(age(&p).unwrap().unwrap() < Duration::from_secs(60));
    }
}
