//! Taking ownership of the socket path, atuin's way: a lock file held for the daemon's
//! whole life (so a second daemon fails fast and clearly), a socket file removed only when
//! a connect to it is refused (nobody answers: stale), the socket bound with mode 0600 in
//! a 0700 directory, and a pid file beside it. Everything is undone when the
//! [`ControlListener`] is dropped, in the reverse order.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use super::path::{lock_path, pid_path};

/// Why the socket could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Another daemon holds the lock or answers on the socket.
    #[error(
        "another amphigory daemon{} already owns the control socket {}; stop it first \
         (`amphigory stop`) or pass another --socket",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        path.display()
    )]
    AlreadyRunning {
        /// The socket path.
        path: PathBuf,
        /// The other daemon's pid, when its pid file says.
        pid: Option<u32>,
    },
    /// Something that is not a socket sits at the path; it is never removed.
    #[error(
        "{} exists and is not a socket; move it away or pass another --socket",
        path.display()
    )]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// A file-system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

impl BindError {
    fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// The bound control socket, ready for [`super::run`]. Dropping it removes the socket
/// and the pid file and releases the lock.
#[derive(Debug)]
pub struct ControlListener {
    pub(super) listener: UnixListener,
    pub(super) guard: SocketGuard,
}

impl ControlListener {
    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.guard.socket
    }
}

/// Takes the lock, clears a stale socket, binds `path` (mode 0600, directory 0700) and
/// writes the pid file. A live daemon on the path is [`BindError::AlreadyRunning`].
pub fn bind(path: &Path) -> Result<ControlListener, BindError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    private_dir(&dir)?;
    let lock = take_lock(path)?;
    clear_stale(path)?;
    let listener = UnixListener::bind(path).map_err(|e| BindError::io("bind", path, e))?;
    let owned = SocketGuard {
        socket: path.to_owned(),
        identity: identity(path),
        pid_file: None,
        _lock: lock,
    };
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(|e| BindError::io("restrict permissions of", path, e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| BindError::io("configure", path, e))?;
    let mut guard = owned;
    guard.pid_file = Some(write_pid_file(&dir, &pid_path(path))?);
    Ok(ControlListener { listener, guard })
}

/// Creates `dir` with mode 0700. An existing directory named `amphigory` (the default
/// locations) that others can enter is tightened; any other existing directory (say
/// `/tmp` for `--socket /tmp/a.sock`) is left alone: the socket's own 0600 protects it.
fn private_dir(dir: &Path) -> Result<(), BindError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| BindError::io("create directory", dir, e))?;
    let meta = fs::metadata(dir).map_err(|e| BindError::io("inspect", dir, e))?;
    let ours = meta.uid() == nix::unistd::getuid().as_raw();
    let default_dir = dir.file_name().is_some_and(|n| n == "amphigory");
    if default_dir && ours && meta.mode() & 0o077 != 0 {
        tracing::info!("restricting {} to its owner (0700)", dir.display());
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| BindError::io("restrict permissions of", dir, e))?;
    }
    Ok(())
}

/// An exclusive, non-blocking `flock` on the lock file beside the socket; held until
/// the daemon exits (the kernel releases it even after a crash).
fn take_lock(socket: &Path) -> Result<Flock<File>, BindError> {
    let path = lock_path(socket);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| BindError::io("open lock file", &path, e))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(lock),
        Err((_, Errno::EWOULDBLOCK)) => Err(BindError::AlreadyRunning {
            path: socket.to_owned(),
            pid: read_pid(&pid_path(socket)),
        }),
        Err((_, errno)) => Err(BindError::io("lock", &path, io::Error::from(errno))),
    }
}

/// Removes a socket file nobody answers on. A socket that accepts the connect belongs to
/// a live daemon; anything that is not a socket is left for a person to look at.
fn clear_stale(path: &Path) -> Result<(), BindError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(BindError::io("inspect", path, e)),
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(BindError::NotASocket {
                path: path.to_owned(),
            });
        }
        Ok(_) => {}
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(BindError::AlreadyRunning {
            path: path.to_owned(),
            pid: read_pid(&pid_path(path)),
        }),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!("removing a stale control socket at {}", path.display());
            match fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    Err(BindError::io("remove stale socket", path, e))
                }
                _ => Ok(()),
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BindError::io("connect to", path, e)),
    }
}

/// Writes our pid atomically (temporary file, then rename).
fn write_pid_file(dir: &Path, path: &Path) -> Result<PathBuf, BindError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| BindError::io("write", path, io::Error::other("no file name")))?;
    crate::fsio::replace_file(dir, name, format!("{}\n", std::process::id()).as_bytes())
        .map_err(|e| BindError::io("write", path, e))?;
    Ok(path.to_owned())
}

/// The pid a pid file holds.
pub(crate) fn read_pid(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// `(device, inode)` of a file, to recognise our own socket at shutdown.
fn identity(path: &Path) -> Option<(u64, u64)> {
    fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Undoes [`bind`] on drop: socket and pid file first, then the lock (fields drop after
/// `drop` runs).
#[derive(Debug)]
pub(super) struct SocketGuard {
    socket: PathBuf,
    identity: Option<(u64, u64)>,
    pid_file: Option<PathBuf>,
    _lock: Flock<File>,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        if self.identity.is_some() && identity(&self.socket) == self.identity {
            if let Err(e) = fs::remove_file(&self.socket) {
                tracing::warn!("cannot remove {}: {e}", self.socket.display());
            }
        }
        if let Some(pid_file) = &self.pid_file {
            if read_pid(pid_file) == Some(std::process::id()) {
                let _ = fs::remove_file(pid_file);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_bind_is_refused_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("daemon.sock");
        let first = bind(&path).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.mode() & 0o777, 0o600);
        let dir_mode = fs::metadata(path.parent().unwrap()).unwrap().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert_eq!(read_pid(&pid_path(&path)), Some(std::process::id()));
        let err = bind(&path).unwrap_err();
        assert!(
            matches!(err, BindError::AlreadyRunning { pid: Some(p), .. } if p == std::process::id()),
            "{err}"
        );
        drop(first);
        assert!(!path.exists());
        assert!(!pid_path(&path).exists());
        drop(bind(&path).unwrap());
    }

    #[test]
    fn case8c_a_socket_named_like_a_pid_or_lock_file_is_still_a_socket() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["x.pid", "x.lock"] {
            let path = dir.path().join(name);
            let listener = bind(&path).unwrap();
            assert!(
                fs::metadata(&path).unwrap().file_type().is_socket(),
                "{name}"
            );
            assert!(UnixStream::connect(&path).is_ok(), "{name}");
            assert_eq!(read_pid(&pid_path(&path)), Some(std::process::id()));
            drop(listener);
            assert!(!path.exists() && !pid_path(&path).exists(), "{name}");
        }
    }

    #[test]
    fn stale_sockets_go_and_other_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.sock");
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let listener = bind(&path).unwrap();
        assert!(UnixStream::connect(&path).is_ok());
        drop(listener);
        fs::write(&path, b"precious").unwrap();
        assert!(matches!(bind(&path), Err(BindError::NotASocket { .. })));
        assert_eq!(fs::read(&path).unwrap(), b"precious");
    }

    #[test]
    fn a_live_socket_without_the_lock_still_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.sock");
        let _other = UnixListener::bind(&path).unwrap();
        assert!(matches!(
            bind(&path),
            Err(BindError::AlreadyRunning { pid: None, .. })
        ));
        assert!(path.exists());
    }
}
