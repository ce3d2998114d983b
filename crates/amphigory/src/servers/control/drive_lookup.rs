//! Which drive a request names: by id, device, or device without `/dev/`; none named
//! means the only drive.

use amphigory_wire::drive::DriveStatus;

use crate::core::status::drive_matches;

/// Why no drive was found; the text tells the client which drives there are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum DriveLookupError {
    /// None named, and there is no drive at all.
    #[error("this daemon has no drives")]
    NoDrives,
    /// None named, and there are several.
    #[error("several drives: name one of {0}")]
    Several(String),
    /// The drive named is not here, and no drive is.
    #[error("no drive '{0}': this daemon has no drives")]
    NotFoundNoDrives(String),
    /// The drive named is not here.
    #[error("no drive '{needle}'; drives: {drives}")]
    NotFound {
        /// What was asked for.
        needle: String,
        /// The drives there are.
        drives: String,
    },
}

/// The drive `needle` names (id, device, or device without `/dev/`); `None` = the only
/// drive.
pub(super) fn find_drive(
    drives: &[DriveStatus],
    needle: Option<&str>,
) -> Result<DriveStatus, DriveLookupError> {
    match needle {
        Some(needle) => drives
            .iter()
            .find(|d| drive_matches(d, needle))
            .cloned()
            .ok_or_else(|| {
                if drives.is_empty() {
                    DriveLookupError::NotFoundNoDrives(needle.to_owned())
                } else {
                    DriveLookupError::NotFound {
                        needle: needle.to_owned(),
                        drives: names(drives),
                    }
                }
            }),
        None => match drives {
            [] => Err(DriveLookupError::NoDrives),
            [only] => Ok(only.clone()),
            _ => Err(DriveLookupError::Several(names(drives))),
        },
    }
}

fn names(drives: &[DriveStatus]) -> String {
    let ids: Vec<&str> = drives.iter().map(|d| d.drive_id.as_str()).collect();
    ids.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drive(id: &str, device: &str) -> DriveStatus {
        DriveStatus {
            drive_id: id.into(),
            device: device.into(),
            ..DriveStatus::default()
        }
    }

    #[test]
    fn drives_are_found_by_id_device_or_short_name() {
        let one = [drive("d@h:sim0", "/dev/sim0")];
        assert_eq!(find_drive(&one, None).unwrap().drive_id, "d@h:sim0");
        assert_eq!(find_drive(&one, Some("sim0")).unwrap().drive_id, "d@h:sim0");
        let missing = find_drive(&one, Some("sr9")).unwrap_err().to_string();
        assert!(missing.contains("d@h:sim0"), "{missing}");
        let two = [
            drive("d@h:sim0", "/dev/sim0"),
            drive("d@h:sim1", "/dev/sim1"),
        ];
        let several = find_drive(&two, None).unwrap_err().to_string();
        assert!(several.contains("several"), "{several}");
        let none = find_drive(&[], None).unwrap_err().to_string();
        assert!(none.contains("no drives"), "{none}");
        let none = find_drive(&[], Some("sr0")).unwrap_err().to_string();
        assert_eq!(none, "no drive 'sr0': this daemon has no drives");
    }
}
