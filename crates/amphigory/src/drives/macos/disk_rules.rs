//! The DiskArbitration decisions, as pure functions on a plain record so they are tested
//! on every platform: is this disk description an optical disc, which raw device is it,
//! what volume name and medium kind does it carry.
//!
//! The record is filled from `DADiskCopyDescription()` on macOS (see the `ffi` module);
//! tests fill it from captures: the `-description` text of such a dictionary
//! ([`DiskDescription::from_description_text`]) and `diskutil info` output
//! ([`DiskDescription::from_diskutil_info`]).

use crate::drives::{DiscInfo, DriveInfo};
use crate::fingerprint::MediumKind;

/// `DAMediaKind` of a CD.
pub const KIND_CD: &str = "IOCDMedia";
/// `DAMediaKind` of a DVD.
pub const KIND_DVD: &str = "IODVDMedia";
/// `DAMediaKind` of a Blu-ray disc.
pub const KIND_BD: &str = "IOBDMedia";

/// The DiskArbitration description keys the daemon uses, as plain Rust values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskDescription {
    /// `DAMediaKind` (`kDADiskDescriptionMediaKindKey`): `IOCDMedia`, `IODVDMedia`,
    /// `IOBDMedia`, or `IOMedia` for anything else.
    pub media_kind: Option<String>,
    /// `DAMediaWhole`: the whole medium, not a partition.
    pub media_whole: Option<bool>,
    /// `DAMediaBSDName` (`disk4`).
    pub bsd_name: Option<String>,
    /// `DAVolumeName`, present only when the volume is known to DiskArbitration.
    pub volume_name: Option<String>,
    /// `DADeviceProtocol` (`USB`, `SATA`, `ATAPI`, `Virtual Interface`).
    pub device_protocol: Option<String>,
    /// `DAMediaEjectable`.
    pub ejectable: Option<bool>,
    /// `DADeviceVendor`.
    pub device_vendor: Option<String>,
    /// `DADeviceModel`.
    pub device_model: Option<String>,
}

/// An optical disc the daemon should handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpticalDisc {
    /// BSD name of the whole medium (`disk4`).
    pub bsd_name: String,
    /// Raw device (`/dev/rdisk4`).
    pub device: String,
    /// Trimmed volume name, when DiskArbitration has one.
    pub volume_name: Option<String>,
    /// CD, DVD or Blu-ray from the media kind.
    pub medium: MediumKind,
    /// Vendor and model of the drive.
    pub model: Option<String>,
}

impl OpticalDisc {
    /// The drive holding it, as a [`DriveInfo`].
    pub fn drive(&self) -> DriveInfo {
        DriveInfo {
            device: self.device.clone(),
            model: self.model.clone(),
        }
    }

    /// The disc, as a [`DiscInfo`] with the given fingerprint.
    pub fn disc(&self, fingerprint: Option<String>) -> DiscInfo {
        DiscInfo {
            device: self.device.clone(),
            volume_name: self.volume_name.clone(),
            medium: Some(self.medium),
            fingerprint,
        }
    }
}

/// Medium kind of a `DAMediaKind` value; `None` for anything that is not optical.
pub fn medium_of_kind(kind: &str) -> Option<MediumKind> {
    match kind.trim() {
        KIND_CD => Some(MediumKind::Cd),
        KIND_DVD => Some(MediumKind::Dvd),
        KIND_BD => Some(MediumKind::Bluray),
        _ => None,
    }
}

/// `disk4` → `/dev/rdisk4`; only whole-disk names (`disk` + digits) are accepted, and a
/// leading `/dev/` or `r` is tolerated.
pub fn raw_device(bsd_name: &str) -> Option<String> {
    let name = bsd_name.trim();
    let name = name.strip_prefix("/dev/").unwrap_or(name);
    let name = name.strip_prefix('r').unwrap_or(name);
    let unit = name.strip_prefix("disk")?;
    if unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("/dev/rdisk{unit}"))
}

/// The decision: an optical disc when the media kind is CD/DVD/BD, the description is of
/// the whole medium (a missing `DAMediaWhole` counts as whole), and the BSD name is a
/// whole disk. Disk images, hard disks and partitions are rejected.
pub fn optical_disc(desc: &DiskDescription) -> Option<OpticalDisc> {
    let medium = medium_of_kind(desc.media_kind.as_deref()?)?;
    if desc.media_whole == Some(false) {
        return None;
    }
    let bsd_name = desc.bsd_name.as_deref()?.trim();
    let device = raw_device(bsd_name)?;
    let bsd_name = bsd_name.trim_start_matches("/dev/").to_owned();
    let volume_name = desc
        .volume_name
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let model = match (desc.device_vendor.as_deref(), desc.device_model.as_deref()) {
        (Some(v), Some(m)) => Some(format!("{} {}", v.trim(), m.trim())),
        (Some(one), None) | (None, Some(one)) => Some(one.trim().to_owned()),
        (None, None) => None,
    };
    Some(OpticalDisc {
        bsd_name,
        device,
        volume_name,
        medium,
        model,
    })
}

impl DiskDescription {
    /// Reads the `-description` text of a description dictionary as `NSLog` prints it
    /// (`    DAMediaKind = IOMedia;`); log prefixes and nested dictionaries are skipped.
    pub fn from_description_text(text: &str) -> Self {
        let mut d = Self::default();
        for line in text.lines() {
            let Some((key, value)) = line.trim().split_once(" = ") else {
                continue;
            };
            let value = value.trim().trim_end_matches(';').trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            let flag = || match value {
                "1" | "true" | "YES" => Some(true),
                "0" | "false" | "NO" => Some(false),
                _ => None,
            };
            let text = || Some(value.to_owned());
            match key.trim() {
                "DAMediaKind" => d.media_kind = text(),
                "DAMediaWhole" => d.media_whole = flag(),
                "DAMediaBSDName" => d.bsd_name = text(),
                "DAVolumeName" => d.volume_name = text(),
                "DADeviceProtocol" => d.device_protocol = text(),
                "DAMediaEjectable" => d.ejectable = flag(),
                "DADeviceVendor" => d.device_vendor = text(),
                "DADeviceModel" => d.device_model = text(),
                _ => {}
            }
        }
        d
    }

    /// Reads `diskutil info` output into the same record: `Optical Media Type` gives the
    /// media kind (`IODVDMedia` for `DVD-ROM`, …), `Device Node` the BSD name.
    pub fn from_diskutil_info(text: &str) -> Self {
        let mut d = Self::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            let some = || Some(value.to_owned()).filter(|v| !v.is_empty());
            match key.trim() {
                "Device Node" => d.bsd_name = some(),
                "Whole" => d.media_whole = Some(value.eq_ignore_ascii_case("yes")),
                "Volume Name" => d.volume_name = some(),
                "Protocol" => d.device_protocol = some(),
                "Removable Media" => d.ejectable = Some(value.eq_ignore_ascii_case("removable")),
                "Device / Media Name" => d.device_model = some(),
                "Optical Media Type" => d.media_kind = kind_of_media_type(value).map(str::to_owned),
                _ => {}
            }
        }
        d
    }
}

/// `DAMediaKind` that goes with a media type text (`DVD-ROM` → `IODVDMedia`).
fn kind_of_media_type(media: &str) -> Option<&'static str> {
    match crate::drives::drutil::medium_from_type(media)? {
        MediumKind::Cd => Some(KIND_CD),
        MediumKind::Dvd => Some(KIND_DVD),
        MediumKind::Bluray | MediumKind::Uhd => Some(KIND_BD),
    }
}
