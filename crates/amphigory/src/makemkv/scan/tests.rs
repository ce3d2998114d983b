//! Unit tests of the scan assembler.

use super::*;
use amphigory_wire::TaskError;
use amphigory_wire::scan::Classification;

const OK: &str =
    r#"MSG:5011,0,0,"Operation successfully completed","Operation successfully completed""#;

fn scan(lines: &[&str]) -> Result<ScanResult, ScanFailure> {
    parse_scan(&lines.join("\n"))
}

fn failure(lines: &[&str]) -> ScanFailure {
    match scan(lines) {
        Err(f) => f,
        Ok(r) => panic!("scanned: {r:?}"),
    }
}

#[test]
fn streams_are_grouped_by_index_not_by_position() {
    let r = scan(&[
        "TCOUNT:1",
        r#"CINFO:1,6209,"Blu-ray disc""#,
        r#"CINFO:32,0,"VOLUME""#,
        r#"TINFO:0,9,0,"1:39:56""#,
        r#"SINFO:0,2,1,6203,"Subtitles""#,
        r#"SINFO:0,1,1,6202,"Audio""#,
        r#"SINFO:0,2,3,0,"fre""#,
        r#"SINFO:0,1,3,0,"eng""#,
        r#"SINFO:0,1,6,0,"""#,
        r#"SINFO:0,1,7,0,"Dolby TrueHD""#,
        r#"SINFO:0,1,13,0,"640 Kb/s""#,
        r#"SINFO:0,1,14,0,"8""#,
        r#"SINFO:0,1,22,0,"1""#,
        r#"SINFO:0,2,5,0,"S_VOBSUB""#,
        r#"SINFO:0,2,22,0,"6144""#,
        r#"SINFO:0,0,1,6201,"Video""#,
        r#"SINFO:0,0,19,0,"1920x1080""#,
        "HSH:0,x,y,1",
        r#"TINFO:0,99,0,"unknown attribute""#,
    ])
    .unwrap();
    assert_eq!(r.disc_type, DiscType::Bluray);
    assert_eq!(r.disc_name, "VOLUME");
    let t = &r.tracks[0];
    assert_eq!((t.chapters, t.chapter_count), (0, 0));
    assert_eq!(t.resolution.as_deref(), Some("1920x1080"));
    let a = &t.audio_streams[0];
    assert_eq!(a.language.as_deref(), Some("eng"));
    assert_eq!(a.codec.as_deref(), Some("Dolby TrueHD"));
    assert_eq!(
        (a.channels, a.commentary, a.derived),
        (Some(8), true, false)
    );
    let s = &t.subtitle_streams[0];
    assert_eq!(s.language.as_deref(), Some("fre"));
    assert_eq!(s.format.as_deref(), Some("S_VOBSUB"));
    assert_eq!((s.forced, s.derived), (true, true));
}

#[test]
fn wide_video_makes_uhd_and_cinfo_2_names_the_disc() {
    let r = scan(&[
        r#"CINFO:1,6209,"Blu-ray disc""#,
        r#"CINFO:2,0,"Name""#,
        r#"CINFO:32,0,"VOLUME""#,
        r#"SINFO:0,0,1,6201,"Video""#,
        r#"SINFO:0,0,19,0,"3840x2160""#,
    ])
    .unwrap();
    assert_eq!((r.disc_type, r.disc_name.as_str()), (DiscType::Uhd, "Name"));
    assert_eq!(r.tracks[0].classification, Classification::Other);
}

#[test]
fn success_needs_5011_once_messages_appear() {
    let title = r#"TINFO:0,9,0,"0:20:00""#;
    assert!(scan(&["TCOUNT:1", title]).is_ok());
    assert!(scan(&[OK, "TCOUNT:1", title]).is_ok());
    assert_eq!(failure(&[OK, title]).kind, ScanFailureKind::Incomplete);
    let f = failure(&[
        r#"MSG:1005,0,1,"started","%1 started","x""#,
        "TCOUNT:1",
        title,
    ]);
    assert_eq!(
        (f.kind, f.code),
        (ScanFailureKind::Incomplete, ErrorCode::MakemkvFailed)
    );
    assert_eq!(f.detail.as_deref(), Some("[1005] started"));
    assert_eq!(failure(&[OK, "TCOUNT:0"]).kind, ScanFailureKind::NoTitles);
    assert_eq!(
        failure(&[OK, "Use: makemkvcon"]).kind,
        ScanFailureKind::NoListing
    );
}

#[test]
fn the_most_telling_failure_wins() {
    let open = r#"MSG:5010,0,0,"Failed to open disc","Failed to open disc""#;
    let region = r#"MSG:3031,0,1,"Drive has RPC protection","x","y""#;
    let old = r#"MSG:5021,131332,1,"This application version is too old.","x","y""#;
    let none = r#"MSG:5042,0,0,"No usable optical drives.","x""#;
    let drive = r#"DRV:0,2,999,1,"BD","DVD_VIDEO","E:""#;
    let f = failure(&[drive, open, "TCOUNT:0"]);
    assert_eq!(
        (f.kind, f.code),
        (ScanFailureKind::OpenFailed, ErrorCode::DiscUnreadable)
    );
    assert_eq!(
        failure(&[drive, region, open]).kind,
        ScanFailureKind::RegionLocked
    );
    let f = failure(&[none, old]);
    assert_eq!(
        (f.kind, f.code),
        (ScanFailureKind::Refused, ErrorCode::MakemkvFailed)
    );
    assert!(f.message.contains("key"), "{}", f.message);
    let f = failure(&[r#"DRV:0,256,999,0,"","","""#, open]);
    assert_eq!(
        (f.kind, f.code),
        (ScanFailureKind::NoDrives, ErrorCode::DiscUnreadable)
    );
    // A fatal message fails even a scan that listed titles.
    assert!(scan(&[region, "TCOUNT:1", r#"TINFO:0,9,0,"1:00:00""#, OK]).is_err());
    let task: TaskError = f.into();
    assert_eq!(task.code, ErrorCode::DiscUnreadable);
}

#[test]
fn case8b_read_errors_fail_a_scan_unless_they_come_during_the_drive_scan() {
    let medium = r#"MSG:2003,0,3,"Error 'Scsi error - MEDIUM ERROR:L-EC UNCORRECTABLE ERROR' occurred while reading '/BDMV/index.bdmv' at offset '0'","Error '%1' occurred while reading '%2' at offset '%3'","Scsi error - MEDIUM ERROR:L-EC UNCORRECTABLE ERROR","/BDMV/index.bdmv","0""#;
    let titles = ["TCOUNT:1", r#"TINFO:0,9,0,"1:39:56""#, OK];
    let drive_scan = r#"PRGT:5018,0,"Scanning CD-ROM devices""#;
    let opening = r#"PRGT:3404,0,"Opening Blu-ray disc""#;
    let mut lines = vec![drive_scan, medium, opening];
    lines.extend(titles);
    assert!(
        scan(&lines).is_ok(),
        "another drive's disc, during the drive scan"
    );
    for lines in [
        [&[drive_scan, opening, medium][..], &titles].concat(),
        [&[medium][..], &titles].concat(),
    ] {
        let f = failure(&lines);
        assert_eq!(
            (f.kind, f.code),
            (ScanFailureKind::MediumError, ErrorCode::DiscUnreadable)
        );
    }
}

#[test]
fn drives_and_recent_messages_are_kept_incrementally() {
    let mut a = ScanAssembler::new();
    a.push_line(r#"DRV:1,0,999,0,"BD-ROM","","/dev/sr1""#);
    a.push_line(r#"DRV:0,3,999,0,"BD-ROM","","/dev/sr0""#);
    a.push_line(r#"DRV:0,2,999,12,"BD-ROM","DISC","/dev/sr0""#);
    let indexes: Vec<(u32, bool)> = a.drives().iter().map(|d| (d.index, d.has_disc())).collect();
    assert_eq!(indexes, vec![(0, true), (1, false)]);
    for i in 0..15 {
        a.push_line(&format!(r#"MSG:{i},0,0,"m{i}","m""#));
    }
    let codes: Vec<u32> = a.recent_messages().map(|m| m.code).collect();
    assert_eq!(codes, (5..15).collect::<Vec<_>>());
    assert_eq!(a.failure_kind(), None);
    a.push_line(r#"MSG:5010,0,0,"Failed to open disc","Failed to open disc""#);
    assert_eq!(a.failure_kind(), Some(ScanFailureKind::OpenFailed));
}

#[test]
fn crlf_and_invalid_utf8_are_accepted() {
    let r = parse_scan_bytes(b"CINFO:2,0,\"caf\xe9\"\r\nTINFO:0,9,0,\"0:01:00\"\r\n").unwrap();
    assert_eq!(r.disc_name, "caf\u{fffd}");
    assert_eq!(r.tracks[0].duration.as_deref(), Some("0:01:00"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    #[test]
    fn robotish_lines_never_panic(lines in proptest::collection::vec(
        "(MSG|DRV|TCOUNT|CINFO|TINFO|SINFO|PRGV|HSH|)(:)?[0-9,\"\\\\a-z ]{0,40}", 0..40)) {
        let _ = parse_scan(&lines.join("\n"));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
        let _ = parse_scan_bytes(&bytes);
    }
}

#[test]
fn titles_stay_in_number_order_and_names_that_repeat_the_disc_go() {
    let r = scan(&[
        r#"CINFO:1,6209,"Blu-ray disc""#,
        r#"CINFO:2,0,"Heat""#,
        r#"TINFO:2,2,0,"Heat""#,
        r#"TINFO:2,9,0,"0:02:00""#,
        r#"TINFO:0,2,0,"Heat""#,
        r#"TINFO:0,9,0,"2:50:00""#,
        r#"TINFO:0,8,0,"40""#,
        r#"TINFO:1,2,0,"Heat: Deleted Scenes""#,
        r#"TINFO:1,9,0,"0:20:00""#,
    ])
    .unwrap();
    let numbers: Vec<u32> = r.tracks.iter().map(|t| t.number).collect();
    assert_eq!(numbers, [0, 1, 2], "ascending title numbers, not ranked");
    let names: Vec<Option<&str>> = r.tracks.iter().map(|t| t.name.as_deref()).collect();
    assert_eq!(names, [None, Some("Heat: Deleted Scenes"), None]);
}

#[test]
fn a_disc_nobody_names_is_an_unknown_disc_not_null() {
    let r = scan(&[r#"CINFO:1,6209,"Blu-ray disc""#, r#"TINFO:0,9,0,"1:00:00""#]).unwrap();
    assert_eq!(r.disc_name, amphigory_wire::scan::UNKNOWN_DISC);
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["disc_name"].is_string(), "{json}");
}
