//! Title classification (SPEC §6.3): which title is the main feature, which are alternate
//! cuts of it, and which are extras. The scan result keeps titles in ascending number (the
//! webapp's disc page rips `track.number || index`); [`ranked`] is the order a person
//! reads them in.
//!
//! Pure over [`Track`]s. Decisions use unrounded scores; the stored score is rounded to
//! two places so results compare stably across platforms.

use std::cmp::Reverse;

use amphigory_wire::scan::{Classification, Confidence, Track};

/// What MakeMKV puts in a title's name (attr 2) and output file name (attr 27) when the
/// disc's own playlist names say "main feature" (needs Java for BD-J discs).
pub const MAIN_FEATURE_MARKER: &str = "FPL_MainFeature";

const HOUR: f64 = 3600.0;
/// Duration at which the duration term saturates (2.5 h).
const LONG_FEATURE: f64 = 9000.0;
/// Chapter counts at or below this score nothing.
const FEW_CHAPTERS: u32 = 10;
/// Chapter count at which the chapter term saturates.
const MANY_CHAPTERS: u32 = 30;
/// Gap to the runner-up for high confidence.
const HIGH_GAP: f64 = 0.3;
/// Gap to the runner-up for medium confidence.
const MEDIUM_GAP: f64 = 0.15;
/// Alternates lie within this fraction of the main feature's duration…
const ALTERNATE_DURATION: f64 = 0.10;
/// …and within this fraction of its size.
const ALTERNATE_SIZE: f64 = 0.20;

/// Scores and classifies `tracks` in place (their order is left alone).
pub fn classify(tracks: &mut [Track]) {
    let scores: Vec<f64> = tracks.iter().map(score).collect();
    let main = main_feature(tracks, &scores);
    let reference = main
        .and_then(|(i, _)| tracks.get(i))
        .map(|m| (seconds(m), m.size_bytes));
    for (i, track) in tracks.iter_mut().enumerate() {
        track.score = round2(scores.get(i).copied().unwrap_or(0.0));
        track.confidence = Confidence::Low;
        track.classification = match main {
            Some((m, confidence)) if m == i => {
                track.confidence = confidence;
                Classification::MainFeature
            }
            _ if !has_streams(track) => Classification::Other,
            _ if reference.is_some_and(|r| is_alternate(track, r)) => Classification::Feature,
            _ => by_duration(seconds(track)),
        };
    }
}

/// `tracks` as a person reads them: main feature first, then alternates, then everything
/// else by duration descending (title number breaks ties).
pub fn ranked(tracks: &[Track]) -> Vec<&Track> {
    let mut ranked: Vec<&Track> = tracks.iter().collect();
    ranked.sort_by_cached_key(|t| (order(t.classification), Reverse(seconds(t)), t.number));
    ranked
}

/// The main-feature score of SPEC §6.3, in 0..=1 (unrounded).
pub fn score(track: &Track) -> f64 {
    let secs = f64::from(seconds(track));
    let duration = ((secs - HOUR) / (LONG_FEATURE - HOUR)).clamp(0.0, 1.0);
    let chapters = f64::from(track.chapters.saturating_sub(FEW_CHAPTERS))
        / f64::from(MANY_CHAPTERS - FEW_CHAPTERS);
    let mut languages: Vec<&str> = track
        .audio_streams
        .iter()
        .filter_map(|a| a.language.as_deref())
        .collect();
    languages.sort_unstable();
    languages.dedup();
    let audio = languages.len() as f64 / 3.0;
    let subtitles = track.subtitle_streams.len() as f64 / 4.0;
    0.40 * duration + 0.25 * chapters.min(1.0) + 0.20 * audio.min(1.0) + 0.15 * subtitles.min(1.0)
}

/// `H:MM:SS` (or `MM:SS`, or plain seconds) → seconds; `None` when malformed.
pub fn duration_seconds(text: &str) -> Option<u32> {
    text.trim().split(':').try_fold(0u32, |acc, part| {
        acc.checked_mul(60)?.checked_add(part.trim().parse().ok()?)
    })
}

/// The main feature's index and confidence: the marked title if any (best score among
/// several), else the best-scoring title over an hour or with more than 10 chapters. The
/// runner-up is the next-best candidate, 0 when there is none.
fn main_feature(tracks: &[Track], scores: &[f64]) -> Option<(usize, Confidence)> {
    let candidates = |pick: fn(&Track) -> bool| {
        tracks
            .iter()
            .zip(scores)
            .enumerate()
            .filter(move |(_, (t, _))| pick(t))
            .map(|(i, (_, s))| (i, *s))
    };
    if let Some((i, _, _)) = best_of(candidates(is_marked)) {
        return Some((i, Confidence::High));
    }
    let (i, best, runner_up) = best_of(candidates(is_long))?;
    let gap = best - runner_up;
    let confidence = if gap > HIGH_GAP {
        Confidence::High
    } else if gap > MEDIUM_GAP {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    Some((i, confidence))
}

/// (index of the best, best score, runner-up score); the first title wins a tie.
fn best_of(scored: impl Iterator<Item = (usize, f64)>) -> Option<(usize, f64, f64)> {
    let mut best: Option<(usize, f64)> = None;
    let mut runner_up = 0.0_f64;
    for (i, s) in scored {
        match best {
            Some((_, b)) if s <= b => runner_up = runner_up.max(s),
            _ => {
                if let Some((_, b)) = best {
                    runner_up = runner_up.max(b);
                }
                best = Some((i, s));
            }
        }
    }
    best.map(|(i, b)| (i, b, runner_up))
}

fn is_marked(t: &Track) -> bool {
    [&t.name, &t.makemkv_name]
        .into_iter()
        .flatten()
        .any(|v| v.contains(MAIN_FEATURE_MARKER))
}

fn is_long(t: &Track) -> bool {
    f64::from(seconds(t)) > HOUR || t.chapters > FEW_CHAPTERS
}

/// A title with neither video, audio nor subtitles is a stub, whatever its length. The
/// video stream is known by its resolution, the only video fact a track keeps.
fn has_streams(t: &Track) -> bool {
    t.resolution.is_some() || !t.audio_streams.is_empty() || !t.subtitle_streams.is_empty()
}

/// Within 10 % of the main feature's duration and 20 % of its size; a size MakeMKV did
/// not give cannot rule a title out.
fn is_alternate(t: &Track, (main_secs, main_size): (u32, Option<u64>)) -> bool {
    let near = |value: f64, reference: f64, tolerance: f64| {
        (value - reference).abs() <= reference * tolerance
    };
    let duration_ok = near(
        f64::from(seconds(t)),
        f64::from(main_secs),
        ALTERNATE_DURATION,
    );
    let size_ok = match (t.size_bytes, main_size) {
        // Sizes fit f64 well enough for a 20 % comparison.
        (Some(s), Some(m)) => near(s as f64, m as f64, ALTERNATE_SIZE),
        _ => true,
    };
    main_secs > 0 && duration_ok && size_ok
}

fn by_duration(secs: u32) -> Classification {
    match secs {
        0..90 => Classification::Other,
        90..=150 => Classification::Trailers,
        151..=300 => Classification::DeletedScenes,
        _ => Classification::Featurettes,
    }
}

fn order(c: Classification) -> u8 {
    match c {
        Classification::MainFeature => 0,
        Classification::Feature => 1,
        _ => 2,
    }
}

fn seconds(t: &Track) -> u32 {
    t.duration
        .as_deref()
        .and_then(duration_seconds)
        .unwrap_or(0)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use amphigory_wire::scan::{AudioStream, SubtitleStream};

    fn track(number: u32, duration: &str, size: u64, chapters: u32) -> Track {
        Track {
            number,
            duration: Some(duration.to_owned()),
            size_bytes: Some(size),
            chapters,
            chapter_count: chapters,
            resolution: Some("1920x1080".to_owned()),
            audio_streams: vec![audio("eng")],
            ..Track::default()
        }
    }

    fn audio(language: &str) -> AudioStream {
        AudioStream {
            language: Some(language.to_owned()),
            ..AudioStream::default()
        }
    }

    fn subtitles(n: usize) -> Vec<SubtitleStream> {
        vec![SubtitleStream::default(); n]
    }

    fn classes(tracks: &[Track]) -> Vec<(u32, Classification)> {
        tracks
            .iter()
            .map(|t| (t.number, t.classification))
            .collect()
    }

    #[test]
    fn score_follows_the_formula() {
        // The spec example: 1:39:56, 24 chapters, one audio language, 8 subtitle streams.
        let mut t = track(0, "1:39:56", 11_397_666_816, 24);
        t.subtitle_streams = subtitles(8);
        assert!((score(&t) - 0.5692).abs() < 1e-3, "{}", score(&t));
        let mut full = track(1, "3:00:00", 1, 40);
        full.audio_streams = ["eng", "fra", "spa", "deu"].map(audio).to_vec();
        full.subtitle_streams = subtitles(5);
        assert!((score(&full) - 1.0).abs() < 1e-9);
        let short = track(2, "0:59:59", 1, 10);
        assert!((score(&short) - 0.2 / 3.0).abs() < 1e-9);
        let mut tracks = vec![t];
        classify(&mut tracks);
        assert_eq!(tracks[0].score, 0.57);
    }

    #[test]
    fn the_marked_title_wins_with_high_confidence() {
        let mut marked = track(3, "0:40:00", 5_000, 4);
        marked.name = Some("Movie-FPL_MainFeature".to_owned());
        let mut tracks = vec![track(0, "2:00:00", 9_000, 30), marked];
        classify(&mut tracks);
        let main = ranked(&tracks)[0];
        assert_eq!(main.number, 3);
        assert_eq!(main.classification, Classification::MainFeature);
        assert_eq!(main.confidence, Confidence::High);
        let mut by_file = track(5, "0:40:00", 5_000, 4);
        by_file.makemkv_name = Some("Movie-FPL_MainFeature_t05.mkv".to_owned());
        let mut tracks = vec![track(0, "2:00:00", 9_000, 30), by_file];
        classify(&mut tracks);
        assert_eq!(ranked(&tracks)[0].number, 5);
    }

    #[test]
    fn only_long_or_chaptered_titles_can_be_main() {
        let mut rich = track(0, "0:50:00", 100, 10);
        rich.audio_streams = ["eng", "fra", "spa"].map(audio).to_vec();
        rich.subtitle_streams = subtitles(6);
        let mut tracks = vec![rich.clone(), track(1, "1:00:01", 100, 2)];
        classify(&mut tracks);
        assert_eq!(classes(&tracks)[1], (1, Classification::MainFeature));
        let mut tracks = vec![rich.clone(), track(1, "0:20:00", 100, 11)];
        classify(&mut tracks);
        assert_eq!(classes(&tracks)[1], (1, Classification::MainFeature));
        let mut tracks = vec![rich, track(1, "0:20:00", 100, 10)];
        classify(&mut tracks);
        assert!(
            tracks
                .iter()
                .all(|t| t.classification == Classification::Featurettes)
        );
    }

    #[test]
    fn confidence_follows_the_gap_to_the_runner_up() {
        let confidence_of = |tracks: &mut Vec<Track>| {
            classify(tracks);
            tracks[0].confidence
        };
        // Alone: gap = its own score. 2:30 and 30 chapters = 0.65 + audio 0.0667.
        assert_eq!(
            confidence_of(&mut vec![track(0, "2:30:00", 1, 30)]),
            Confidence::High
        );
        // 0.40 + 0.25 + 0.067 vs 0.40 (2:30, 10 chapters) + 0.067: gap 0.25.
        let mut pair = vec![track(0, "2:30:00", 1, 30), track(1, "2:30:00", 10_000, 10)];
        assert_eq!(confidence_of(&mut pair), Confidence::Medium);
        // Gap 0.125 (20 vs 30 chapters).
        let mut close = vec![track(0, "2:30:00", 1, 30), track(1, "2:30:00", 10_000, 20)];
        assert_eq!(confidence_of(&mut close), Confidence::Low);
        assert!(close[1..].iter().all(|t| t.confidence == Confidence::Low));
    }

    #[test]
    fn alternates_are_near_in_duration_and_size() {
        let mut tracks = vec![
            track(0, "2:00:00", 10_000, 30),
            track(1, "1:50:00", 8_100, 12), // -8.3 %, -19 %: alternate
            track(2, "2:11:00", 10_000, 12), // +9.2 %: alternate
            track(3, "1:47:00", 10_000, 12), // -10.8 %: not
            track(4, "1:55:00", 7_900, 12), // size -21 %: not
        ];
        classify(&mut tracks);
        assert_eq!(
            classes(&tracks),
            vec![
                (0, Classification::MainFeature),
                (1, Classification::Feature),
                (2, Classification::Feature),
                (3, Classification::Featurettes),
                (4, Classification::Featurettes),
            ]
        );
    }

    #[test]
    fn extras_are_bucketed_by_duration() {
        let cases = [
            ("0:01:29", Classification::Other),
            ("0:01:30", Classification::Trailers),
            ("0:02:30", Classification::Trailers),
            ("0:02:31", Classification::DeletedScenes),
            ("0:05:00", Classification::DeletedScenes),
            ("0:05:01", Classification::Featurettes),
        ];
        for (duration, expected) in cases {
            let mut tracks = vec![track(0, duration, 1, 1)];
            classify(&mut tracks);
            assert_eq!(tracks[0].classification, expected, "{duration}");
        }
    }

    #[test]
    fn titles_without_streams_are_other() {
        let mut empty = track(1, "0:30:00", 1, 1);
        empty.resolution = None;
        empty.audio_streams.clear();
        let mut tracks = vec![track(0, "2:00:00", 10_000, 30), empty];
        classify(&mut tracks);
        assert_eq!(tracks[1].classification, Classification::Other);
    }

    #[test]
    fn ranking_is_main_alternates_then_duration_descending() {
        let mut tracks = vec![
            track(0, "0:03:00", 1, 1),
            track(1, "0:10:00", 1, 1),
            track(2, "1:58:00", 9_900, 20),
            track(3, "2:00:00", 10_000, 30),
            track(4, "0:10:00", 1, 1),
        ];
        classify(&mut tracks);
        let numbers: Vec<u32> = tracks.iter().map(|t| t.number).collect();
        assert_eq!(numbers, vec![0, 1, 2, 3, 4], "classifying reorders nothing");
        let ranked: Vec<u32> = ranked(&tracks).iter().map(|t| t.number).collect();
        assert_eq!(ranked, vec![3, 2, 1, 4, 0]);
    }

    #[test]
    fn durations_parse_leniently() {
        assert_eq!(duration_seconds("1:39:56"), Some(5996));
        assert_eq!(duration_seconds("0:02"), Some(2));
        assert_eq!(duration_seconds("x"), None);
        assert_eq!(duration_seconds("99999999:00:00"), None);
    }
}
