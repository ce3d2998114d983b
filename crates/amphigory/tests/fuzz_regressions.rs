#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! What fuzzing found (issue 19): each input a fuzz target minimised, checked again
//! through the same `fuzz_api` entry the target calls (`tests/fuzz_regressions/`), and
//! the shapes of the blow-ups found on 1 MiB inputs (`fuzz/large-inputs.sh`), at a size
//! that took seconds to minutes before the fix and milliseconds after.

use std::path::Path;

use amphigory::config::file;
use amphigory::drives::drutil;
use amphigory::fuzz_api;
use amphigory::makemkv::scan::parse_scan;

fn found(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_trailing_comma_in_tasks_json_is_not_an_append() {
    // `["a-rip", "b-rip"]` then `["a-rip", "b-rip",]`: was read as "nothing appended".
    fuzz_api::tasks_json(&found("tasks_json-trailing-comma-append")).unwrap();
}

#[test]
fn a_form_feed_in_tasks_json_is_not_json_white_space() {
    // `["a-rip"\x0c, …]`: `trim_ascii` skips a form feed, JSON does not.
    fuzz_api::tasks_json(&found("tasks_json-form-feed-append")).unwrap();
}

#[test]
fn numbers_in_the_webapp_config_survive_its_cache() {
    // 1111111111111111111111 came back from the cache as 1.1111111111111112e21.
    fuzz_api::webapp_config(&found("webapp_config-float-roundtrip")).unwrap();
}

#[test]
fn daemon_yaml_errors_count_lone_carriage_returns_as_lines() {
    // serde-saphyr said line 73 of what `str::lines` counts as 12 lines.
    fuzz_api::daemon_yaml(&found("daemon_yaml-lone-cr-lines")).unwrap();
    let text = "a: 1\rb: 2\rdrives: [\n";
    let Err(file::FileError::Syntax { line, .. }) = file::parse(Path::new("d"), text) else {
        panic!("not a syntax error")
    };
    assert!(line <= 4, "{line}");
    assert_eq!(
        file::parse(Path::new("d"), "a: 1\rzz: 2\r")
            .unwrap()
            .unknown[1]
            .line,
        Some(2)
    );
}

#[test]
fn many_unknown_daemon_yaml_keys_are_found_in_one_pass() {
    // 10,000 unknown keys took 7.6 s (each looked for with a scan of the whole file).
    let text: String = (1..=20_000).map(|n| format!("key{n}: {n}\n")).collect();
    let parsed = file::parse(Path::new("d"), &text).unwrap();
    assert_eq!(parsed.unknown.len(), 20_000);
    assert!(
        parsed
            .unknown
            .iter()
            .all(|u| u.line.is_some_and(|l| format!("key{l}") == u.key))
    );
}

#[test]
fn scans_take_titles_streams_and_drives_in_any_order() {
    // Listed backwards, each was inserted at the front of a sorted vector: 1 MiB took
    // seconds.
    let n = 30_000;
    let mut text = format!("TCOUNT:{n}\n");
    for t in (0..n).rev() {
        text.push_str(&format!(
            "TINFO:{t},9,0,\"0:00:0{}\"\nSINFO:{t},{t},1,6202,\"Audio\"\n",
            t % 10
        ));
    }
    for d in (0..n).rev() {
        text.push_str(&format!("DRV:{d},256,999,0,\"\",\"\",\"\"\n"));
    }
    fuzz_api::scan_transcript(text.as_bytes()).unwrap();
    let scan = parse_scan(&text).unwrap();
    assert_eq!(scan.tracks.len(), n as usize);
    assert!(scan.tracks.windows(2).all(|w| w[0].number < w[1].number));
    assert!(scan.tracks.iter().all(|t| t.audio_streams.len() == 1));
}

#[test]
fn deeply_nested_drutil_xml_is_refused_not_a_stack_overflow() {
    let xml = format!("disk4\n<plist>{}", "<array>".repeat(200_000));
    fuzz_api::drutil_xml(xml.as_bytes()).unwrap();
    let err = drutil::parse_xml(&"<dict><key>k</key>".repeat(100_000)).unwrap_err();
    assert!(err.to_string().contains("nested too deeply"), "{err}");
    let fine = format!(
        "<plist>{}{}</plist>",
        "<array>".repeat(60),
        "</array>".repeat(60)
    );
    assert!(drutil::parse_plist(&fine).is_ok());
}

#[test]
fn a_drutil_line_of_many_labels_is_split_in_one_pass() {
    // 1 MiB of `Type: ` took seconds (every hit checked against every mark taken).
    let line = "Type: ".repeat(200_000);
    fuzz_api::drutil_text(line.as_bytes()).unwrap();
    let status = drutil::parse_text("  Book Type: DVD-ROM (v1)  Type: DVD-ROM   Name: /dev/disk4");
    assert_eq!(status.book_type.as_deref(), Some("DVD-ROM (v1)"));
    assert_eq!(status.media_type.as_deref(), Some("DVD-ROM"));
    assert_eq!(status.device.as_deref(), Some("/dev/disk4"));
}

#[test]
fn a_seek_position_past_any_file_is_refused_not_added_up() {
    // A SeekHead position near 2^64: `matroska-demuxer` added it to the Segment's offset
    // (an overflow: a panic in debug builds, a wrapped seek in release ones).
    let bytes = found("matroska_header-seek-position-overflow");
    fuzz_api::matroska_header(&bytes).unwrap();
    assert!(amphigory::verify::read_header_from(std::io::Cursor::new(bytes)).is_err());
}

#[test]
fn a_seek_head_naming_two_seek_heads_is_read() {
    // `matroska-demuxer` stops the process (`expect_err`) on a SeekHead with two SeekHead
    // entries; the file is otherwise sound: EBML header, Segment { SeekHead, Info, Tracks,
    // Cluster }.
    let seek = |id: &[u8], pos: u8| {
        [
            &[0x4D, 0xBB, 0x8B, 0x53, 0xAB, 0x84][..],
            id,
            &[0x53, 0xAC, 0x81, pos],
        ]
        .concat()
    };
    let seek_head_id = [0x11, 0x4D, 0x9B, 0x74];
    let entries = [seek(&seek_head_id, 0), seek(&seek_head_id, 0)].concat();
    let seek_head = [&seek_head_id[..], &[0x80 | entries.len() as u8], &entries].concat();
    let info = [0x15, 0x49, 0xA9, 0x66, 0x8B, 0x44, 0x89, 0x88]
        .into_iter()
        .chain(6_300_000.0f64.to_be_bytes())
        .collect::<Vec<u8>>();
    let tracks = [0x16, 0x54, 0xAE, 0x6B, 0x85, 0xAE, 0x83, 0xD7, 0x81, 0x01];
    let cluster = [0x1F, 0x43, 0xB6, 0x75, 0x83, 0xE7, 0x81, 0x00];
    let body = [seek_head, info, tracks.to_vec(), cluster.to_vec()].concat();
    let ebml = b"\x1a\x45\xdf\xa3\x8b\x42\x82\x88matroska";
    let segment = [
        &[0x18, 0x53, 0x80, 0x67, 0x80 | body.len() as u8][..],
        &body,
    ]
    .concat();
    let file = [&ebml[..], &segment].concat();
    fuzz_api::matroska_header(&file).unwrap();
    let facts = amphigory::verify::read_header_from(std::io::Cursor::new(file)).unwrap();
    assert_eq!(facts.duration_seconds, Some(6_300.0));
}
