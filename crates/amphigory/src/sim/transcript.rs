//! Discs of the simulated drives: robot-mode `info` transcripts, built in or from a file,
//! and the few facts the simulator needs from them (title sizes and file names, disc
//! type, volume name).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use super::recording::RecordedDisc;
use crate::fingerprint::{DiscFacts, MediumKind};
use crate::makemkv::classify::duration_seconds;
use crate::makemkv::robot::{RobotLine, parse_line};

/// Names of the discs built into the binary.
pub const BUILTIN_DISCS: [&str; 2] = ["demo-bluray", "demo-dvd"];

/// `CINFO:1` code of a Blu-ray.
const BLURAY_CODE: u32 = 6209;
/// Bytes per block of an optical disc, to turn title sizes into a block count.
const BLOCK_SIZE: u64 = 2048;

/// The transcript of a built-in disc (`demo-bluray`, `demo-dvd`): the project's own
/// synthetic output, shaped like a real disc.
pub fn builtin_disc(name: &str) -> Option<&'static str> {
    match name {
        "demo-bluray" => Some(include_str!("discs/demo-bluray.txt")),
        "demo-dvd" => Some(include_str!("discs/demo-dvd.txt")),
        _ => None,
    }
}

/// What the simulator knows of one title.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TitleFacts {
    /// Bytes (`TINFO:n,11`).
    pub size: u64,
    /// Output file name (`TINFO:n,27`).
    pub file_name: Option<String>,
    /// Source file (`TINFO:n,16`), for read-error messages.
    pub source_file: Option<String>,
    /// Duration in seconds (`TINFO:n,9`, `H:MM:SS`), written into the file's header.
    pub duration_seconds: Option<u32>,
}

/// A loaded disc.
#[derive(Debug, Clone)]
pub struct Disc {
    text: Cow<'static, str>,
    disc_type: Option<u32>,
    volume: Option<String>,
    name: Option<String>,
    titles: BTreeMap<u32, TitleFacts>,
    /// What detection reported when the disc came from a recording (`amphigory record`):
    /// its fingerprint, kind and volume name win over what the transcript suggests.
    recorded: Option<RecordedDisc>,
}

impl Disc {
    /// A built-in disc by name, else a recording folder (`amphigory record`) or a
    /// transcript file at that path.
    pub fn load(spec: &str) -> io::Result<Self> {
        if builtin_disc(spec).is_none() && super::recording::is_recording(Path::new(spec)) {
            let replay = super::recording::load(Path::new(spec))?;
            let mut disc = Self::parse(Cow::Owned(replay.transcript));
            disc.recorded = Some(replay.recording.disc);
            return Ok(disc);
        }
        let text = match builtin_disc(spec) {
            Some(text) => Cow::Borrowed(text),
            None => Cow::Owned(std::fs::read_to_string(spec).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "disc {spec:?} is neither a built-in disc ({}) nor a readable \
                         transcript: {e}",
                        BUILTIN_DISCS.join(", ")
                    ),
                )
            })?),
        };
        Ok(Self::parse(text))
    }

    pub(crate) fn parse(text: Cow<'static, str>) -> Self {
        let mut disc = Self {
            text: Cow::Borrowed(""),
            disc_type: None,
            volume: None,
            name: None,
            titles: BTreeMap::new(),
            recorded: None,
        };
        for line in text.lines().filter_map(parse_line) {
            match line {
                RobotLine::DiscInfo(a) if a.id == 1 => disc.disc_type = Some(a.code),
                RobotLine::DiscInfo(a) if a.id == 2 => disc.name = Some(a.value.into_owned()),
                RobotLine::DiscInfo(a) if a.id == 32 => disc.volume = Some(a.value.into_owned()),
                RobotLine::TitleInfo { title, attr } => {
                    let facts = disc.titles.entry(title).or_default();
                    match attr.id {
                        9 => facts.duration_seconds = duration_seconds(&attr.value),
                        11 => facts.size = attr.value.trim().parse().unwrap_or(0),
                        16 => facts.source_file = Some(attr.value.into_owned()),
                        27 => facts.file_name = Some(attr.value.into_owned()),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        disc.text = text;
        disc
    }

    /// Whether `CINFO:1` says Blu-ray (else DVD for the simulator's purposes).
    pub fn is_bluray(&self) -> bool {
        self.disc_type == Some(BLURAY_CODE)
    }

    /// The recorded kind, else Blu-ray when [`Disc::is_bluray`], else DVD.
    pub fn medium(&self) -> MediumKind {
        if let Some(kind) = self.recorded.as_ref().and_then(RecordedDisc::medium) {
            kind
        } else if self.is_bluray() {
            MediumKind::Bluray
        } else {
            MediumKind::Dvd
        }
    }

    /// The drive-level facts a real drive would report, made up from the transcript: a
    /// simulated drive has no block count, so the largest title stands in for the disc.
    pub fn facts(&self) -> DiscFacts {
        let largest = self.titles.values().map(|t| t.size).max().unwrap_or(0);
        let media = match self.medium() {
            MediumKind::Bluray | MediumKind::Uhd => "BD-ROM",
            MediumKind::Dvd | MediumKind::Cd => "DVD-ROM",
        };
        DiscFacts {
            media: Some(media.to_owned()),
            volume: self.volume_name().map(str::to_owned),
            ..DiscFacts::new(self.medium(), largest / BLOCK_SIZE)
        }
    }

    /// The disc's fingerprint (SPEC §9.4): a recorded disc's as the real drive gave it, a
    /// simulated disc's from its transcript.
    pub fn fingerprint(&self) -> String {
        match self.recorded.as_ref().and_then(|r| r.fingerprint.clone()) {
            Some(recorded) => recorded,
            None => self.facts().fingerprint(),
        }
    }

    /// Volume name: the recorded one, else `CINFO:32`, else the disc name `CINFO:2`.
    pub fn volume_name(&self) -> Option<&str> {
        self.recorded
            .as_ref()
            .and_then(|r| r.volume_name.as_deref())
            .or(self.volume.as_deref())
            .or(self.name.as_deref())
    }

    /// A title's facts.
    pub fn title(&self, index: u32) -> Option<&TitleFacts> {
        self.titles.get(&index)
    }

    /// The whole transcript.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Records MakeMKV prints while opening the disc (before `TCOUNT`), without what the
    /// simulator prints itself: drive lines, progress, the start banner, 3007 and 5011.
    pub fn opening_lines(&self) -> Vec<&str> {
        self.robot_lines()
            .take_while(|(_, l)| !matches!(l, RobotLine::TitleCount(_)))
            .filter(|(_, l)| !is_own_line(l))
            .map(|(text, _)| text)
            .collect()
    }

    /// The title listing: `TCOUNT` and everything after it.
    pub fn listing_lines(&self) -> Vec<&str> {
        self.robot_lines()
            .skip_while(|(_, l)| !matches!(l, RobotLine::TitleCount(_)))
            .filter(|(_, l)| !is_own_line(l))
            .map(|(text, _)| text)
            .collect()
    }

    fn robot_lines(&self) -> impl Iterator<Item = (&str, RobotLine<'_>)> {
        self.text
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter_map(|l| parse_line(l).map(|r| (l, r)))
    }
}

/// Lines of a transcript the simulator replaces with its own.
fn is_own_line(line: &RobotLine<'_>) -> bool {
    match line {
        RobotLine::Drive(_)
        | RobotLine::ProgressTotalTitle(_)
        | RobotLine::ProgressCurrentTitle(_)
        | RobotLine::ProgressValue { .. } => true,
        RobotLine::Message(m) => matches!(m.code, 1005 | 3007 | 5011),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::makemkv::scan::parse_scan;
    use amphigory_wire::scan::{Classification, DiscType};

    #[test]
    fn demo_bluray_is_shaped_like_the_spec_says() {
        let disc = Disc::load("demo-bluray").unwrap();
        assert!(disc.is_bluray());
        assert_eq!(disc.volume_name(), Some("CLOCKWORK_LIGHTHOUSE"));
        let main = disc.title(0).unwrap();
        assert_eq!(main.file_name.as_deref(), Some("title_t00.mkv"));
        assert!((24_000_000_000..27_000_000_000).contains(&main.size));
        let scan = parse_scan(disc.text()).unwrap();
        assert_eq!(scan.disc_type, DiscType::Bluray);
        let first = &scan.tracks[0];
        assert_eq!(
            (first.number, first.classification),
            (0, Classification::MainFeature)
        );
        assert_eq!(first.duration.as_deref(), Some("1:45:00"));
        assert_eq!(
            (first.chapters, first.resolution.as_deref()),
            (24, Some("1920x1080"))
        );
        assert!(first.audio_streams.len() >= 4 && first.subtitle_streams.iter().any(|s| s.forced));
        let alternate = scan.tracks.iter().find(|t| t.number == 1).unwrap();
        assert_eq!(alternate.classification, Classification::Feature);
        let extras = scan.tracks.iter().filter(|t| t.number >= 2).count();
        assert!(extras >= 5);
        assert!(scan.tracks.iter().filter(|t| t.number >= 2).all(|t| {
            let size = t.size_bytes.unwrap_or(0);
            (200_000_000..=2_000_000_000).contains(&size)
        }));
    }

    #[test]
    fn demo_dvd_uses_dvd_subtitles_without_a_short_name() {
        let disc = Disc::load("demo-dvd").unwrap();
        assert!(!disc.is_bluray());
        let scan = parse_scan(disc.text()).unwrap();
        assert_eq!(scan.disc_type, DiscType::Dvd);
        let main = &scan.tracks[0];
        assert_eq!(
            (main.number, main.classification),
            (0, Classification::MainFeature)
        );
        assert_eq!(main.resolution.as_deref(), Some("720x480"));
        assert!((5_500_000_000..7_000_000_000).contains(&main.size_bytes.unwrap()));
        let sub = &main.subtitle_streams[0];
        assert_eq!(sub.codec_id.as_deref(), Some("S_VOBSUB"));
        assert_eq!(sub.format.as_deref(), Some("Dvd Subtitles"));
    }

    #[test]
    fn replay_splits_opening_and_listing_without_own_lines() {
        let disc = Disc::load("demo-bluray").unwrap();
        let opening = disc.opening_lines();
        assert!(
            opening
                .iter()
                .all(|l| !l.starts_with("DRV:") && !l.starts_with("MSG:5011"))
        );
        assert!(opening.iter().any(|l| l.starts_with("MSG:3307")));
        let listing = disc.listing_lines();
        assert!(listing.first().is_some_and(|l| l.starts_with("TCOUNT:")));
        assert!(Disc::load("no-such-disc").is_err());
    }

    #[test]
    fn fingerprints_come_from_the_transcript() {
        let bluray = Disc::load("demo-bluray").unwrap();
        let dvd = Disc::load("demo-dvd").unwrap();
        assert_eq!(bluray.medium(), MediumKind::Bluray);
        assert_eq!(dvd.medium(), MediumKind::Dvd);
        let facts = bluray.facts();
        assert_eq!(facts.media.as_deref(), Some("BD-ROM"));
        assert_eq!(facts.volume.as_deref(), Some("CLOCKWORK_LIGHTHOUSE"));
        assert_eq!(facts.blocks, bluray.title(0).unwrap().size / 2048);
        assert_eq!(dvd.facts().media.as_deref(), Some("DVD-ROM"));
        let (br, dv) = (bluray.fingerprint(), dvd.fingerprint());
        assert!(br.starts_with("br-"), "{br}");
        assert!(dv.starts_with("dvd-"), "{dv}");
        assert_ne!(br, dv);
        assert_eq!(Disc::load("demo-bluray").unwrap().fingerprint(), br);
        assert_eq!(dvd.fingerprint(), dv);
    }
}
