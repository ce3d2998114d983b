//! `makemkvcon` robot-mode output: single lines, and whole `info` transcripts.

use std::borrow::Cow;

use amphigory_wire::scan::ScanResult;

use super::{Violation, ensure};
use crate::makemkv::robot::{self, Attribute, AttributeKey, RobotLine};
use crate::makemkv::scan::{self, ScanAssembler};
use crate::sim::emit::quote;
use crate::sim::transcript::Disc;

const ROBOT: &str = "robot line";
const SCAN: &str = "scan transcript";

/// Every line of `data` through [`robot::parse_bytes`], as the runner reads the child's
/// stdout. Each record, printed back in robot syntax, must parse to itself, and the
/// attribute fast path the scan assembler skips lines with must agree with the full
/// parse.
pub fn robot_lines(data: &[u8]) -> Result<(), Violation> {
    for raw in data.split(|b| *b == b'\n') {
        let Some(record) = robot::parse_bytes(raw) else {
            continue;
        };
        let text = String::from_utf8_lossy(raw);
        if let Some(key) = robot::attribute_key(&text) {
            let agrees = match (&record, key) {
                (RobotLine::TitleInfo { title, attr }, AttributeKey::Title { title: t, id }) => {
                    (*title, attr.id) == (t, id)
                }
                (
                    RobotLine::StreamInfo {
                        title,
                        stream,
                        attr,
                    },
                    AttributeKey::Stream {
                        title: t,
                        stream: s,
                        id,
                    },
                ) => (*title, *stream, attr.id) == (t, s, id),
                _ => false,
            };
            ensure(agrees, ROBOT, || {
                format!("attribute_key {key:?} disagrees with {record:?} for {text:?}")
            })?;
        }
        let printed = robot_text(&record);
        let again = robot::parse_line(&printed);
        ensure(again.as_ref() == Some(&record), ROBOT, || {
            format!("{text:?} parsed to {record:?}, printed as {printed:?}, parsed to {again:?}")
        })?;
    }
    Ok(())
}

/// A record in robot syntax, every text field quoted (as MakeMKV and the simulator write).
fn robot_text(record: &RobotLine<'_>) -> String {
    let attr = |a: &Attribute<'_>| format!("{},{},{}", a.id, a.code, quote(&a.value));
    match record {
        RobotLine::Message(m) => {
            let mut line = format!(
                "MSG:{},{},{},{},{}",
                m.code,
                m.flags,
                m.count,
                quote(&m.text),
                quote(&m.format)
            );
            for p in &m.params {
                line.push(',');
                line.push_str(&quote(p));
            }
            line
        }
        RobotLine::Drive(d) => format!(
            "DRV:{},{},0,{},{},{},{}",
            d.index,
            d.state,
            d.flags,
            quote(&d.drive_name),
            quote(&d.disc_name),
            quote(&d.device)
        ),
        RobotLine::TitleCount(n) => format!("TCOUNT:{n}"),
        RobotLine::DiscInfo(a) => format!("CINFO:{}", attr(a)),
        RobotLine::TitleInfo { title, attr: a } => format!("TINFO:{title},{}", attr(a)),
        RobotLine::StreamInfo {
            title,
            stream,
            attr: a,
        } => format!("SINFO:{title},{stream},{}", attr(a)),
        RobotLine::ProgressTotalTitle(t) => format!("PRGT:{},{},{}", t.code, t.id, quote(&t.name)),
        RobotLine::ProgressCurrentTitle(t) => {
            format!("PRGC:{},{},{}", t.code, t.id, quote(&t.name))
        }
        RobotLine::ProgressValue {
            current,
            total,
            max,
        } => format!("PRGV:{current},{total},{max}"),
    }
}

/// `data` as a whole `makemkvcon -r info` transcript through [`scan::parse_scan_bytes`]
/// (the CLI's `makemkv parse`; the runner pushes the same records one by one). The
/// skipping parse must equal pushing every record, a result must survive the JSON of the
/// result file, and the simulator must be able to replay the same text.
pub fn scan_transcript(data: &[u8]) -> Result<(), Violation> {
    let fast = scan::parse_scan_bytes(data);
    let text = String::from_utf8_lossy(data);
    let mut assembler = ScanAssembler::new();
    for line in text.split('\n') {
        if let Some(record) = robot::parse_line(line) {
            assembler.push(&record);
        }
    }
    let every = assembler.finish();
    ensure(fast == every, SCAN, || {
        format!("skipping parse gave {fast:?}, record by record {every:?}")
    })?;
    if let Ok(result) = &fast {
        let json = serde_json::to_vec(result).map_err(|e| Violation {
            decoder: SCAN,
            property: format!("result does not encode: {e}"),
        })?;
        let back = serde_json::from_slice::<ScanResult>(&json);
        ensure(back.as_ref().ok() == Some(result), SCAN, || {
            let json = String::from_utf8_lossy(&json);
            format!("{result:?} encoded as {json} decodes as {back:?}")
        })?;
    }
    let disc = Disc::parse(Cow::Owned(text.into_owned()));
    let _ = (
        disc.fingerprint(),
        disc.opening_lines(),
        disc.listing_lines(),
    );
    Ok(())
}
