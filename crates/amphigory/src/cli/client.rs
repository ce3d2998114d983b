//! The control-socket client every CLI command shares (SPEC §8): connect, check the
//! daemon's protocol number (atuin's rule: refuse a mismatch with a plain message), send
//! requests, read responses and event lines. Errors keep "no daemon is running" apart
//! from "the daemon said no" and from broken conversations, and map to exit codes in one
//! place.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use amphigory_wire::control::{ControlRequest, PROTOCOL_VERSION, ReplyHead, VersionReply};
use serde::de::DeserializeOwned;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use crate::servers::control::SocketPathError;
use crate::servers::control::framing::{Line, LineReader};

/// Longest response line accepted (a status with scan results of several drives, or a
/// long task list, is large but never this large).
const MAX_RESPONSE: usize = 16 * 1024 * 1024;
/// How long the daemon may take to answer `version` on connect (a socket that accepts
/// but never answers is not a working daemon).
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// What can go wrong talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No socket path could be worked out.
    #[error(transparent)]
    SocketPath(#[from] SocketPathError),
    /// Nothing answers on the socket.
    #[error(
        "no daemon is running (nothing answers on {}).\n\
         hint: start one with `amphigory daemon`, or point at the right one with \
         --socket PATH or AMPHIGORY_SOCKET",
        path.display()
    )]
    NotRunning {
        /// The socket path.
        path: PathBuf,
    },
    /// The daemon speaks another protocol.
    #[error(
        "the running daemon is amphigory {daemon_version} (control protocol {daemon_protocol}) \
         but this is amphigory {} (protocol {PROTOCOL_VERSION}); restart the daemon with \
         this version, or use the amphigory that matches it",
        env!("CARGO_PKG_VERSION")
    )]
    Mismatch {
        /// The daemon's version.
        daemon_version: String,
        /// The daemon's protocol number (0 when it did not say).
        daemon_protocol: u64,
    },
    /// The daemon answered `ok:false`.
    #[error("the daemon refused: {0}")]
    Refused(String),
    /// The connection failed.
    #[error("talking to the daemon on {}: {source}", path.display())]
    Io {
        /// The socket path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The daemon closed the connection.
    #[error("the daemon closed the connection")]
    Closed,
    /// The daemon sent something that is not a response.
    #[error("unexpected answer from the daemon: {0}")]
    Protocol(String),
}

impl ClientError {
    /// Exit code per SPEC §2: 2 when no usable socket path is configured (a usage or
    /// configuration error), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::SocketPath(_) => super::EXIT_USAGE,
            _ => 1,
        }
    }
}

/// A connection to the daemon whose protocol matches ours.
#[derive(Debug)]
pub struct Client {
    path: PathBuf,
    lines: LineReader<BufReader<OwnedReadHalf>>,
    writer: OwnedWriteHalf,
    /// The daemon's version (from `version`).
    pub daemon_version: String,
}

impl Client {
    /// Connects to `path` and checks the daemon's protocol number.
    pub async fn connect(path: &Path) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|source| match source.kind() {
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                    ClientError::NotRunning {
                        path: path.to_owned(),
                    }
                }
                _ => ClientError::Io {
                    path: path.to_owned(),
                    source,
                },
            })?;
        let (read, writer) = stream.into_split();
        let mut client = Self {
            path: path.to_owned(),
            lines: LineReader::new(BufReader::new(read), MAX_RESPONSE),
            writer,
            daemon_version: String::new(),
        };
        match tokio::time::timeout(HELLO_TIMEOUT, client.check_version()).await {
            Ok(checked) => checked?,
            Err(_) => {
                return Err(ClientError::Protocol(format!(
                    "no answer on {} within {HELLO_TIMEOUT:?}; is it an amphigory daemon?",
                    path.display()
                )));
            }
        }
        Ok(client)
    }

    async fn check_version(&mut self) -> Result<(), ClientError> {
        let reply: VersionReply = match self.request(&ControlRequest::Version).await {
            Ok(reply) => reply,
            // A daemon that does not know `version` predates the protocol number.
            Err(ClientError::Refused(_)) => VersionReply::default(),
            Err(e) => return Err(e),
        };
        let version = match reply.version {
            version if version.is_empty() => "unknown".to_owned(),
            version => version,
        };
        if reply.protocol != PROTOCOL_VERSION {
            return Err(ClientError::Mismatch {
                daemon_version: version,
                daemon_protocol: u64::from(reply.protocol),
            });
        }
        self.daemon_version = version;
        Ok(())
    }

    /// Sends `request` and returns its reply, of the type that request calls for
    /// (`ok:false` is [`ClientError::Refused`]).
    pub async fn request<T: DeserializeOwned>(
        &mut self,
        request: &ControlRequest,
    ) -> Result<T, ClientError> {
        let line = self.request_line(request).await?;
        parse_reply(&line)
    }

    /// Sends `request` and returns its `ok` response line as the daemon wrote it (for
    /// `--json`, which passes the daemon's answer on unchanged).
    pub async fn request_line(&mut self, request: &ControlRequest) -> Result<String, ClientError> {
        self.send(request).await?;
        let line = self.next_line().await?.ok_or(ClientError::Closed)?;
        check_ok(&line)?;
        Ok(line)
    }

    /// Sends `request` without reading the answer.
    pub async fn send(&mut self, request: &ControlRequest) -> Result<(), ClientError> {
        let mut bytes =
            serde_json::to_vec(request).map_err(|e| ClientError::Protocol(e.to_string()))?;
        bytes.push(b'\n');
        let path = &self.path;
        self.writer
            .write_all(&bytes)
            .await
            .map_err(|source| ClientError::Io {
                path: path.clone(),
                source,
            })
    }

    /// The next line the daemon sends (a response or an event envelope); `None` when it
    /// closed the connection.
    pub async fn next_line(&mut self) -> Result<Option<String>, ClientError> {
        let line = self.lines.next().await.map_err(|source| ClientError::Io {
            path: self.path.clone(),
            source,
        })?;
        match line {
            None => Ok(None),
            Some(Line::Text(text)) => Ok(Some(text)),
            Some(Line::TooLong) => Err(ClientError::Protocol("response too long".into())),
            Some(Line::NotUtf8) => Err(ClientError::Protocol("response is not UTF-8".into())),
        }
    }
}

/// Whether a response line says `ok:true`; `ok:false` is [`ClientError::Refused`].
pub fn check_ok(line: &str) -> Result<(), ClientError> {
    let head: ReplyHead =
        serde_json::from_str(line).map_err(|e| ClientError::Protocol(format!("{e}: {line}")))?;
    if head.ok {
        return Ok(());
    }
    let error = head.error.unwrap_or_else(|| "no reason given".to_owned());
    Err(ClientError::Refused(error))
}

/// A response line as the reply type `T` (after [`check_ok`]).
pub fn parse_reply<T: DeserializeOwned>(line: &str) -> Result<T, ClientError> {
    check_ok(line)?;
    serde_json::from_str(line).map_err(|e| ClientError::Protocol(format!("{e}: {line}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_split_into_replies_and_refusals() {
        use amphigory_wire::control::ResumeReply;
        let reply: ResumeReply =
            parse_reply(r#"{"ok":true,"paused":false,"changed":true}"#).unwrap();
        assert!(reply.changed);
        assert!(matches!(
            parse_reply::<ResumeReply>(r#"{"ok":false,"error":"nope"}"#),
            Err(ClientError::Refused(e)) if e == "nope"
        ));
        assert!(matches!(
            parse_reply::<ResumeReply>("[1]"),
            Err(ClientError::Protocol(_))
        ));
        assert!(matches!(
            parse_reply::<ResumeReply>(r#"{"ok":true}"#),
            Err(ClientError::Protocol(_))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_socket_that_never_answers_is_not_a_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mute.sock");
        let _listener = tokio::net::UnixListener::bind(&path).unwrap();
        let err = Client::connect(&path).await.unwrap_err();
        assert!(
            err.to_string().contains("is it an amphigory daemon"),
            "{err}"
        );
        assert_eq!(err.exit_code(), 1);
    }

    #[tokio::test]
    async fn a_missing_socket_means_no_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let err = Client::connect(&dir.path().join("none.sock"))
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::NotRunning { .. }), "{err}");
        assert_eq!(err.exit_code(), 1);
        assert!(err.to_string().contains("amphigory daemon"));
    }
}
