//! Unit tests of the robot-mode line parser.

use super::*;

#[test]
fn parses_every_kind() {
    assert_eq!(parse_line("TCOUNT:16"), Some(RobotLine::TitleCount(16)));
    assert_eq!(
        parse_line("PRGV:120,3000,65536\r\n"),
        Some(RobotLine::ProgressValue {
            current: 120,
            total: 3000,
            max: 65536
        })
    );
    let Some(RobotLine::StreamInfo {
        title,
        stream,
        attr,
    }) = parse_line(r#"SINFO:0,1,6,0,"TrueHD""#)
    else {
        panic!("not SINFO")
    };
    assert_eq!(
        (title, stream, attr.id, attr.code, &*attr.value),
        (0, 1, 6, 0, "TrueHD")
    );
    let Some(RobotLine::Drive(d)) = parse_line(
        r#"DRV:0,2,999,12,"BD-RE HL-DT-ST BD-RE  WH16NS40 1.05","THE_UNIVERSE_3D","/dev/sr0""#,
    ) else {
        panic!("not DRV")
    };
    assert_eq!((d.index, d.state, d.flags), (0, 2, 12));
    assert_eq!((&*d.disc_name, &*d.device), ("THE_UNIVERSE_3D", "/dev/sr0"));
    assert!(matches!(
        parse_line(r#"PRGT:5024,0,"Saving all titles to MKV files""#),
        Some(RobotLine::ProgressTotalTitle(ProgressTitle {
            code: 5024,
            id: 0,
            ..
        }))
    ));
}

#[test]
fn quoted_values_keep_commas_and_escapes() {
    let Some(RobotLine::DiscInfo(a)) = parse_line(r#"CINFO:2,0,"CSI: Season 1, Disc 1""#) else {
        panic!()
    };
    assert_eq!(a.value, "CSI: Season 1, Disc 1");
    let Some(RobotLine::Message(m)) = parse_line(
        r#"MSG:2010,0,1,"Optical drive \"BD-RE\" opened in OS access mode.","Optical drive \"%1\" opened in OS access mode.","BD-RE""#,
    ) else {
        panic!()
    };
    assert_eq!(m.text, r#"Optical drive "BD-RE" opened in OS access mode."#);
    assert_eq!(m.params, vec![Cow::Borrowed("BD-RE")]);
}

#[test]
fn junk_and_unknown_kinds_are_none() {
    for line in [
        "",
        "HSH:0,x,y,1",
        "Use: makemkvcon [switches] Command",
        "TCOUNT:x",
        "MSG:1",
        "PRGV:1,2",
    ] {
        assert_eq!(parse_line(line), None, "{line}");
    }
    assert!(parse_bytes(b"CINFO:2,0,\"caf\xe9\"").is_some());
}

#[test]
fn attribute_keys_are_read_without_the_value() {
    assert_eq!(
        attribute_key(r#"SINFO:3,12,30,0,"DD Stereo English""#),
        Some(AttributeKey::Stream {
            title: 3,
            stream: 12,
            id: 30
        })
    );
    assert_eq!(
        attribute_key("TINFO:7,9,0,"),
        Some(AttributeKey::Title { title: 7, id: 9 })
    );
    assert_eq!(attribute_key(r#"CINFO:2,0,"x""#), None);
    assert_eq!(attribute_key("SINFO:1,x"), None);
}

#[test]
fn numbers_take_the_fast_or_the_general_path() {
    let count = |line| match parse_line(line) {
        Some(RobotLine::TitleCount(n)) => Some(n),
        _ => None,
    };
    assert_eq!(count("TCOUNT:4294967295\r"), Some(u32::MAX));
    assert_eq!(count("TCOUNT:4294967296"), None);
    assert_eq!(count("TCOUNT: 7 "), Some(7));
    assert_eq!(count(r#"TCOUNT:"7""#), Some(7));
    assert_eq!(count("TCOUNT:7x"), None);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    #[test]
    fn find_either_agrees_with_a_byte_loop(bytes in proptest::collection::vec(0u8..=b'z', 0..40)) {
        let naive = bytes.iter().position(|&b| b == b'"' || b == b'\\');
        proptest::prop_assert_eq!(find_either(&bytes, b'"', b'\\'), naive);
    }

    #[test]
    fn arbitrary_lines_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        if let Some(line) = parse_bytes(&bytes) {
            let _ = into_owned(line);
        }
    }
}
