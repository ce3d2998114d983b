#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The macOS decisions and `drutil` parsing against every capture in
//! `../shared/fixtures/macos/`, and the SPEC §9.4 fingerprint vectors through the
//! `drutil status -xml` path. Expected values were read from the captures by hand.

mod support;

use amphigory::drives::drutil::{self, DrutilStatus, Plist};
use amphigory::drives::macos::disk_rules::{self as decide, DiskDescription};
use amphigory::fingerprint::{DiscFacts, MediumKind, TocTrack};

/// Every capture, so a new one cannot slip in untested.
const CAPTURES: [&str; 7] = [
    "NOT-OPTICAL-dadiskcopydescription-sparsebundle-disk-image-macos-10.14.txt",
    "diskutil-info-dvd-rom-hl-dt-st-gp65ns60-usb.txt",
    "drutil-status-blank-dvd-r-matshita-uj-8a8.txt",
    "drutil-status-cd-rom-optiarc-ad-5960s.txt",
    "drutil-status-dvd-rom-hl-dt-st-gp65ns60-usb.txt",
    "drutil-status-dvd-rom-matshita-uj-85j.txt",
    "drutil-status-no-media-matshita-uj-85j-leading-spaces-stripped.txt",
];

fn capture(name: &str) -> Option<String> {
    let path = support::shared_fixture(&format!("macos/{name}"))?;
    Some(std::fs::read_to_string(path).unwrap())
}

#[test]
fn every_capture_is_listed() {
    let Some(one) = support::shared_fixture(&format!("macos/{}", CAPTURES[0])) else {
        return;
    };
    let mut found: Vec<String> = std::fs::read_dir(one.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    found.sort();
    assert_eq!(found, CAPTURES);
}

// ---------------------------------------------------------------------------------------
// `drutil status` text

fn text_capture(name: &str) -> Option<DrutilStatus> {
    capture(name).map(|t| drutil::parse_text(&t))
}

#[test]
fn drutil_text_dvd_rom_gp65ns60_usb() {
    let Some(st) = text_capture("drutil-status-dvd-rom-hl-dt-st-gp65ns60-usb.txt") else {
        return;
    };
    assert_eq!(st.vendor.as_deref(), Some("HL-DT-ST"));
    assert_eq!(st.product.as_deref(), Some("DVDRAM GP65NS60"));
    assert_eq!(st.revision.as_deref(), Some("PF00"));
    assert_eq!(st.media_type.as_deref(), Some("DVD-ROM"));
    assert_eq!(st.device.as_deref(), Some("/dev/disk4"));
    assert_eq!((st.sessions, st.tracks), (Some(1), Some(1)));
    assert_eq!(st.used_msf.as_deref(), Some("169:24:52"));
    assert_eq!(st.used_blocks, Some(762_352));
    assert_eq!(st.free_blocks, Some(0));
    assert!(st.writability.is_empty());
    assert_eq!(st.book_type.as_deref(), Some("DVD-ROM (v1)"));
    assert!(st.has_media() && !st.is_blank());
    let facts = st.facts().unwrap();
    assert_eq!(
        facts.canonical(),
        "type:dvdblocks:762352media:DVD-ROMsessions:1tracks:1"
    );
    assert!(facts.fingerprint().starts_with("dvd-"));
    assert_eq!(facts.fingerprint().len(), "dvd-".len() + 64);
}

#[test]
fn drutil_text_dvd_rom_uj85j_dual_layer() {
    let Some(st) = text_capture("drutil-status-dvd-rom-matshita-uj-85j.txt") else {
        return;
    };
    assert_eq!(st.vendor.as_deref(), Some("MATSHITA"));
    assert_eq!(st.product.as_deref(), Some("DVD-R   UJ-85J"));
    assert_eq!(st.revision.as_deref(), Some("FM0S"));
    assert_eq!(st.media_type.as_deref(), Some("DVD-ROM"));
    assert_eq!(st.device.as_deref(), Some("/dev/disk3"));
    assert_eq!((st.sessions, st.tracks), (Some(1), Some(1)));
    assert_eq!(st.used_msf.as_deref(), Some("787:56:00"));
    assert_eq!(st.used_blocks, Some(3_545_700));
    assert!(st.writability.is_empty());
    assert_eq!(st.book_type.as_deref(), Some("DVD-ROM (v1)"));
    let facts = st.facts().unwrap();
    assert_eq!(facts.kind, MediumKind::Dvd);
    assert_eq!(facts.blocks, 3_545_700);
}

#[test]
fn drutil_text_cd_rom_one_track() {
    let Some(st) = text_capture("drutil-status-cd-rom-optiarc-ad-5960s.txt") else {
        return;
    };
    assert_eq!(st.vendor.as_deref(), Some("OPTIARC"));
    assert_eq!(st.product.as_deref(), Some("DVD RW AD-5960S"));
    assert_eq!(st.revision.as_deref(), Some("2AP5"));
    assert_eq!(st.media_type.as_deref(), Some("CD-ROM"));
    assert_eq!(st.device.as_deref(), Some("/dev/disk1"));
    assert_eq!((st.sessions, st.tracks), (Some(1), Some(1)));
    assert_eq!(st.used_msf.as_deref(), Some("65:11:67"));
    assert_eq!(st.used_blocks, Some(293_392));
    assert_eq!(st.book_type, None);
    let facts = st.facts().unwrap();
    assert_eq!(
        facts.canonical(),
        "type:cdblocks:293392media:CD-ROMsessions:1tracks:1"
    );
    assert!(facts.fingerprint().starts_with("cd-"));
}

#[test]
fn drutil_text_blank_dvd_r_has_no_fingerprint() {
    let Some(st) = text_capture("drutil-status-blank-dvd-r-matshita-uj-8a8.txt") else {
        return;
    };
    assert_eq!(st.vendor.as_deref(), Some("MATSHITA"));
    assert_eq!(st.product.as_deref(), Some("DVD-R   UJ-8A8"));
    assert_eq!(st.revision.as_deref(), Some("HA13"));
    assert_eq!(st.media_type.as_deref(), Some("DVD-R"));
    assert_eq!(st.device.as_deref(), Some("/dev/disk1"));
    assert_eq!((st.sessions, st.tracks), (None, None));
    assert_eq!(st.used_msf.as_deref(), Some("00:00:00"));
    assert_eq!(st.used_blocks, Some(0));
    assert_eq!(st.free_blocks, Some(2_297_888));
    assert_eq!(st.writability, ["appendable", "blank", "overwritable"]);
    assert_eq!(st.book_type.as_deref(), Some("DVD-R (v5)"));
    assert!(st.has_media() && st.is_blank());
    assert_eq!(st.facts(), None);
}

#[test]
fn drutil_text_no_media() {
    let Some(st) =
        text_capture("drutil-status-no-media-matshita-uj-85j-leading-spaces-stripped.txt")
    else {
        return;
    };
    assert_eq!(st.vendor.as_deref(), Some("MATSHITA"));
    assert_eq!(st.product.as_deref(), Some("DVD-R   UJ-85J"));
    assert_eq!(st.revision.as_deref(), Some("FM0S"));
    assert!(!st.has_media());
    assert_eq!(st.device, None);
    assert_eq!(st.facts(), None);
}

// ---------------------------------------------------------------------------------------
// DiskArbitration decisions

#[test]
fn diskutil_info_of_a_dvd_is_an_optical_disc() {
    let Some(text) = capture("diskutil-info-dvd-rom-hl-dt-st-gp65ns60-usb.txt") else {
        return;
    };
    let desc = DiskDescription::from_diskutil_info(&text);
    assert_eq!(desc.media_kind.as_deref(), Some(decide::KIND_DVD));
    assert_eq!(desc.media_whole, Some(true));
    assert_eq!(desc.bsd_name.as_deref(), Some("/dev/disk4"));
    assert_eq!(desc.volume_name, None, "`Volume Name:` is empty");
    assert_eq!(desc.device_protocol.as_deref(), Some("USB"));
    assert_eq!(desc.ejectable, Some(true));
    assert_eq!(
        desc.device_model.as_deref(),
        Some("HL-DT-ST DVDRAM GP65NS60")
    );

    let disc = decide::optical_disc(&desc).unwrap();
    assert_eq!(disc.bsd_name, "disk4");
    assert_eq!(disc.device, "/dev/rdisk4");
    assert_eq!(disc.medium, MediumKind::Dvd);
    assert_eq!(disc.volume_name, None);
    assert_eq!(disc.model.as_deref(), Some("HL-DT-ST DVDRAM GP65NS60"));
    let info = disc.disc(Some("dvd-x".into()));
    assert_eq!(info.device, "/dev/rdisk4");
    assert_eq!(info.medium, Some(MediumKind::Dvd));
    assert_eq!(info.fingerprint.as_deref(), Some("dvd-x"));
    assert_eq!(disc.drive().device, "/dev/rdisk4");
}

#[test]
fn diskutil_size_matches_drutil_block_count_of_the_same_disc() {
    let Some(st) = text_capture("drutil-status-dvd-rom-hl-dt-st-gp65ns60-usb.txt") else {
        return;
    };
    // `Disk Size: 1.6 GB (1561296896 Bytes)` in the diskutil capture, 2048-byte blocks.
    assert_eq!(st.used_blocks.unwrap() * 2048, 1_561_296_896);
}

#[test]
fn sparsebundle_disk_image_is_not_a_disc() {
    let Some(text) =
        capture("NOT-OPTICAL-dadiskcopydescription-sparsebundle-disk-image-macos-10.14.txt")
    else {
        return;
    };
    let desc = DiskDescription::from_description_text(&text);
    assert_eq!(desc.media_kind.as_deref(), Some("IOMedia"));
    assert_eq!(desc.media_whole, Some(true));
    assert_eq!(desc.bsd_name.as_deref(), Some("disk2"));
    assert_eq!(desc.volume_name, None);
    assert_eq!(desc.device_protocol.as_deref(), Some("Virtual Interface"));
    assert_eq!(desc.ejectable, Some(true));
    assert_eq!(desc.device_vendor.as_deref(), Some("Apple"));
    assert_eq!(desc.device_model.as_deref(), Some("Disk Image"));
    assert_eq!(decide::optical_disc(&desc), None);

    // It is the media kind that rejects it: the same record as a DVD would pass.
    let mut as_dvd = desc.clone();
    as_dvd.media_kind = Some(decide::KIND_DVD.into());
    assert_eq!(decide::optical_disc(&as_dvd).unwrap().device, "/dev/rdisk2");
}

#[test]
fn decisions_on_built_records() {
    let bd = DiskDescription {
        media_kind: Some(decide::KIND_BD.into()),
        media_whole: Some(true),
        bsd_name: Some("disk5".into()),
        volume_name: Some("  MY_MOVIE  ".into()),
        device_protocol: Some("SATA".into()),
        ejectable: Some(true),
        device_vendor: Some("PIONEER".into()),
        device_model: Some("BD-RW BDR-XD07".into()),
    };
    let disc = decide::optical_disc(&bd).unwrap();
    assert_eq!(disc.device, "/dev/rdisk5");
    assert_eq!(disc.medium, MediumKind::Bluray);
    assert_eq!(disc.volume_name.as_deref(), Some("MY_MOVIE"));
    assert_eq!(disc.model.as_deref(), Some("PIONEER BD-RW BDR-XD07"));

    let cd = DiskDescription {
        media_kind: Some(decide::KIND_CD.into()),
        ..bd.clone()
    };
    assert_eq!(decide::optical_disc(&cd).unwrap().medium, MediumKind::Cd);

    let partition = DiskDescription {
        media_whole: Some(false),
        bsd_name: Some("disk5s1".into()),
        ..bd.clone()
    };
    assert_eq!(decide::optical_disc(&partition), None);
    let odd_name = DiskDescription {
        bsd_name: Some("disk5s1".into()),
        ..bd.clone()
    };
    assert_eq!(decide::optical_disc(&odd_name), None);
    let no_kind = DiskDescription {
        media_kind: None,
        ..bd
    };
    assert_eq!(decide::optical_disc(&no_kind), None);

    assert_eq!(
        decide::raw_device("disk12").as_deref(),
        Some("/dev/rdisk12")
    );
    assert_eq!(
        decide::raw_device("/dev/disk3").as_deref(),
        Some("/dev/rdisk3")
    );
    assert_eq!(decide::raw_device("rdisk3").as_deref(), Some("/dev/rdisk3"));
    assert_eq!(decide::raw_device("disk"), None);
    assert_eq!(decide::raw_device("sr0"), None);
}

// ---------------------------------------------------------------------------------------
// `drutil status -xml` and the SPEC §9.4 vectors

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
"#;

fn plist(body: &str) -> String {
    format!("{HEAD}{body}\n</plist>\n")
}

const DEVICE_INFO: &str = r#"<key>deviceInfo</key>
		<dict>
			<key>vendorName</key>
			<string>PIONEER</string>
			<key>productName</key>
			<string>BD-RW   BDR-XD07</string>
			<key>writeCapabilities</key>
			<array>
				<string>CD-R</string>
				<string>DVD-R</string>
				<string>BD-R</string>
			</array>
		</dict>"#;

#[test]
fn dvd_vector_through_xml() {
    let xml = plist(&format!(
        r#"<dict>
	<key>statusInfo</key>
	<dict>
		{DEVICE_INFO}
		<key>mediaInfo</key>
		<dict>
			<key>mediaType</key>
			<string>DVD-ROM</string>
			<key>blockCount</key>
			<integer>3940480</integer>
			<key>isBlank</key>
			<false/>
			<key>volumeName</key>
			<string>TEST_DISC</string>
		</dict>
	</dict>
</dict>"#
    ));
    let facts = drutil::parse_xml(&xml).unwrap().unwrap();
    assert_eq!(facts.kind, MediumKind::Dvd);
    assert_eq!(
        facts.fingerprint(),
        "dvd-d433c0bcb8d018ee9ec86ae7fc8b59c56da8ccf2f658cdc3925a70ad8e8f230a"
    );
}

fn bluray_xml() -> String {
    plist(&format!(
        r#"<dict>
	{DEVICE_INFO}
	<key>mediaInfo</key>
	<dict>
		<key>mediaType</key>
		<string>BD-ROM</string>
		<key>blockCount</key>
		<integer>12345678</integer>
		<key>sessionCount</key>
		<integer>1</integer>
		<key>trackCount</key>
		<integer>1</integer>
		<key>leadOut</key>
		<dict>
			<key>msf</key>
			<string>875:39:55</string>
			<key>blockAddress</key>
			<integer>3940480</integer>
		</dict>
		<key>trackInfo</key>
		<array>
			<dict>
				<key>trackNumber</key>
				<integer>1</integer>
				<key>startAddress</key>
				<integer>0</integer>
				<key>trackSize</key>
				<integer>12345678</integer>
			</dict>
		</array>
		<key>volumeName</key>
		<string>  MY_MOVIE  </string>
	</dict>
	<key>deviceName</key>
	<string>/dev/disk5</string>
</dict>"#
    ))
}

#[test]
fn bluray_vector_through_xml() {
    let facts = drutil::parse_xml(&bluray_xml()).unwrap().unwrap();
    let expected = DiscFacts {
        kind: MediumKind::Bluray,
        blocks: 12_345_678,
        media: Some("BD-ROM".into()),
        sessions: Some(1),
        tracks: Some(1),
        leadout: Some("875:39:55".into()),
        toc: vec![TocTrack {
            start: 0,
            size: 12_345_678,
        }],
        volume: Some("  MY_MOVIE  ".into()),
    };
    assert_eq!(facts, expected);
    assert_eq!(
        facts.fingerprint(),
        "br-3dd2ade03e83a90dac9be97fd60ebef4c31e7848f74b1933fff315dd49dc2618"
    );
}

#[test]
fn cd_vector_through_xml_without_media_type_and_with_empty_volume() {
    let xml = plist(
        r#"<dict>
	<key>mediaInfo</key>
	<dict>
		<key>type</key>
		<string>cd</string>
		<key>blockCount</key>
		<integer>123456</integer>
		<key>volumeName</key>
		<string/>
	</dict>
</dict>"#,
    );
    let facts = drutil::parse_xml(&xml).unwrap().unwrap();
    assert_eq!(facts.canonical(), "type:cdblocks:123456");
    assert_eq!(
        facts.fingerprint(),
        "cd-fa687067633c7d7068a329a217af77f231dc943a58a510f9715c4b7ba0e51d82"
    );
}

#[test]
fn xml_for_device_picks_the_right_drive() {
    let bd = drutil::parse_xml_for_device(&bluray_xml(), "disk5")
        .unwrap()
        .unwrap();
    assert_eq!(bd.kind, MediumKind::Bluray);
    // Output naming only another device is not this disc's.
    assert_eq!(
        drutil::parse_xml_for_device(&bluray_xml(), "disk50").unwrap(),
        None
    );
    assert_eq!(
        drutil::parse_xml_for_device(&bluray_xml(), "disk4").unwrap(),
        None
    );

    let two = plist(
        r#"<array>
	<dict><key>deviceName</key><string>/dev/disk3</string>
		<key>mediaType</key><string>DVD-ROM</string><key>blockCount</key><integer>10</integer></dict>
	<dict><key>deviceName</key><string>/dev/disk4</string>
		<key>mediaType</key><string>CD-ROM</string><key>blockCount</key><integer>20</integer></dict>
</array>"#,
    );
    let second = drutil::parse_xml_for_device(&two, "disk4")
        .unwrap()
        .unwrap();
    assert_eq!((second.kind, second.blocks), (MediumKind::Cd, 20));
    let first = drutil::parse_xml_for_device(&two, "/dev/disk3")
        .unwrap()
        .unwrap();
    assert_eq!((first.kind, first.blocks), (MediumKind::Dvd, 10));
    assert_eq!(drutil::parse_xml_for_device(&two, "disk9").unwrap(), None);
}

#[test]
fn xml_without_media_and_malformed_xml() {
    let empty = plist("<dict>\n\t<key>mediaInfo</key>\n\t<dict/>\n</dict>");
    assert_eq!(drutil::parse_xml(&empty).unwrap(), None);
    let no_blocks = plist("<dict><key>mediaType</key><string>DVD-ROM</string></dict>");
    assert_eq!(drutil::parse_xml(&no_blocks).unwrap(), None);
    assert!(drutil::parse_xml("<plist><dict><key>a</key>").is_err());
    assert!(drutil::parse_xml("not xml at all").is_err());
    assert!(drutil::parse_xml(&plist("<integer>x</integer>")).is_err());
    let bad_count =
        plist("<dict><key>type</key><string>dvd</string><key>blockCount</key><true/></dict>");
    assert!(drutil::parse_xml(&bad_count).is_err());
    let unknown = plist(
        "<dict><key>mediaType</key><string>HD-ROM</string><key>blockCount</key><integer>1</integer></dict>",
    );
    assert_eq!(drutil::parse_xml(&unknown).unwrap(), None);
}

#[test]
fn plist_reader_values_and_entities() {
    let v = drutil::parse_plist(&plist(
        r#"<dict>
	<!-- a comment <with> brackets -->
	<key>name</key><string>Tom &amp; Jerry &lt;1&gt;</string>
	<key>n</key><integer>-3</integer>
	<key>r</key><real>1.5</real>
	<key>yes</key><true/>
	<key>list</key><array><string>a</string><array/></array>
</dict>"#,
    ))
    .unwrap();
    assert_eq!(
        v,
        Plist::Dict(vec![
            ("name".into(), Plist::String("Tom & Jerry <1>".into())),
            ("n".into(), Plist::Integer(-3)),
            ("r".into(), Plist::Real(1.5)),
            ("yes".into(), Plist::Bool(true)),
            (
                "list".into(),
                Plist::Array(vec![Plist::String("a".into()), Plist::Array(vec![])])
            ),
        ])
    );
}

#[test]
fn medium_from_media_type_text() {
    for (text, kind) in [
        ("DVD-ROM", Some(MediumKind::Dvd)),
        ("DVD+R DL", Some(MediumKind::Dvd)),
        ("BD-ROM", Some(MediumKind::Bluray)),
        ("BD-RE", Some(MediumKind::Bluray)),
        ("CD-ROM", Some(MediumKind::Cd)),
        ("CD-R", Some(MediumKind::Cd)),
        ("cd", Some(MediumKind::Cd)),
        ("dvd", Some(MediumKind::Dvd)),
        ("bluray", Some(MediumKind::Bluray)),
        ("uhd", Some(MediumKind::Uhd)),
        ("No Media Inserted", None),
        ("", None),
    ] {
        assert_eq!(drutil::medium_from_type(text), kind, "{text}");
    }
}
