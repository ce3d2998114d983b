//! The `request` methods of SPEC §7.2, answered the same way on the daemon's WebSocket
//! server and on the webapp link: a pure function of a [`StatusSnapshot`] and the request,
//! so both servers (and the tests) get exactly the same answers.
//!
//! - `get_drive_status` → exactly one drive object (§9.1), never an error: the webapp turns
//!   an error into HTTP 500.
//! - `list_drives` → `{"drives":[…]}`.
//! - anything else → `{"code":"unknown_method","message":…}`.

use amphigory_wire::control::DrivesReply;
use amphigory_wire::drive::DriveStatus;
use amphigory_wire::ws::{LinkMessage, RequestError};
use serde_json::{Map, Value};

use crate::core::StatusSnapshot;
use crate::core::status::drive_matches;

/// Method name: one drive object.
pub const GET_DRIVE_STATUS: &str = "get_drive_status";
/// Method name: every drive.
pub const LIST_DRIVES: &str = "list_drives";
/// Error code for a method this daemon does not know.
pub const UNKNOWN_METHOD: &str = "unknown_method";
/// Error code for an answer that could not be encoded (never expected).
pub const INTERNAL_ERROR: &str = "internal_error";

/// Answers one request: `{"type":"response","request_id",…}` with `result` or `error`.
pub fn respond(
    snapshot: &StatusSnapshot,
    request_id: Value,
    method: &str,
    params: &Map<String, Value>,
) -> LinkMessage {
    let outcome = match method {
        GET_DRIVE_STATUS => {
            let wanted = params.get("drive_id").and_then(Value::as_str);
            encode(&select_drive(snapshot, wanted))
        }
        // The same shape as the control socket's `drives` reply.
        LIST_DRIVES => encode(&DrivesReply {
            drives: snapshot.drives.clone(),
        }),
        other => Err(RequestError {
            code: UNKNOWN_METHOD.to_owned(),
            message: format!("unknown method: {other}"),
        }),
    };
    match outcome {
        Ok(result) => LinkMessage::Response {
            request_id,
            result: Some(result),
            error: None,
        },
        Err(error) => LinkMessage::Response {
            request_id,
            result: None,
            error: Some(error),
        },
    }
}

/// The drive `get_drive_status` answers with.
///
/// `wanted` names a drive (id, device, or device without `/dev/`): that drive. A name
/// this daemon does not have gets an `empty` drive object carrying that id (saying "no
/// such drive here" without answering with somebody else's drive), except the daemon's
/// own id, which asks for the daemon's current drive. Otherwise the *current drive*
/// (SPEC §7.2: the one whose disc went in last, else the first), the same drive a scan
/// naming no drive runs on; with no drive at all, an `empty` one.
pub fn select_drive(snapshot: &StatusSnapshot, wanted: Option<&str>) -> DriveStatus {
    if let Some(wanted) = wanted.filter(|w| !w.is_empty() && *w != snapshot.daemon_id) {
        return snapshot
            .drives
            .iter()
            .find(|d| drive_matches(d, wanted))
            .cloned()
            .unwrap_or_else(|| DriveStatus {
                drive_id: wanted.to_owned(),
                ..DriveStatus::empty(&snapshot.daemon_id)
            });
    }
    snapshot
        .current()
        .or_else(|| snapshot.drives.first())
        .cloned()
        .unwrap_or_else(|| DriveStatus::empty(&snapshot.daemon_id))
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Value, RequestError> {
    serde_json::to_value(value).map_err(|e| RequestError {
        code: INTERNAL_ERROR.to_owned(),
        message: format!("could not encode the answer: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use amphigory_wire::drive::DriveState;
    use serde_json::json;

    use super::*;

    fn drive(device: &str, state: DriveState) -> DriveStatus {
        DriveStatus {
            drive_id: format!("me@host:{device}"),
            daemon_id: "me@host".into(),
            device: format!("/dev/{device}"),
            state,
            ..DriveStatus::default()
        }
    }

    fn snapshot(states: &[(&str, DriveState)]) -> StatusSnapshot {
        StatusSnapshot {
            daemon_id: "me@host".into(),
            drives: states.iter().map(|(d, s)| drive(d, *s)).collect(),
            ..StatusSnapshot::default()
        }
    }

    fn chosen(snap: &StatusSnapshot, wanted: Option<&str>) -> String {
        select_drive(snap, wanted).drive_id
    }

    #[test]
    fn the_current_drive_wins_not_the_busiest() {
        use DriveState::*;
        let mut snap = snapshot(&[
            ("sr0", Empty),
            ("sr1", Scanned),
            ("sr2", Scanning),
            ("sr3", Ripping),
        ]);
        // sr1's disc went in last: the user's new disc, however busy the others are.
        snap.current_drive = Some("me@host:sr1".into());
        assert_eq!(chosen(&snap, None), "me@host:sr1");
        // No current drive known (yet): the first drive.
        let idle = snapshot(&[("sr0", Empty), ("sr1", Empty)]);
        assert_eq!(chosen(&idle, None), "me@host:sr0");
        // A current drive that went away: the first drive.
        snap.current_drive = Some("me@host:sr9".into());
        assert_eq!(chosen(&snap, None), "me@host:sr0");
    }

    #[test]
    fn named_drive_by_id_or_device_and_unknown_names_get_an_empty_drive() {
        use DriveState::*;
        let mut snap = snapshot(&[("sr0", Empty), ("sr1", Ripping)]);
        snap.current_drive = Some("me@host:sr1".into());
        assert_eq!(chosen(&snap, Some("me@host:sr0")), "me@host:sr0");
        assert_eq!(chosen(&snap, Some("/dev/sr0")), "me@host:sr0");
        assert_eq!(chosen(&snap, Some("sr0")), "me@host:sr0");
        assert_eq!(chosen(&snap, Some("me@host")), "me@host:sr1");
        assert_eq!(chosen(&snap, Some("")), "me@host:sr1");
        let ghost = select_drive(&snap, Some("other@box:sr9"));
        assert_eq!(ghost.drive_id, "other@box:sr9");
        assert_eq!(ghost.state, Empty);
        assert_eq!(ghost.daemon_id, "me@host");
    }

    #[test]
    fn no_drive_is_an_empty_drive_never_an_error() {
        let snap = snapshot(&[]);
        let answer = respond(&snap, json!("r1"), GET_DRIVE_STATUS, &Map::new());
        let v = serde_json::to_value(answer).unwrap();
        assert_eq!(v["type"], "response");
        assert_eq!(v["request_id"], "r1");
        assert!(v.get("error").is_none());
        assert_eq!(v["result"]["state"], "empty");
        assert_eq!(v["result"]["drive_id"], "me@host:none");
    }

    #[test]
    fn get_drive_status_reads_params_drive_id() {
        let mut snap = snapshot(&[("sr0", DriveState::Empty), ("sr1", DriveState::Ripping)]);
        snap.current_drive = Some("me@host:sr1".into());
        let mut params = Map::new();
        params.insert("drive_id".into(), json!("me@host:sr0"));
        let v = serde_json::to_value(respond(&snap, json!(7), GET_DRIVE_STATUS, &params)).unwrap();
        assert_eq!(v["request_id"], 7);
        assert_eq!(v["result"]["drive_id"], "me@host:sr0");
        // A drive_id that is not a string is ignored rather than refused.
        params.insert("drive_id".into(), json!(42));
        let v = serde_json::to_value(respond(&snap, json!(8), GET_DRIVE_STATUS, &params)).unwrap();
        assert_eq!(v["result"]["drive_id"], "me@host:sr1");
    }

    #[test]
    fn list_drives_lists_every_drive() {
        let snap = snapshot(&[("sr0", DriveState::Empty), ("sr1", DriveState::Scanned)]);
        let v = serde_json::to_value(respond(&snap, json!("x"), LIST_DRIVES, &Map::new())).unwrap();
        let drives = v["result"]["drives"].as_array().unwrap();
        assert_eq!(drives.len(), 2);
        assert_eq!(drives[1]["state"], "scanned");
        assert_eq!(v["result"].as_object().unwrap().len(), 1);
    }

    #[test]
    fn unknown_methods_get_unknown_method() {
        let snap = snapshot(&[]);
        let v = serde_json::to_value(respond(&snap, json!("r"), "eject_all", &Map::new())).unwrap();
        assert_eq!(
            v,
            json!({"type":"response","request_id":"r",
                   "error":{"code":"unknown_method","message":"unknown method: eject_all"}})
        );
    }
}
