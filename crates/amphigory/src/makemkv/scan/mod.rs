//! Scan assembler (SPEC §6.3, §6.5): robot-mode records of a `makemkvcon -r info` run →
//! a [`ScanResult`], or a [`ScanFailure`] carrying the wire error code.
//!
//! Pure and incremental: the runner pushes records as the child prints them and asks
//! [`ScanAssembler::drives`] and [`ScanAssembler::failure_kind`] along the way; saved
//! transcripts go through [`parse_scan`]. Streams are keyed by (title, stream index) —
//! MakeMKV does not promise attribute order — and only the attributes the result needs
//! are copied out of the borrowed lines.
//!
//! Success rule: titles were listed, no failure message was seen, and either `MSG:5011`
//! (operation complete) and `TCOUNT` > 0 appeared — SPEC §6.6, what every live run must
//! meet — or the transcript holds no `MSG` line at all: trimmed captures (TheDiscDb's
//! start at `TCOUNT`) carry titles but none of the run's messages.

use std::collections::{BTreeMap, VecDeque};

use amphigory_wire::ErrorCode;
use amphigory_wire::scan::{
    AudioStream, DiscType, ScanResult, SubtitleStream, Track, UNKNOWN_DISC,
};

mod failure;
mod keyed;

use failure::fatal_kind;
pub use failure::{RecentMessage, ScanFailure, ScanFailureKind};
use keyed::{Draft, Keyed};

use crate::makemkv::classify;
use crate::makemkv::messages::{self, Meaning, RunPhase};
use crate::makemkv::robot::{
    Attribute, AttributeKey, DriveLine, Message, RobotLine, attribute_key, find_either, parse_line,
};

/// How many `MSG` texts are kept for an error's `detail`.
pub const RECENT_MESSAGES: usize = 10;

/// `CINFO:1` codes.
const DVD_CODE: u32 = 6206;
const BLURAY_CODE: u32 = 6209;
/// `SINFO` attribute 1 codes.
const VIDEO: u32 = 6201;
const AUDIO: u32 = 6202;
const SUBTITLES: u32 = 6203;
/// `SINFO` attribute 22 bits (SPEC §6.6).
const FLAG_COMMENTARY: u32 = 1;
const FLAG_DERIVED: u32 = 2048;
const FLAG_FORCED: u32 = 4096;
/// `DRV` state of an empty slot.
const NO_DRIVE: u32 = 256;
/// `DRV` state of a drive holding a readable disc.
const DISC_INSERTED: u32 = 2;
/// Narrowest video that makes a Blu-ray a UHD disc.
const UHD_WIDTH: u32 = 3840;

/// One `DRV` line: what `disc:<index>` means on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drive {
    /// Slot index, the `N` of `disc:N`.
    pub index: u32,
    /// 256 no drive, 0 empty, 1 tray open, 2 disc inserted, 3 loading, 257 unmounting.
    pub state: u32,
    /// What the disc holds: bit 1 DVD, 4 Blu-ray, 8 AACS, 16 BD+.
    pub flags: u32,
    /// Drive model.
    pub drive_name: String,
    /// Disc volume name (`***` in scrubbed logs).
    pub disc_name: String,
    /// OS device (`/dev/sr0`, `/dev/rdisk4`, `E:`).
    pub device: String,
}

impl Drive {
    /// A drive exists in this slot.
    pub fn is_present(&self) -> bool {
        self.state != NO_DRIVE
    }

    /// The drive holds a disc MakeMKV can open now.
    pub fn has_disc(&self) -> bool {
        self.state == DISC_INSERTED
    }

    fn from_line(d: &DriveLine<'_>) -> Self {
        Self {
            index: d.index,
            state: d.state,
            flags: d.flags,
            drive_name: d.drive_name.to_string(),
            disc_name: d.disc_name.to_string(),
            device: d.device.to_string(),
        }
    }
}

/// A failure decided by a message: kind, wire code, message for a person.
type Pending = (ScanFailureKind, ErrorCode, &'static str);

#[derive(Debug, Default)]
struct StreamDraft {
    /// (title, stream index).
    key: (u32, u32),
    kind: u32,
    language: Option<String>,
    language_name: Option<String>,
    codec_id: Option<String>,
    codec_short: Option<String>,
    codec_long: Option<String>,
    channels: Option<u32>,
    description: Option<String>,
    video_size: Option<String>,
    flags: u32,
}

#[derive(Debug, Default)]
struct TitleDraft {
    number: u32,
    name: Option<String>,
    chapters: Option<u32>,
    duration: Option<String>,
    size_bytes: Option<u64>,
    source_file: Option<String>,
    segment_map: Option<String>,
    makemkv_name: Option<String>,
}

/// Builds a scan result from robot-mode records pushed one at a time.
#[derive(Debug, Default)]
pub struct ScanAssembler {
    disc_type_code: Option<u32>,
    disc_name: Option<String>,
    volume_name: Option<String>,
    title_count: Option<u32>,
    titles: Keyed<TitleDraft>,
    /// Every title's streams together (fewer allocations).
    streams: Keyed<StreamDraft>,
    /// By slot index.
    drives: BTreeMap<u32, Drive>,
    recent: VecDeque<RecentMessage>,
    saw_message: bool,
    completed: bool,
    pending: Option<Pending>,
    /// Read errors during the drive scan may concern another drive.
    phase: RunPhase,
}

impl ScanAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one record; kinds and attributes a scan does not use are ignored.
    pub fn push(&mut self, line: &RobotLine<'_>) {
        self.phase.observe(line);
        match line {
            RobotLine::Message(m) => self.push_message(m),
            RobotLine::Drive(d) => self.push_drive(d),
            RobotLine::TitleCount(n) => self.title_count = Some(*n),
            RobotLine::DiscInfo(a) => self.push_disc_info(a),
            RobotLine::TitleInfo { title, attr } => {
                if let Some(t) = self.title(*title) {
                    push_title_info(t, attr);
                }
            }
            RobotLine::StreamInfo {
                title,
                stream,
                attr,
            } => {
                // A title known only from its streams is still a title.
                self.title(*title);
                if let Some(s) = self.streams.entry((*title, *stream)) {
                    push_stream_info(s, attr);
                }
            }
            _ => {}
        }
    }

    /// Parses one line of text and pushes it when it is a robot-mode record.
    pub fn push_line(&mut self, line: &str) {
        if self.is_ignorable(line) {
            return;
        }
        if let Some(record) = parse_line(line) {
            self.push(&record);
        }
    }

    /// An attribute the result does not use, on the title or stream being built: pushing
    /// it would change nothing. Half the lines of a big scan are such, and skipping their
    /// full parse nearly doubles throughput.
    fn is_ignorable(&self, line: &str) -> bool {
        match attribute_key(line) {
            Some(AttributeKey::Title { title, id }) => {
                !title_attribute_used(id) && self.titles.last().is_some_and(|t| t.number == title)
            }
            Some(AttributeKey::Stream { title, stream, id }) => {
                !stream_attribute_used(id)
                    && self
                        .streams
                        .last()
                        .is_some_and(|s| s.key == (title, stream))
            }
            None => false,
        }
    }

    /// The drives MakeMKV listed, by slot index.
    pub fn drives(&self) -> Vec<&Drive> {
        self.drives.values().collect()
    }

    /// The last [`RECENT_MESSAGES`] messages, oldest first.
    pub fn recent_messages(&self) -> impl Iterator<Item = &RecentMessage> + '_ {
        self.recent.iter()
    }

    /// The recent messages as one `detail` string (`[code] text` per line), if any.
    pub fn recent_detail(&self) -> Option<String> {
        let lines: Vec<String> = self
            .recent
            .iter()
            .map(|m| format!("[{}] {}", m.code, m.text))
            .collect();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    /// `TCOUNT`, once seen.
    pub fn title_count(&self) -> Option<u32> {
        self.title_count
    }

    /// The failure a message has already decided, if any: the runner may stop the child.
    /// [`ScanAssembler::finish`] may still refine it (a failed open with no drive listed
    /// is [`ScanFailureKind::NoDrives`]).
    pub fn failure_kind(&self) -> Option<ScanFailureKind> {
        self.pending.map(|(kind, ..)| kind)
    }

    /// The scan result, or why there is none (see the module docs for the rule).
    pub fn finish(mut self) -> Result<ScanResult, ScanFailure> {
        if let Some(failure) = self.failure() {
            return Err(failure);
        }
        let disc_type = self.disc_type();
        let disc_name = self
            .disc_name
            .take()
            .or(self.volume_name.take())
            .unwrap_or_else(|| UNKNOWN_DISC.to_owned());
        let mut streams = std::mem::take(&mut self.streams)
            .into_sorted()
            .into_iter()
            .peekable();
        let mut tracks: Vec<Track> = std::mem::take(&mut self.titles)
            .into_sorted()
            .into_iter()
            .map(|t| {
                let number = t.number;
                let own = std::iter::from_fn(|| streams.next_if(|s| s.key.0 == number));
                build_track(t, own)
            })
            .collect();
        tracks.sort_by_key(|t| t.number);
        // MakeMKV repeats the disc's name on every title; the webapp would name every
        // output file after it.
        for track in &mut tracks {
            if track.name.as_deref() == Some(disc_name.as_str()) {
                track.name = None;
            }
        }
        classify::classify(&mut tracks);
        Ok(ScanResult {
            disc_name,
            disc_type,
            fingerprint: None,
            tracks,
        })
    }

    fn failure(&self) -> Option<ScanFailure> {
        use ScanFailureKind as K;
        let no_drive = !self.drives.is_empty() && !self.drives.values().any(Drive::is_present);
        let (kind, code, message) = match self.pending {
            Some((K::OpenFailed, ..)) if no_drive => K::NoDrives.own(),
            Some(pending) => pending,
            None if self.titles.is_empty() && self.title_count == Some(0) => K::NoTitles.own(),
            None if self.titles.is_empty() => K::NoListing.own(),
            None if self.saw_message
                && !(self.completed && self.title_count.is_some_and(|n| n > 0)) =>
            {
                K::Incomplete.own()
            }
            None => return None,
        };
        Some(ScanFailure {
            kind,
            code,
            message: message.to_owned(),
            detail: self.recent_detail(),
        })
    }

    fn title(&mut self, number: u32) -> Option<&mut TitleDraft> {
        self.titles.entry(number)
    }

    fn push_message(&mut self, m: &Message<'_>) {
        self.saw_message = true;
        if self.recent.len() == RECENT_MESSAGES {
            self.recent.pop_front();
        }
        self.recent.push_back(RecentMessage {
            code: m.code,
            text: m.text.to_string(),
        });
        let found = match messages::meaning(m) {
            Meaning::OperationComplete => {
                self.completed = true;
                return;
            }
            Meaning::OpenFailed => ScanFailureKind::OpenFailed.own(),
            Meaning::MediumRemoved | Meaning::MediumError if !self.phase.read_errors_count() => {
                return;
            }
            Meaning::MediumRemoved => ScanFailureKind::DiscEjected.own(),
            Meaning::MediumError => ScanFailureKind::MediumError.own(),
            Meaning::Fatal { code, message } => (fatal_kind(m.code), code, message),
            Meaning::UnanswerableQuestion { code, message } => {
                (ScanFailureKind::UnanswerableQuestion, code, message)
            }
            _ => return,
        };
        if self.pending.is_none_or(|(kind, ..)| found.0 < kind) {
            self.pending = Some(found);
        }
    }

    fn push_drive(&mut self, d: &DriveLine<'_>) {
        self.drives.insert(d.index, Drive::from_line(d));
    }

    fn push_disc_info(&mut self, a: &Attribute<'_>) {
        match a.id {
            1 => self.disc_type_code = Some(a.code),
            2 => self.disc_name = non_empty(a),
            32 => self.volume_name = non_empty(a),
            _ => {}
        }
    }

    fn disc_type(&self) -> DiscType {
        let uhd = self.streams.iter().any(|s| {
            s.kind == VIDEO
                && s.video_size
                    .as_deref()
                    .and_then(video_width)
                    .is_some_and(|w| w >= UHD_WIDTH)
        });
        match self.disc_type_code {
            _ if uhd => DiscType::Uhd,
            Some(DVD_CODE) => DiscType::Dvd,
            Some(BLURAY_CODE) => DiscType::Bluray,
            _ => DiscType::Unknown,
        }
    }
}

impl Draft for TitleDraft {
    type Key = u32;

    fn key(&self) -> u32 {
        self.number
    }

    fn new(number: u32) -> Self {
        Self {
            number,
            ..Self::default()
        }
    }
}

impl Draft for StreamDraft {
    type Key = (u32, u32);

    fn key(&self) -> (u32, u32) {
        self.key
    }

    fn new(key: (u32, u32)) -> Self {
        Self {
            key,
            ..Self::default()
        }
    }
}

/// The attributes [`push_title_info`] reads; keep the two in step.
fn title_attribute_used(id: u32) -> bool {
    matches!(id, 2 | 8 | 9 | 11 | 16 | 26 | 27)
}

fn push_title_info(t: &mut TitleDraft, a: &Attribute<'_>) {
    match a.id {
        2 => t.name = non_empty(a),
        8 => t.chapters = a.value.trim().parse().ok(),
        9 => t.duration = non_empty(a),
        11 => t.size_bytes = a.value.trim().parse().ok(),
        16 => t.source_file = non_empty(a),
        26 => t.segment_map = non_empty(a),
        27 => t.makemkv_name = non_empty(a),
        _ => {}
    }
}

/// The attributes [`push_stream_info`] reads; keep the two in step.
fn stream_attribute_used(id: u32) -> bool {
    matches!(id, 1 | 3 | 4 | 5 | 6 | 7 | 14 | 19 | 22 | 30)
}

/// Copies out what the result needs. Allocation is the assembler's main cost, so text a
/// video stream will not use, and the long codec name once a short one is known, are
/// skipped — as far as the attributes seen so far tell (MakeMKV sends attribute 1 first).
fn push_stream_info(s: &mut StreamDraft, a: &Attribute<'_>) {
    let video = s.kind == VIDEO;
    match a.id {
        1 => s.kind = a.code,
        3 if !video => s.language = non_empty(a),
        4 if !video => s.language_name = non_empty(a),
        5 if !video => s.codec_id = non_empty(a),
        6 if !video => {
            s.codec_short = non_empty(a);
            if s.codec_short.is_some() {
                s.codec_long = None;
            }
        }
        7 if !video && s.codec_short.is_none() => s.codec_long = non_empty(a),
        14 => s.channels = a.value.trim().parse().ok(),
        19 => s.video_size = non_empty(a),
        22 => s.flags = a.value.trim().parse().unwrap_or(0),
        30 if !video => s.description = non_empty(a),
        _ => {}
    }
}

fn non_empty(a: &Attribute<'_>) -> Option<String> {
    (!a.value.is_empty()).then(|| a.value.to_string())
}

/// `1920x1080` → 1920.
fn video_width(size: &str) -> Option<u32> {
    size.split_once('x')?.0.trim().parse().ok()
}

fn build_track(t: TitleDraft, streams: impl Iterator<Item = StreamDraft>) -> Track {
    let chapters = t.chapters.unwrap_or(0);
    let mut track = Track {
        number: t.number,
        duration: t.duration,
        size_bytes: t.size_bytes,
        chapters,
        chapter_count: chapters,
        makemkv_name: t.makemkv_name,
        segment_map: t.segment_map,
        source_file: t.source_file,
        name: t.name,
        ..Track::default()
    };
    for s in streams {
        let flag = |bit: u32| s.flags & bit != 0;
        let (commentary, derived, forced) =
            (flag(FLAG_COMMENTARY), flag(FLAG_DERIVED), flag(FLAG_FORCED));
        match s.kind {
            VIDEO if track.resolution.is_none() => track.resolution = s.video_size,
            AUDIO => track.audio_streams.push(AudioStream {
                language: s.language,
                language_name: s.language_name,
                codec: s
                    .codec_short
                    .or(s.codec_long)
                    .or_else(|| s.codec_id.clone()),
                codec_id: s.codec_id,
                channels: s.channels,
                description: s.description,
                commentary,
                derived,
            }),
            SUBTITLES => track.subtitle_streams.push(SubtitleStream {
                language: s.language,
                language_name: s.language_name,
                format: s
                    .codec_short
                    .or(s.codec_long)
                    .or_else(|| s.codec_id.clone()),
                codec_id: s.codec_id,
                forced,
                derived,
            }),
            _ => {}
        }
    }
    track
}

/// Parses a whole `makemkvcon -r info` transcript (LF or CRLF line ends).
pub fn parse_scan(text: &str) -> Result<ScanResult, ScanFailure> {
    let mut assembler = ScanAssembler::new();
    let mut rest = text;
    while !rest.is_empty() {
        // `str::split` goes through the generic char searcher: a fifth of the parse.
        let (line, after) = match find_either(rest.as_bytes(), b'\n', b'\n') {
            Some(i) => (rest.get(..i), rest.get(i + 1..)),
            None => (Some(rest), Some("")),
        };
        assembler.push_line(line.unwrap_or_default());
        rest = after.unwrap_or_default();
    }
    assembler.finish()
}

/// [`parse_scan`] over raw bytes; invalid UTF-8 is decoded lossily.
pub fn parse_scan_bytes(bytes: &[u8]) -> Result<ScanResult, ScanFailure> {
    // `from_utf8` validates far faster than the lossy decoder walks valid input.
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_scan(text),
        Err(_) => parse_scan(&String::from_utf8_lossy(bytes)),
    }
}

#[cfg(test)]
mod tests;
