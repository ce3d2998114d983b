//! Where the control socket lives (SPEC §8): `$AMPHIGORY_SOCKET`, else
//! `$XDG_RUNTIME_DIR/amphigory/daemon.sock`, else `~/.config/amphigory/daemon.sock`. The
//! daemon and the CLI resolve it with the same function, so they always meet.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable naming the socket.
pub const SOCKET_ENV: &str = "AMPHIGORY_SOCKET";
/// File name of the socket inside its directory.
pub const SOCKET_NAME: &str = "daemon.sock";
/// Longest socket path the platforms accept (`sun_path` is 104 bytes on macOS, 108 on
/// Linux, both including the terminating NUL).
pub const MAX_SOCKET_PATH: usize = 103;

/// No socket path could be worked out, or it cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocketPathError {
    /// Neither a flag, `AMPHIGORY_SOCKET`, `XDG_RUNTIME_DIR` nor `HOME` is set.
    #[error(
        "cannot tell where the control socket is: pass --socket PATH or set {SOCKET_ENV} \
         (neither XDG_RUNTIME_DIR nor HOME is set)"
    )]
    Unresolvable,
    /// The path is too long for a Unix socket.
    #[error(
        "control socket path {} is {len} bytes long; Unix sockets allow at most \
         {MAX_SOCKET_PATH}: pass a shorter --socket PATH",
        path.display()
    )]
    TooLong {
        /// The path.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
    },
}

/// The socket path: `explicit` (a `--socket` flag) if given, else from the environment.
pub fn socket_path(explicit: Option<&Path>) -> Result<PathBuf, SocketPathError> {
    resolve(explicit, |name| std::env::var_os(name))
}

/// [`socket_path`] with the environment as a function, for tests. Empty variables count
/// as unset.
pub fn resolve(
    explicit: Option<&Path>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<PathBuf, SocketPathError> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let path = if let Some(path) = explicit.filter(|p| !p.as_os_str().is_empty()) {
        path.to_owned()
    } else if let Some(path) = var(SOCKET_ENV) {
        path
    } else if let Some(runtime) = var("XDG_RUNTIME_DIR") {
        runtime.join("amphigory").join(SOCKET_NAME)
    } else if let Some(home) = var("HOME") {
        home.join(".config").join("amphigory").join(SOCKET_NAME)
    } else {
        return Err(SocketPathError::Unresolvable);
    };
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(SocketPathError::TooLong { path, len });
    }
    Ok(path)
}

/// The pid file beside the socket: `daemon.sock` → `daemon.sock.pid`. The suffix is
/// appended to the whole file name, never put in place of its extension, so no socket
/// name (`--socket x.pid`, `--socket x.lock`) can make the pid file, the lock file and
/// the socket one path, and two sockets never share a pid or lock file.
pub fn pid_path(socket: &Path) -> PathBuf {
    beside(socket, ".pid")
}

/// The lock file beside the socket: `daemon.sock` → `daemon.sock.lock`.
pub fn lock_path(socket: &Path) -> PathBuf {
    beside(socket, ".lock")
}

fn beside(socket: &Path, suffix: &str) -> PathBuf {
    let mut name = socket.file_name().map(OsString::from).unwrap_or_default();
    name.push(suffix);
    socket.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn precedence_is_flag_env_runtime_dir_home() {
        let all = [
            (SOCKET_ENV, "/e/s.sock"),
            ("XDG_RUNTIME_DIR", "/run/user/1"),
            ("HOME", "/home/u"),
        ];
        let flag = Path::new("/f/s.sock");
        assert_eq!(resolve(Some(flag), env(&all)), Ok(flag.to_owned()));
        assert_eq!(resolve(None, env(&all)), Ok("/e/s.sock".into()));
        assert_eq!(
            resolve(None, env(&all[1..])),
            Ok("/run/user/1/amphigory/daemon.sock".into())
        );
        assert_eq!(
            resolve(None, env(&all[2..])),
            Ok("/home/u/.config/amphigory/daemon.sock".into())
        );
        assert_eq!(
            resolve(None, env(&[(SOCKET_ENV, ""), ("XDG_RUNTIME_DIR", "")])),
            Err(SocketPathError::Unresolvable)
        );
    }

    #[test]
    fn long_paths_are_refused_and_siblings_share_the_stem() {
        let long = format!("/{}/daemon.sock", "x".repeat(120));
        assert!(matches!(
            resolve(Some(Path::new(&long)), env(&[])),
            Err(SocketPathError::TooLong { .. })
        ));
        let socket = Path::new("/run/amphigory/daemon.sock");
        assert_eq!(
            pid_path(socket),
            Path::new("/run/amphigory/daemon.sock.pid")
        );
        assert_eq!(
            lock_path(socket),
            Path::new("/run/amphigory/daemon.sock.lock")
        );
    }

    #[test]
    fn case8c_no_socket_name_collides_with_its_pid_or_lock_file() {
        for name in ["x.pid", "x.lock", "x", "x.sock.pid", ".pid"] {
            let socket = Path::new("/tmp/s").join(name);
            let (pid, lock) = (pid_path(&socket), lock_path(&socket));
            assert_ne!(pid, socket, "{name}");
            assert_ne!(lock, socket, "{name}");
            assert_ne!(pid, lock, "{name}");
            assert_eq!(pid.parent(), socket.parent(), "beside it: {name}");
        }
        // Sockets differing only in their extension no longer share a lock file.
        assert_ne!(
            lock_path(Path::new("/tmp/a.sock")),
            lock_path(Path::new("/tmp/a.other"))
        );
    }
}
