//! Linux: `org.freedesktop.Notifications.Notify` on the D-Bus session bus
//! (`DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`), over zbus on the daemon's
//! own runtime. The connection is made on the first notification and made again after a
//! failure, so a desktop session that starts after the daemon is still reached.

use std::collections::HashMap;

use zbus::zvariant::Value;

use super::{APP_NAME, Kind, Notification, Notifier, NotifyError};

const DESTINATION: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";

/// Says notifications to the desktop's notification server.
#[derive(Debug, Default)]
pub(super) struct DbusNotifier {
    conn: Option<zbus::Connection>,
}

impl DbusNotifier {
    async fn connection(&mut self) -> Result<zbus::Connection, NotifyError> {
        if let Some(conn) = &self.conn {
            return Ok(conn.clone());
        }
        let conn = zbus::Connection::session()
            .await
            .map_err(|e| NotifyError::Unavailable(format!("no D-Bus session bus: {e}")))?;
        self.conn = Some(conn.clone());
        Ok(conn)
    }
}

impl Notifier for DbusNotifier {
    async fn notify(&mut self, note: &Notification) -> Result<(), NotifyError> {
        let conn = self.connection().await?;
        // Failures stay on screen until dismissed (urgency 2, "critical"); the rest
        // come and go (1, "normal").
        let urgency: u8 = if note.kind == Kind::Failed { 2 } else { 1 };
        let hints = HashMap::from([("urgency", Value::U8(urgency))]);
        let body = (
            APP_NAME,
            0u32, // replaces no earlier notification
            "media-optical",
            note.summary.as_str(),
            note.body.as_str(),
            Vec::<&str>::new(), // no actions
            hints,
            -1i32, // the server's default timeout
        );
        let reply = conn
            .call_method(Some(DESTINATION), PATH, Some(DESTINATION), "Notify", &body)
            .await;
        match reply {
            Ok(_) => Ok(()),
            Err(e) => {
                // The bus may have gone away with the session: connect afresh next time.
                self.conn = None;
                Err(match e {
                    zbus::Error::MethodError(name, ..)
                        if name.as_str() == "org.freedesktop.DBus.Error.ServiceUnknown" =>
                    {
                        NotifyError::Unavailable("no notification server on the session bus".into())
                    }
                    e => NotifyError::Failed(format!("Notify failed: {e}")),
                })
            }
        }
    }
}
