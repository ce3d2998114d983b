//! Entry points for the fuzz targets in `fuzz/` (issue 19): one function per decoder of
//! bytes somebody else wrote, each calling the very function the daemon calls and then
//! checking properties of what came out, not only that nothing panicked.
//!
//! Hidden from the docs: this is not an API for anybody but the fuzz targets and the
//! regression tests made from what they found (`tests/fuzz_regressions.rs`). A broken
//! property comes back as a [`Violation`]; the fuzz target turns it into a crash.
//!
//! | function | decoder | properties |
//! |---|---|---|
//! | [`robot_lines`] | `makemkvcon -r` lines | printing a record and parsing it back gives it again; the attribute fast path agrees with the full parse |
//! | [`scan_transcript`] | a whole `info` transcript | the skipping parse equals record-by-record assembly; the result survives JSON; the simulator reads the same text |
//! | [`task_file`] | `queued/<id>.json` | an accepted rip writes inside its output folder, under a safe id |
//! | [`tasks_json`] | `tasks.json` | only safe ids; the append fast path equals a full decode; the enqueue reader agrees |
//! | [`webapp_config`] | `/config.json` and its cache | the cache reads back as the same configuration |
//! | [`daemon_yaml`] | `daemon.yaml` | error lines point inside the file and at the key named |
//! | [`ws_message`] | WebSocket text frames | every request gets one response echoing its id; `get_drive_status` never errs |
//! | [`control_lines`] | control-socket input | one line of JSON per reply; chunking does not matter; requests survive a round trip |
//! | `uevent` (Linux) | netlink payloads, `udevadm` text | a payload printed back parses to the same event |
//! | [`drutil_text`], [`drutil_xml`] | `drutil status` text and `-xml` | facts only with a medium and blocks; fingerprints computable |
//! | [`sim_state`] | simulated drives' state and pid files | state survives the writer; faults print and parse back |
//! | [`matroska_header`] | the start of a rip's output file | reading ends; a Matroska doctype and a sane duration; the simulator's header reads back with its duration |

mod config;
mod drives;
mod makemkv;
mod queue;
mod servers;
mod sim_files;
mod verify;

pub use config::{daemon_yaml, webapp_config};
#[cfg(target_os = "linux")]
pub use drives::uevent;
pub use drives::{drutil_text, drutil_xml};
pub use makemkv::{robot_lines, scan_transcript};
pub use queue::{task_file, tasks_json};
pub use servers::{control_lines, ws_message};
pub use sim_files::sim_state;
pub use verify::matroska_header;

/// A property of a decoder that an input broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{decoder}: {property}")]
pub struct Violation {
    /// Which decoder.
    pub decoder: &'static str,
    /// What went wrong, with the values involved.
    pub property: String,
}

/// `Err` with `property()` unless `holds`.
fn ensure(
    holds: bool,
    decoder: &'static str,
    property: impl FnOnce() -> String,
) -> Result<(), Violation> {
    if holds {
        Ok(())
    } else {
        Err(Violation {
            decoder,
            property: property(),
        })
    }
}

/// The first line of `data` (lossily decoded) and the bytes after it: how targets that
/// need a name and a body (a task file's stem, a device) take both from one input.
fn split_first_line(data: &[u8]) -> (String, &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (
            String::from_utf8_lossy(data.get(..i).unwrap_or_default()).into_owned(),
            data.get(i + 1..).unwrap_or_default(),
        ),
        None => (String::from_utf8_lossy(data).into_owned(), &[]),
    }
}
