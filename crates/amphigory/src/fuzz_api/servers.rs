//! What peers send the servers: WebSocket text frames (browsers, tools, the webapp's
//! link) and control-socket lines.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use amphigory_wire::control::{ControlRequest, ControlResponse, ReplyHead};
use amphigory_wire::drive::DriveStatus;
use amphigory_wire::ws::{InboundMessage, LinkMessage};
use serde_json::Value;

use super::{Violation, ensure};
use crate::core::StatusSnapshot;
use crate::servers::control::MIN_LINE_BYTES;
use crate::servers::control::framing::{Line, LineReader};
use crate::servers::control::framing::{encode_reply, request_of};
use crate::servers::requests::{self, GET_DRIVE_STATUS};

const WS: &str = "websocket message";
const CONTROL: &str = "control line";

/// `data` as one text frame, decoded as both servers decode it (an [`InboundMessage`])
/// and, for a request, answered by [`requests::respond`] from a snapshot with two
/// drives. The answer must encode, decode to itself, echo the request's id exactly, and
/// for `get_drive_status` hold one drive object, never an error.
pub fn ws_message(data: &[u8]) -> Result<(), Violation> {
    // A text frame that is not UTF-8 is a protocol error before any decoding.
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let Ok(InboundMessage::Request {
        request_id,
        method,
        params,
    }) = serde_json::from_str::<InboundMessage>(text)
    else {
        return Ok(());
    };
    let answer = requests::respond(&snapshot(), request_id.clone(), &method, &params);
    let json = serde_json::to_string(&answer).map_err(|e| Violation {
        decoder: WS,
        property: format!("answer {answer:?} does not encode: {e}"),
    })?;
    let back = serde_json::from_str::<LinkMessage>(&json);
    ensure(back.as_ref().ok() == Some(&answer), WS, || {
        format!("answer {answer:?} sent as {json} reads back as {back:?}")
    })?;
    let echoed = serde_json::from_str::<Value>(&json)
        .ok()
        .and_then(|v| v.get("request_id").cloned());
    ensure(echoed.as_ref() == Some(&request_id), WS, || {
        format!("request_id {request_id} echoed as {echoed:?} in {json}")
    })?;
    if method == GET_DRIVE_STATUS {
        let LinkMessage::Response { result, error, .. } = &answer else {
            return Err(Violation {
                decoder: WS,
                property: format!("a request answered with {answer:?}"),
            });
        };
        let drive = result
            .clone()
            .and_then(|r| serde_json::from_value::<DriveStatus>(r).ok());
        ensure(drive.is_some() && error.is_none(), WS, || {
            format!("get_drive_status answered {answer:?}")
        })?;
    }
    Ok(())
}

/// Two drives, the second current.
fn snapshot() -> StatusSnapshot {
    let daemon = "fuzz@host";
    let drive = |name: &str| DriveStatus {
        drive_id: format!("{daemon}:{name}"),
        device: format!("/dev/{name}"),
        ..DriveStatus::empty(daemon)
    };
    StatusSnapshot {
        daemon_id: daemon.to_owned(),
        drives: vec![drive("sr0"), drive("sr1")],
        current_drive: Some(format!("{daemon}:sr1")),
        ..StatusSnapshot::default()
    }
}

/// `data` as what a client writes to the control socket, read by the server's
/// [`LineReader`] at the smallest line limit the server allows, each line turned into a
/// request by [`request_of`]. Lines must not depend on how reads are chunked and must be
/// the input's own lines; an error is answered with exactly one line of JSON; a valid
/// request, sent again as the CLI sends it, reads back as itself.
pub fn control_lines(data: &[u8]) -> Result<(), Violation> {
    let lines = read_lines(data, 8192)?;
    let small = read_lines(data, 7)?;
    ensure(lines == small, CONTROL, || {
        format!("8 KiB reads gave {lines:?}, 7-byte reads {small:?}")
    })?;
    let expected = expected_lines(data);
    ensure(lines == expected, CONTROL, || {
        format!("read {lines:?}, but the input's lines are {expected:?}")
    })?;
    for line in lines {
        match request_of(line, MIN_LINE_BYTES) {
            None => {}
            Some(Err(refused)) => check_error_reply(&refused.to_string())?,
            Some(Ok(request)) => check_round_trip(&request)?,
        }
    }
    Ok(())
}

/// Every line of `data` through a [`LineReader`] reading `capacity` bytes at a time.
fn read_lines(data: &[u8], capacity: usize) -> Result<Vec<Line>, Violation> {
    let mut reader = LineReader::new(
        tokio::io::BufReader::with_capacity(capacity, data),
        MIN_LINE_BYTES,
    );
    let mut cx = Context::from_waker(Waker::noop());
    let mut lines = Vec::new();
    loop {
        let next = std::pin::pin!(reader.next());
        match next.poll(&mut cx) {
            Poll::Ready(Ok(Some(line))) => lines.push(line),
            Poll::Ready(Ok(None)) => return Ok(lines),
            Poll::Ready(Err(e)) => {
                return Err(Violation {
                    decoder: CONTROL,
                    property: format!("reading a byte slice failed: {e}"),
                });
            }
            Poll::Pending => {
                return Err(Violation {
                    decoder: CONTROL,
                    property: "reading a byte slice would block".to_owned(),
                });
            }
        }
    }
}

/// The lines of `data` as the reader's contract states them.
fn expected_lines(data: &[u8]) -> Vec<Line> {
    let mut segments: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    if data.is_empty() || data.ends_with(b"\n") {
        segments.pop();
    }
    segments
        .into_iter()
        .map(|s| {
            if s.len() > MIN_LINE_BYTES {
                return Line::TooLong;
            }
            let s = s.strip_suffix(b"\r").unwrap_or(s);
            match std::str::from_utf8(s) {
                Ok(text) => Line::Text(text.to_owned()),
                Err(_) => Line::NotUtf8,
            }
        })
        .collect()
}

fn check_error_reply(message: &str) -> Result<(), Violation> {
    let response = ControlResponse::err(message);
    let bytes = encode_reply(&response).map_err(|e| Violation {
        decoder: CONTROL,
        property: format!("reply {response:?} does not encode: {e}"),
    })?;
    let back = serde_json::from_slice::<ReplyHead>(&bytes);
    let expected = ReplyHead {
        ok: false,
        error: Some(message.to_owned()),
    };
    ensure(
        !bytes.contains(&b'\n') && back.as_ref().ok() == Some(&expected),
        CONTROL,
        || {
            let text = String::from_utf8_lossy(&bytes);
            format!("reply {response:?} sent as {text:?} reads back as {back:?}")
        },
    )
}

fn check_round_trip(request: &ControlRequest) -> Result<(), Violation> {
    let sent = serde_json::to_string(request).map_err(|e| Violation {
        decoder: CONTROL,
        property: format!("{request:?} does not encode: {e}"),
    })?;
    let again = request_of(Line::Text(sent.clone()), MIN_LINE_BYTES);
    ensure(
        again.as_ref() == Some(&Ok(request.clone())),
        CONTROL,
        || format!("{request:?} sent as {sent} reads back as {again:?}"),
    )
}
