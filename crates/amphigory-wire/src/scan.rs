//! The scan result of SPEC §6.3: what is on a disc, title by title.

use serde::{Deserialize, Serialize};

/// Disc type from `CINFO:1` (and `uhd` when a video stream is 3840 wide or more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscType {
    /// DVD-Video.
    Dvd,
    /// Blu-ray.
    Bluray,
    /// Ultra HD Blu-ray.
    Uhd,
    /// Anything else MakeMKV reports.
    #[serde(other)]
    Unknown,
}

/// What a title is, as far as the classifier can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// The main feature.
    MainFeature,
    /// An alternate version of the feature (other language, cut).
    Feature,
    /// Under 90 s, or no streams.
    #[default]
    Other,
    /// 90–150 s.
    Trailers,
    /// 150–300 s.
    DeletedScenes,
    /// Longer extras.
    Featurettes,
}

/// How sure the classifier is of the main feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Gap to the runner-up > 0.3 (or MakeMKV marked it).
    High,
    /// Gap > 0.15.
    Medium,
    /// Anything else.
    #[default]
    Low,
}

/// One audio stream of a title.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AudioStream {
    /// Language code (attribute 3), e.g. `eng`.
    #[serde(default)]
    pub language: Option<String>,
    /// Language name (attribute 4), e.g. `English`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_name: Option<String>,
    /// Short codec name (attr 6, then 7, then 5), e.g. `TrueHD`.
    #[serde(default)]
    pub codec: Option<String>,
    /// Codec id (attr 5), e.g. `A_TRUEHD`.
    #[serde(default)]
    pub codec_id: Option<String>,
    /// Channel count (attr 14).
    #[serde(default)]
    pub channels: Option<u32>,
    /// Stream description (attr 30), e.g. `Surround 7.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Director's comments flag.
    #[serde(default, skip_serializing_if = "is_false")]
    pub commentary: bool,
    /// A core MakeMKV derives from the HD track.
    #[serde(default, skip_serializing_if = "is_false")]
    pub derived: bool,
}

/// One subtitle stream of a title.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubtitleStream {
    /// Language code (attribute 3).
    #[serde(default)]
    pub language: Option<String>,
    /// Language name (attribute 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_name: Option<String>,
    /// Short format name (attr 6, then 7, then 5), e.g. `PGS`.
    #[serde(default)]
    pub format: Option<String>,
    /// Codec id (attr 5), e.g. `S_HDMV/PGS`.
    #[serde(default)]
    pub codec_id: Option<String>,
    /// Forced subtitles only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub forced: bool,
    /// Derived by MakeMKV from a full stream.
    #[serde(default, skip_serializing_if = "is_false")]
    pub derived: bool,
}

/// One title (track) of the disc.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Track {
    /// `TINFO` index, 0-based.
    pub number: u32,
    /// Duration `H:MM:SS` (attr 9).
    #[serde(default)]
    pub duration: Option<String>,
    /// Size in bytes (attr 11).
    #[serde(default)]
    pub size_bytes: Option<u64>,
    /// Chapter count (attr 8); 0 when MakeMKV gives none.
    pub chapters: u32,
    /// Copy of `chapters` for older readers.
    pub chapter_count: u32,
    /// Video size of the first video stream, e.g. `1920x1080`.
    #[serde(default)]
    pub resolution: Option<String>,
    /// Output file name MakeMKV will use (attr 27).
    #[serde(default)]
    pub makemkv_name: Option<String>,
    /// Segment map (attr 26).
    #[serde(default)]
    pub segment_map: Option<String>,
    /// Source file, e.g. `00800.mpls` (attr 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_file: Option<String>,
    /// Title name (attr 2), when MakeMKV gives one that is not just the disc's name
    /// (the webapp names output files after it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Every audio stream, in MakeMKV's order.
    #[serde(default)]
    pub audio_streams: Vec<AudioStream>,
    /// Every subtitle stream, in MakeMKV's order.
    #[serde(default)]
    pub subtitle_streams: Vec<SubtitleStream>,
    /// What the classifier thinks this title is.
    pub classification: Classification,
    /// Confidence (meaningful on the main feature).
    pub confidence: Confidence,
    /// Main-feature score in 0..=1.
    pub score: f64,
}

/// `disc_name` when neither MakeMKV nor the drive names the disc (SPEC §6.3).
pub const UNKNOWN_DISC: &str = "Unknown disc";

/// The result of scanning a disc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanResult {
    /// Disc name: `CINFO:2`, else `CINFO:32`, else the drive's volume name, else
    /// [`UNKNOWN_DISC`]. Always a string: the webapp answers HTTP 500 on `null`.
    #[serde(default, deserialize_with = "string_or_unknown")]
    pub disc_name: String,
    /// Disc type.
    pub disc_type: DiscType,
    /// Fingerprint, when the drive layer knows it.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Titles in ascending title number (the webapp's disc page rips `track.number ||
    /// index`); `classification`, `confidence` and `score` say which is which.
    pub tracks: Vec<Track>,
}

impl ScanResult {
    /// True when no name was found for the disc.
    pub fn disc_name_unknown(&self) -> bool {
        self.disc_name == UNKNOWN_DISC
    }
}

/// A disc name as written: `null` or missing (older results) reads as [`UNKNOWN_DISC`].
fn string_or_unknown<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_else(|| UNKNOWN_DISC.to_owned()))
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_reads() {
        let r: ScanResult = serde_json::from_str(
            r#"{"disc_name":"THE_POLAR_EXPRESS","disc_type":"bluray","fingerprint":"br-1",
             "tracks":[{"number":0,"duration":"1:39:56","size_bytes":11397666816,"chapters":24,"chapter_count":24,
               "resolution":"1920x1080","makemkv_name":"title_t00.mkv","segment_map":"1",
               "audio_streams":[{"language":"eng","codec":"TrueHD","channels":6}],
               "subtitle_streams":[{"language":"eng","format":"PGS"}],
               "classification":"main_feature","confidence":"high","score":0.57}]}"#,
        )
        .unwrap();
        assert_eq!(r.disc_type, DiscType::Bluray);
        let t = &r.tracks[0];
        assert_eq!(t.classification, Classification::MainFeature);
        assert_eq!(t.audio_streams[0].channels, Some(6));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["tracks"][0]["classification"], "main_feature");
        assert!(
            v["tracks"][0]["subtitle_streams"][0]
                .get("forced")
                .is_none()
        );
    }
}
