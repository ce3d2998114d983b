#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The scan assembler against every real `makemkvcon` capture in the shared fixtures.
//! Expected values were read from the captures by hand, not produced by the parser.

mod support;

use amphigory::makemkv::robot::parse_line;
use amphigory::makemkv::scan::{ScanAssembler, ScanFailure, ScanFailureKind, parse_scan_bytes};
use amphigory_wire::ErrorCode;
use amphigory_wire::scan::{Classification, Confidence, DiscType, ScanResult, Track};

/// Every capture, so a new one cannot slip in untested.
const CAPTURES: [&str; 13] = [
    "bluray-deadpool-info-windows-crlf.txt",
    "bluray-demo-movie-108-titles-info-macos.txt",
    "bluray-howls-moving-castle-rip-progress.txt",
    "bluray-logical-volume-id-info-macos.txt",
    "bluray-the-office-s4d1-info-partial-with-hsh.txt",
    "drives-five-no-source-usage-linux.txt",
    "dvd-csi-season1-disc1-info-windows.txt",
    "dvd-dime-ntsc-info-angles-linux-v1.8.3.txt",
    "error-dvd-region-mismatch-failed-to-open.txt",
    "error-no-drives-failed-to-open-linux.txt",
    "error-no-drives-version-too-old-linux.txt",
    "error-scrambled-sector-failed-to-open-windows.txt",
    "uhd-real-life-criterion-info-partial-with-hsh.txt",
];

fn load(name: &str) -> Option<Vec<u8>> {
    support::shared_fixture(&format!("makemkv/{name}")).map(|p| std::fs::read(p).unwrap())
}

fn scan(name: &str) -> Option<ScanResult> {
    let bytes = load(name)?;
    Some(parse_scan_bytes(&bytes).unwrap_or_else(|f| panic!("{name}: {f:?}")))
}

fn failure(name: &str) -> Option<ScanFailure> {
    let bytes = load(name)?;
    match parse_scan_bytes(&bytes) {
        Err(f) => Some(f),
        Ok(r) => panic!("{name} scanned: {r:?}"),
    }
}

fn assembled(name: &str) -> Option<ScanAssembler> {
    let bytes = load(name)?;
    let mut a = ScanAssembler::new();
    for line in String::from_utf8_lossy(&bytes).lines() {
        a.push_line(line);
    }
    Some(a)
}

/// What one title should look like; streams as (language, codec or format, channels).
struct Expect<'a> {
    number: u32,
    duration: &'a str,
    size: u64,
    chapters: u32,
    resolution: &'a str,
    audio: &'a [(&'a str, &'a str, u32)],
    subtitles: &'a [(&'a str, &'a str)],
}

fn title(r: &ScanResult, number: u32) -> &Track {
    r.tracks.iter().find(|t| t.number == number).unwrap()
}

fn check(r: &ScanResult, e: &Expect<'_>) {
    let t = title(r, e.number);
    let n = e.number;
    assert_eq!(t.duration.as_deref(), Some(e.duration), "title {n}");
    assert_eq!(t.size_bytes, Some(e.size), "title {n}");
    assert_eq!(
        (t.chapters, t.chapter_count),
        (e.chapters, e.chapters),
        "title {n}"
    );
    assert_eq!(t.resolution.as_deref(), Some(e.resolution), "title {n}");
    let audio: Vec<(&str, &str, u32)> = t
        .audio_streams
        .iter()
        .map(|a| {
            (
                a.language.as_deref().unwrap(),
                a.codec.as_deref().unwrap(),
                a.channels.unwrap(),
            )
        })
        .collect();
    assert_eq!(audio, e.audio, "title {n}");
    let subtitles: Vec<(&str, &str)> = t
        .subtitle_streams
        .iter()
        .map(|s| (s.language.as_deref().unwrap(), s.format.as_deref().unwrap()))
        .collect();
    assert_eq!(subtitles, e.subtitles, "title {n}");
}

/// Title numbers as a person reads them (main feature first…). The result itself lists
/// them by number, which this checks on every capture it is asked about.
fn numbers(r: &ScanResult) -> Vec<u32> {
    let listed: Vec<u32> = r.tracks.iter().map(|t| t.number).collect();
    assert!(
        listed.is_sorted(),
        "tracks must be in title order: {listed:?}"
    );
    ranked(r).iter().map(|t| t.number).collect()
}

/// The tracks ranked (see [`numbers`]).
fn ranked(r: &ScanResult) -> Vec<&Track> {
    amphigory::makemkv::classify::ranked(&r.tracks)
}

const PGS: &str = "PGS";

#[test]
fn every_capture_has_a_test() {
    let Some(path) = support::shared_fixture("makemkv/SOURCES.md") else {
        return;
    };
    let mut found: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    found.sort();
    assert_eq!(found, CAPTURES);
}

/// `parse_scan` skips attributes it does not use before parsing them; pushing every
/// parsed record instead must give the same answer.
#[test]
fn skipping_unused_attributes_changes_nothing() {
    for name in CAPTURES {
        let Some(bytes) = load(name) else {
            return;
        };
        let mut full = ScanAssembler::new();
        for line in String::from_utf8_lossy(&bytes).split('\n') {
            if let Some(record) = parse_line(line) {
                full.push(&record);
            }
        }
        assert_eq!(parse_scan_bytes(&bytes), full.finish(), "{name}");
    }
}

#[test]
fn bluray_logical_volume_id_is_the_polar_express() {
    let Some(r) = scan("bluray-logical-volume-id-info-macos.txt") else {
        return;
    };
    assert_eq!(r.disc_type, DiscType::Bluray);
    assert_eq!(r.disc_name, "LOGICAL_VOLUME_ID");
    assert_eq!(r.tracks.len(), 16);
    let subs = [("eng", PGS); 4]
        .into_iter()
        .chain([("fra", PGS); 2])
        .chain([("spa", PGS); 2])
        .collect::<Vec<_>>();
    check(
        &r,
        &Expect {
            number: 0,
            duration: "1:39:56",
            size: 11_397_666_816,
            chapters: 24,
            resolution: "1920x1080",
            audio: &[("eng", "DD", 6)],
            subtitles: &subs,
        },
    );
    check(
        &r,
        &Expect {
            number: 1,
            duration: "0:13:32",
            size: 605_829_120,
            chapters: 6,
            resolution: "720x480",
            audio: &[("eng", "DD", 2)],
            subtitles: &subs,
        },
    );
    let main = ranked(&r)[0];
    assert_eq!(main.number, 0);
    assert_eq!(main.classification, Classification::MainFeature);
    assert_eq!(main.confidence, Confidence::High);
    assert_eq!(main.score, 0.57);
    assert_eq!(main.makemkv_name.as_deref(), Some("title_t00.mkv"));
    assert_eq!(main.source_file.as_deref(), Some("00000.mpls"));
    assert_eq!(main.segment_map.as_deref(), Some("0"));
    let forced: Vec<bool> = main.subtitle_streams.iter().map(|s| s.forced).collect();
    assert_eq!(forced, [false, true, false, true, false, true, false, true]);
    assert_eq!(main.audio_streams[0].codec_id.as_deref(), Some("A_AC3"));
    // Title 3 has no attribute 8; 4:11 of extras.
    assert_eq!(title(&r, 3).chapters, 0);
    assert_eq!(title(&r, 3).classification, Classification::DeletedScenes);
    assert_eq!(title(&r, 1).classification, Classification::Featurettes);
    assert_eq!(title(&r, 6).classification, Classification::Trailers);
}

#[test]
fn bluray_deadpool_crlf() {
    let Some(r) = scan("bluray-deadpool-info-windows-crlf.txt") else {
        return;
    };
    assert_eq!(r.disc_type, DiscType::Bluray);
    assert_eq!(r.disc_name, "Deadpool");
    assert_eq!(r.tracks.len(), 27);
    // The webapp rips `track.number || index`: title 0 must sit at index 0 (ranked, it
    // would be 24th), and MakeMKV's "Deadpool" on every title must not name every file.
    let listed: Vec<u32> = r.tracks.iter().map(|t| t.number).collect();
    assert_eq!(listed, (0..27).collect::<Vec<u32>>());
    assert!(r.tracks.iter().all(|t| t.name.is_none()));
    let hd = [("eng", "DTS-HD MA", 8), ("eng", "DTS", 6)];
    let six_subs = [
        ("eng", PGS),
        ("eng", PGS),
        ("spa", PGS),
        ("spa", PGS),
        ("fra", PGS),
        ("fra", PGS),
    ];
    let main_audio: Vec<_> = hd
        .into_iter()
        .chain([
            ("eng", "DD", 6),
            ("spa", "DD", 6),
            ("fra", "DD", 6),
            ("eng", "DD", 2),
            ("eng", "DD", 2),
        ])
        .collect();
    let main_subs: Vec<_> = six_subs
        .repeat(3)
        .into_iter()
        .chain([("eng", PGS); 2])
        .collect();
    check(
        &r,
        &Expect {
            number: 1,
            duration: "1:48:06",
            size: 26_686_691_328,
            chapters: 28,
            resolution: "1920x1080",
            audio: &main_audio,
            subtitles: &main_subs,
        },
    );
    check(
        &r,
        &Expect {
            number: 0,
            duration: "0:02:40",
            size: 871_348_224,
            chapters: 3,
            resolution: "1920x1080",
            audio: &hd,
            subtitles: &[],
        },
    );
    let main = ranked(&r)[0];
    assert_eq!(
        (main.number, main.classification),
        (1, Classification::MainFeature)
    );
    // 2304 = core split off the HD track; 1024 = "has a core", not derived.
    let derived: Vec<bool> = main.audio_streams.iter().map(|a| a.derived).collect();
    assert_eq!(derived[..3], [false, true, false]);
    assert_eq!(title(&r, 12).source_file.as_deref(), Some("00335.mpls(2)"));
    assert_eq!(title(&r, 6).classification, Classification::Featurettes);
}

#[test]
fn bluray_demo_movie_with_angles() {
    let Some(r) = scan("bluray-demo-movie-108-titles-info-macos.txt") else {
        return;
    };
    assert_eq!(r.disc_type, DiscType::Bluray);
    assert_eq!(r.disc_name, "Demo Movie");
    assert_eq!(r.tracks.len(), 108);
    let subs: Vec<_> = [("eng", PGS), ("eng", PGS)]
        .into_iter()
        .chain([("fra", PGS), ("fra", PGS), ("spa", PGS), ("spa", PGS)].repeat(2))
        .collect();
    check(
        &r,
        &Expect {
            number: 4,
            duration: "1:47:28",
            size: 25_003_229_184,
            chapters: 20,
            resolution: "1920x1080",
            audio: &[
                ("eng", "TrueHD", 6),
                ("eng", "DD", 6),
                ("eng", "DD", 6),
                ("fra", "DD", 6),
                ("spa", "DD", 6),
            ],
            subtitles: &subs,
        },
    );
    check(
        &r,
        &Expect {
            number: 5,
            duration: "1:47:37",
            size: 24_949_125_120,
            chapters: 1,
            resolution: "1920x1080",
            audio: &[("eng", "DD", 6)],
            subtitles: &[("eng", PGS), ("eng", PGS)],
        },
    );
    check(
        &r,
        &Expect {
            number: 2,
            duration: "0:11:07",
            size: 2_381_273_088,
            chapters: 9,
            resolution: "1920x1080",
            audio: &[("eng", "DD", 6)],
            subtitles: &[],
        },
    );
    // The angle titles are alternates of the feature.
    assert_eq!(numbers(&r)[..4], [4, 5, 6, 7]);
    let classes: Vec<_> = ranked(&r)[..4].iter().map(|t| t.classification).collect();
    assert_eq!(classes[0], Classification::MainFeature);
    assert!(classes[1..].iter().all(|c| *c == Classification::Feature));
    assert_eq!(ranked(&r)[0].confidence, Confidence::High);
}

#[test]
fn bluray_the_office_partial_capture_without_messages() {
    let Some(r) = scan("bluray-the-office-s4d1-info-partial-with-hsh.txt") else {
        return;
    };
    assert_eq!(r.disc_type, DiscType::Bluray);
    assert_eq!(r.disc_name, "THE OFFICE S4D1");
    assert_eq!(r.tracks.len(), 10);
    let episode = Expect {
        number: 0,
        duration: "0:42:03",
        size: 10_347_927_552,
        chapters: 5,
        resolution: "1920x1080",
        audio: &[("eng", "DTS-HD MA", 6), ("eng", "DTS", 6)],
        subtitles: &[("eng", PGS), ("eng", PGS)],
    };
    check(&r, &episode);
    check(
        &r,
        &Expect {
            number: 1,
            duration: "0:42:01",
            size: 10_334_693_376,
            ..episode
        },
    );
    // A TV disc: no title is long enough to be a feature.
    assert!(
        r.tracks
            .iter()
            .all(|t| t.classification != Classification::MainFeature)
    );
    assert_eq!(numbers(&r)[..3], [0, 1, 3]);
    assert_eq!(title(&r, 0).classification, Classification::Featurettes);
}

#[test]
fn uhd_real_life_partial_capture() {
    let Some(r) = scan("uhd-real-life-criterion-info-partial-with-hsh.txt") else {
        return;
    };
    assert_eq!(r.disc_type, DiscType::Uhd);
    assert_eq!(r.disc_name, "REAL LIFE");
    assert_eq!(r.tracks.len(), 4);
    check(
        &r,
        &Expect {
            number: 1,
            duration: "1:38:57",
            size: 63_096_999_936,
            chapters: 17,
            resolution: "3840x2160",
            audio: &[("eng", "LPCM", 1)],
            subtitles: &[("eng", PGS), ("eng", PGS)],
        },
    );
    check(
        &r,
        &Expect {
            number: 0,
            duration: "0:04:58",
            size: 2_738_073_600,
            chapters: 1,
            resolution: "3840x2160",
            audio: &[("eng", "DD", 1)],
            subtitles: &[],
        },
    );
    assert_eq!(numbers(&r), [1, 0, 3, 2]);
    assert_eq!(ranked(&r)[0].classification, Classification::MainFeature);
    assert_eq!(title(&r, 2).chapters, 0);
    assert_eq!(
        title(&r, 1).audio_streams[0].codec_id.as_deref(),
        Some("A_PCM/INT/LIT")
    );
}

#[test]
fn dvd_dime_with_angles_and_old_names() {
    let Some(r) = scan("dvd-dime-ntsc-info-angles-linux-v1.8.3.txt") else {
        return;
    };
    assert_eq!(r.disc_type, DiscType::Dvd);
    assert_eq!(r.disc_name, "DIME_NTSC");
    assert_eq!(r.tracks.len(), 12);
    // DVD subtitles have no short name: the long one stands in.
    check(
        &r,
        &Expect {
            number: 0,
            duration: "1:46:52",
            size: 4_958_869_504,
            chapters: 24,
            resolution: "720x480",
            audio: &[("eng", "DD", 6), ("eng", "DTS", 6)],
            subtitles: &[("eng", "Dvd Subtitles"), ("spa", "Dvd Subtitles")],
        },
    );
    check(
        &r,
        &Expect {
            number: 1,
            duration: "0:02:02",
            size: 80_244_736,
            chapters: 3,
            resolution: "720x480",
            audio: &[("eng", "DD", 2)],
            subtitles: &[],
        },
    );
    assert_eq!(r.tracks[0].number, 0);
    assert_eq!(r.tracks[0].classification, Classification::MainFeature);
    assert_eq!(
        r.tracks[0].subtitle_streams[0].codec_id.as_deref(),
        Some("S_VOBSUB")
    );
    assert_eq!(r.tracks[0].makemkv_name.as_deref(), Some("title00.mkv"));
    assert_eq!(title(&r, 1).classification, Classification::Trailers);
}

#[test]
fn dvd_csi_with_comma_in_the_disc_name() {
    let Some(r) = scan("dvd-csi-season1-disc1-info-windows.txt") else {
        return;
    };
    assert_eq!(r.disc_type, DiscType::Dvd);
    assert_eq!(r.disc_name, "CSI: Season 1, Disc 1");
    assert_eq!(r.tracks.len(), 4);
    let episode = Expect {
        number: 0,
        duration: "0:45:08",
        size: 1_992_210_432,
        chapters: 6,
        resolution: "720x480",
        audio: &[("eng", "DD", 2), ("spa", "DD", 2)],
        subtitles: &[("eng", "CC")],
    };
    check(&r, &episode);
    check(
        &r,
        &Expect {
            number: 3,
            duration: "0:44:26",
            size: 2_022_735_872,
            ..episode
        },
    );
    assert_eq!(
        r.tracks[0].makemkv_name.as_deref(),
        Some("CSI- Season 1, Disc 1_t00.mkv")
    );
    assert_eq!(r.tracks[0].segment_map.as_deref(), Some("1-6"));
    assert_eq!(numbers(&r), [0, 3, 1, 2]);
}

#[test]
fn rip_progress_capture_reads_drives_and_messages() {
    let Some(a) = assembled("bluray-howls-moving-castle-rip-progress.txt") else {
        return;
    };
    let d = &a.drives()[0];
    assert!(d.has_disc());
    assert_eq!(
        (d.flags, d.disc_name.as_str(), d.device.as_str()),
        (12, "HOWLS MOVING CASTLE", "/dev/sr0")
    );
    assert_eq!(a.drives().len(), 16);
    let last = a.recent_messages().last().unwrap();
    assert_eq!(
        (last.code, last.text.as_str()),
        (5036, "Copy complete. 1 titles saved.")
    );
    assert_eq!(a.failure_kind(), None);
    // An `mkv` run lists no titles: as a scan it is not one.
    assert_eq!(a.finish().unwrap_err().kind, ScanFailureKind::NoListing);
}

#[test]
fn region_mismatch_is_unreadable_and_not_worth_a_retry() {
    let Some(f) = failure("error-dvd-region-mismatch-failed-to-open.txt") else {
        return;
    };
    assert_eq!(
        (f.kind, f.code),
        (ScanFailureKind::RegionLocked, ErrorCode::DiscUnreadable)
    );
    let detail = f.detail.unwrap();
    assert!(detail.ends_with("[5010] Failed to open disc"), "{detail}");
    assert_eq!(detail.lines().count(), 10);
    let a = assembled("error-dvd-region-mismatch-failed-to-open.txt").unwrap();
    assert_eq!(a.drives()[0].disc_name, "TRANFORMERS");
    assert_eq!(a.title_count(), Some(0));
}

#[test]
fn scrambled_sector_drive_listing_is_an_open_failure() {
    let Some(f) = failure("error-scrambled-sector-failed-to-open-windows.txt") else {
        return;
    };
    // The 2003 scrambled-sector errors are noise; 5010 decides.
    assert_eq!(
        (f.kind, f.code),
        (ScanFailureKind::OpenFailed, ErrorCode::DiscUnreadable)
    );
    let a = assembled("error-scrambled-sector-failed-to-open-windows.txt").unwrap();
    let with_disc: Vec<_> = a.drives().into_iter().filter(|d| d.has_disc()).collect();
    assert_eq!(with_disc.len(), 1);
    assert_eq!(
        (with_disc[0].index, with_disc[0].device.as_str()),
        (0, "E:")
    );
    assert_eq!(with_disc[0].disc_name, "DVD_VIDEO");
}

#[test]
fn no_drives_at_all() {
    let Some(f) = failure("error-no-drives-failed-to-open-linux.txt") else {
        return;
    };
    assert_eq!(
        (f.kind, f.code),
        (ScanFailureKind::NoDrives, ErrorCode::DiscUnreadable)
    );
    let a = assembled("error-no-drives-failed-to-open-linux.txt").unwrap();
    assert_eq!(a.drives().len(), 16);
    assert!(a.drives().iter().all(|d| !d.is_present()));
}

#[test]
fn version_too_old_asks_for_a_key() {
    let Some(f) = failure("error-no-drives-version-too-old-linux.txt") else {
        return;
    };
    // 5042 comes first, but nothing works until the key is fixed.
    assert_eq!(
        (f.kind, f.code),
        (ScanFailureKind::Refused, ErrorCode::MakemkvFailed)
    );
    assert!(f.message.contains("key"), "{}", f.message);
    assert!(
        f.detail
            .unwrap()
            .contains("[5021] This application version is too old.")
    );
}

#[test]
fn five_drives_without_a_source_print_usage() {
    let Some(f) = failure("drives-five-no-source-usage-linux.txt") else {
        return;
    };
    assert_eq!(
        (f.kind, f.code),
        (ScanFailureKind::NoListing, ErrorCode::MakemkvFailed)
    );
    let a = assembled("drives-five-no-source-usage-linux.txt").unwrap();
    let present: Vec<_> = a.drives().into_iter().filter(|d| d.is_present()).collect();
    assert_eq!(present.len(), 5);
    let loaded: Vec<_> = present.iter().filter(|d| d.has_disc()).collect();
    assert_eq!(loaded.len(), 1);
    assert_eq!(
        (
            loaded[0].index,
            loaded[0].flags,
            loaded[0].disc_name.as_str(),
            loaded[0].device.as_str()
        ),
        (4, 12, "THE_UNIVERSE_3D", "/dev/sr0")
    );
}
