//! Linux: a logind inhibitor (`org.freedesktop.login1.Manager.Inhibit("sleep:idle", …,
//! "block")`) on the system bus. logind keeps the machine awake for as long as the file
//! descriptor it returns stays open, so holding is keeping that descriptor and releasing
//! is closing it. The bus address comes from `DBUS_SYSTEM_BUS_ADDRESS` when set (zbus
//! reads it), which is how the tests put a stand-in logind in front of the daemon.

use zbus::Connection;
use zbus::zvariant::OwnedFd;

use super::{AwakeError, Inhibitor};

const LOGIND: &str = "org.freedesktop.login1";
const LOGIND_PATH: &str = "/org/freedesktop/login1";
const MANAGER: &str = "org.freedesktop.login1.Manager";

/// The system-bus connection (made on first use, dropped after any failure so the next
/// busy period reconnects) and the inhibitor descriptor while one is held.
#[derive(Debug, Default)]
pub(super) struct Logind {
    connection: Option<Connection>,
    fd: Option<OwnedFd>,
}

impl Logind {
    async fn connection(&mut self) -> Result<Connection, AwakeError> {
        if let Some(connection) = &self.connection {
            return Ok(connection.clone());
        }
        let connection = Connection::system()
            .await
            .map_err(|e| AwakeError::NoBus(e.to_string()))?;
        self.connection = Some(connection.clone());
        Ok(connection)
    }

    async fn inhibit(&mut self, reason: &str) -> Result<OwnedFd, AwakeError> {
        let connection = self.connection().await?;
        let reply = connection
            .call_method(
                Some(LOGIND),
                LOGIND_PATH,
                Some(MANAGER),
                "Inhibit",
                &("sleep:idle", "Amphigory", reason, "block"),
            )
            .await
            .map_err(|e| AwakeError::Refused(e.to_string()))?;
        reply
            .body()
            .deserialize::<OwnedFd>()
            .map_err(|e| AwakeError::Refused(format!("unexpected reply: {e}")))
    }
}

impl Inhibitor for Logind {
    fn backend(&self) -> &'static str {
        "logind"
    }

    async fn hold(&mut self, reason: &str) -> Result<(), AwakeError> {
        match self.inhibit(reason).await {
            Ok(fd) => {
                self.fd = Some(fd);
                Ok(())
            }
            Err(e) => {
                self.connection = None;
                Err(e)
            }
        }
    }

    fn release(&mut self) {
        // Dropping the descriptor closes it: logind ends the inhibition.
        self.fd = None;
    }
}
