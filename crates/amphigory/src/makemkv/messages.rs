//! What MakeMKV's `MSG` codes mean for a run (SPEC §6.5, §6.6). One place knows the
//! codes; the scan assembler and the live runner both ask [`meaning`].
//!
//! Decisions use the numeric codes and flags, never the English texts (they are
//! localised), except for the SCSI sense strings MakeMKV passes through untranslated.
//! [`RunPhase`] tells the drive scan every run starts with from the rest, for the read
//! errors that only count after it.

use amphigory_wire::ErrorCode;

use super::robot::{Message, RobotLine};

/// Message codes that matter.
pub mod code {
    /// `%1 titles saved` (summary; not success on its own).
    pub const TITLES_SAVED: u32 = 5005;
    /// Failed to save title.
    pub const SAVE_FAILED: u32 = 5003;
    /// Failed to save title (other wording).
    pub const SAVE_FAILED_2: u32 = 5004;
    /// Failed to open disc (also printed with exit status 0).
    pub const OPEN_FAILED: u32 = 5010;
    /// Operation successfully completed (end of a good scan).
    pub const OPERATION_COMPLETE: u32 = 5011;
    /// Application version too old / key expired.
    pub const VERSION_TOO_OLD: u32 = 5021;
    /// `Copy complete. %1 titles saved.`
    pub const COPY_COMPLETE: u32 = 5036;
    /// `Copy complete. %1 titles saved, %2 failed.`
    pub const COPY_PARTIAL: u32 = 5037;
    /// Free-space question (yes/no), unanswerable in robot mode.
    pub const FREE_SPACE_QUESTION: u32 = 5038;
    /// Can't find any usable optical drives.
    pub const NO_DRIVES: u32 = 5042;
    /// Another yes/no question unanswerable in robot mode.
    pub const QUESTION_5053: u32 = 5053;
    /// Shareware period expired for Blu-ray.
    pub const SHAREWARE_EXPIRED: u32 = 5055;
    /// Drive region (RPC) protection.
    pub const REGION_LOCK: u32 = 3031;
    /// Read error with SCSI sense text.
    pub const READ_ERROR: u32 = 2003;
    /// `PRGT` code of the drive scan every run starts with ("Scanning CD-ROM devices").
    pub const DRIVE_SCAN_PHASE: u32 = 5018;
}

/// What a person is told about a [`Meaning::MediumError`].
pub const MEDIUM_ERROR_MESSAGE: &str =
    "The disc could not be read (a medium error: it may be scratched, dirty or damaged)";

/// The meaning of one `MSG` line for the operation in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    /// Informational; nothing to decide.
    Info,
    /// 5011: the operation (a scan) completed.
    OperationComplete,
    /// 5036: the copy completed with this many titles saved.
    CopyComplete {
        /// Titles saved.
        saved: u32,
    },
    /// 5037: some titles failed.
    CopyPartial {
        /// Titles saved.
        saved: u32,
        /// Titles failed.
        failed: u32,
    },
    /// 5003 / 5004: a title failed to save.
    SaveFailed,
    /// 5010: the disc could not be opened (often a drive still spinning up: retry once).
    OpenFailed,
    /// The disc left the drive (a read error reporting the medium gone).
    MediumRemoved,
    /// The disc could not be read: a read error with the SCSI sense key MEDIUM ERROR
    /// (scratched, dirty or damaged disc), reported after MakeMKV's own retries.
    MediumError,
    /// A run-ending condition; stop and fail with this code.
    Fatal {
        /// Error code for the result.
        code: ErrorCode,
        /// Message for a person.
        message: &'static str,
    },
    /// A question nobody can answer in robot mode: kill the child now and fail.
    UnanswerableQuestion {
        /// Error code for the result.
        code: ErrorCode,
        /// Message for a person.
        message: &'static str,
    },
}

/// What `msg` means. Pure; unknown codes are [`Meaning::Info`].
pub fn meaning(msg: &Message<'_>) -> Meaning {
    match msg.code {
        code::OPERATION_COMPLETE => Meaning::OperationComplete,
        code::COPY_COMPLETE => Meaning::CopyComplete {
            saved: param_number(msg, 0).unwrap_or(0),
        },
        code::COPY_PARTIAL => Meaning::CopyPartial {
            saved: param_number(msg, 0).unwrap_or(0),
            failed: param_number(msg, 1).unwrap_or(1),
        },
        code::SAVE_FAILED | code::SAVE_FAILED_2 => Meaning::SaveFailed,
        code::OPEN_FAILED => Meaning::OpenFailed,
        code::VERSION_TOO_OLD | code::SHAREWARE_EXPIRED => Meaning::Fatal {
            code: ErrorCode::MakemkvFailed,
            message: "MakeMKV refused to run: its version is too old or its key has expired; \
                      update MakeMKV or enter a current registration key",
        },
        code::NO_DRIVES => Meaning::Fatal {
            code: ErrorCode::DiscUnreadable,
            message: "MakeMKV cannot find any usable optical drive",
        },
        code::REGION_LOCK => Meaning::Fatal {
            code: ErrorCode::DiscUnreadable,
            message: "The drive's region protection prevents reading this disc",
        },
        code::FREE_SPACE_QUESTION => Meaning::UnanswerableQuestion {
            code: ErrorCode::OutputWriteFailed,
            message: "Not enough free space for the rip",
        },
        code::QUESTION_5053 => Meaning::UnanswerableQuestion {
            code: ErrorCode::MakemkvFailed,
            message: "MakeMKV asked a question that cannot be answered unattended",
        },
        code::READ_ERROR => read_error_meaning(msg),
        _ => Meaning::Info,
    }
}

/// 2003 read errors, from the SCSI sense MakeMKV passes through untranslated as the
/// first parameter (`Scsi error - KEY:ADDITIONAL SENSE`; the localised text only when
/// there is no parameter): the medium leaving is [`Meaning::MediumRemoved`], the sense
/// key MEDIUM ERROR is [`Meaning::MediumError`] (both fatal, SPEC §6.6); anything else —
/// the scrambled-sector reads of the drive scan, a region mismatch that a 5010 then
/// reports — is noise here.
fn read_error_meaning(msg: &Message<'_>) -> Meaning {
    let sense = msg.params.first().map_or(&*msg.text, |p| &**p);
    let (key, additional) = sense.split_once(':').unwrap_or((sense, ""));
    if additional.contains("MEDIUM NOT PRESENT") || additional.contains("MEDIUM REMOVAL") {
        Meaning::MediumRemoved
    } else if key.contains("MEDIUM ERROR") {
        Meaning::MediumError
    } else {
        Meaning::Info
    }
}

/// Where a run is, as far as read errors go. Every run starts with a drive scan
/// (`PRGT:5018`) that reads every drive, so a read error then may concern another drive's
/// disc: read errors count once a later phase (opening the disc, saving) has begun — and
/// always in a transcript without progress lines, where nothing tells the phases apart.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunPhase {
    seen_progress: bool,
    past_drive_scan: bool,
}

impl RunPhase {
    /// Follows the run's `PRGT` lines.
    pub fn observe(&mut self, line: &RobotLine<'_>) {
        if let RobotLine::ProgressTotalTitle(t) = line {
            self.seen_progress = true;
            self.past_drive_scan |= t.code != code::DRIVE_SCAN_PHASE;
        }
    }

    /// Whether a read error ([`Meaning::MediumRemoved`], [`Meaning::MediumError`]) now
    /// concerns this run's disc.
    pub fn read_errors_count(&self) -> bool {
        self.past_drive_scan || !self.seen_progress
    }
}

fn param_number(msg: &Message<'_>, index: usize) -> Option<u32> {
    msg.params.get(index)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::makemkv::robot::{RobotLine, parse_line};

    fn meaning_of(line: &str) -> Meaning {
        match parse_line(line) {
            Some(RobotLine::Message(m)) => meaning(&m),
            other => panic!("not a MSG line: {other:?}"),
        }
    }

    #[test]
    fn copy_results_read_their_counts() {
        assert_eq!(
            meaning_of(
                r#"MSG:5036,260,1,"Copy complete. 1 titles saved.","Copy complete. %1 titles saved.","1""#
            ),
            Meaning::CopyComplete { saved: 1 }
        );
        assert_eq!(
            meaning_of(
                r#"MSG:5037,260,2,"Copy complete. 0 titles saved, 1 failed.","Copy complete. %1 titles saved, %2 failed.","0","1""#
            ),
            Meaning::CopyPartial {
                saved: 0,
                failed: 1
            }
        );
    }

    #[test]
    fn failures_and_noise_are_told_apart() {
        assert_eq!(
            meaning_of(r#"MSG:5010,0,0,"Failed to open disc","Failed to open disc""#),
            Meaning::OpenFailed
        );
        assert!(matches!(
            meaning_of(r#"MSG:5021,131332,1,"This application version is too old.","x","y""#),
            Meaning::Fatal {
                code: ErrorCode::MakemkvFailed,
                ..
            }
        ));
        assert_eq!(
            meaning_of(
                r#"MSG:2003,0,3,"Error 'Scsi error - ILLEGAL REQUEST:READ OF SCRAMBLED SECTOR WITHOUT AUTHENTICATION' occurred while reading 'BD' at offset '1048576'","Error '%1' occurred while reading '%2' at offset '%3'","Scsi error - ILLEGAL REQUEST:READ OF SCRAMBLED SECTOR WITHOUT AUTHENTICATION","BD","1048576""#
            ),
            Meaning::Info
        );
        assert_eq!(
            meaning_of(
                r#"MSG:2003,0,3,"Error 'Scsi error - NOT READY:MEDIUM NOT PRESENT - TRAY OPEN' occurred while reading '/BDMV/STREAM/00800.m2ts' at offset '0'","Error '%1' occurred while reading '%2' at offset '%3'","Scsi error - NOT READY:MEDIUM NOT PRESENT - TRAY OPEN","/BDMV/STREAM/00800.m2ts","0""#
            ),
            Meaning::MediumRemoved
        );
        assert!(matches!(
            meaning_of(
                r#"MSG:5038,776,2,"Your temporary folder has less than 2 GB free space. Do you want to continue?","x","a","b""#
            ),
            Meaning::UnanswerableQuestion {
                code: ErrorCode::OutputWriteFailed,
                ..
            }
        ));
    }

    /// A 2003 line as MakeMKV prints it, with `sense` as its first parameter.
    fn read_error(sense: &str) -> String {
        format!(
            r#"MSG:2003,0,3,"Error '{sense}' occurred while reading '/BDMV/STREAM/00800.m2ts' at offset '1048576'","Error '%1' occurred while reading '%2' at offset '%3'","{sense}","/BDMV/STREAM/00800.m2ts","1048576""#
        )
    }

    #[test]
    fn case8b_a_medium_error_is_fatal_and_scan_noise_is_not() {
        for sense in [
            "Scsi error - MEDIUM ERROR:L-EC UNCORRECTABLE ERROR",
            "Scsi error - MEDIUM ERROR:UNRECOVERED READ ERROR",
            "Scsi error - MEDIUM ERROR",
        ] {
            assert_eq!(
                meaning_of(&read_error(sense)),
                Meaning::MediumError,
                "{sense}"
            );
        }
        for sense in [
            "Scsi error - ILLEGAL REQUEST:READ OF SCRAMBLED SECTOR WITHOUT AUTHENTICATION",
            "Scsi error - ILLEGAL REQUEST:MEDIA REGION CODE IS MISMATCHED TO LOGICAL UNIT REGION",
        ] {
            assert_eq!(meaning_of(&read_error(sense)), Meaning::Info, "{sense}");
        }
        // The parameter decides, not the (localised) text around it.
        let localised = r#"MSG:2003,0,3,"Fehler 'Scsi error - MEDIUM ERROR:L-EC UNCORRECTABLE ERROR' beim Lesen","Fehler '%1' beim Lesen","Scsi error - MEDIUM ERROR:L-EC UNCORRECTABLE ERROR""#;
        assert_eq!(meaning_of(localised), Meaning::MediumError);
        let medium_named_in_the_file = read_error("Scsi error - ILLEGAL REQUEST:X")
            .replace("/BDMV/STREAM/00800.m2ts", "/MEDIUM ERROR/1.m2ts");
        assert_eq!(meaning_of(&medium_named_in_the_file), Meaning::Info);
        // Without parameters the text is all there is.
        let bare = r#"MSG:2003,0,0,"Error 'Scsi error - MEDIUM ERROR:L-EC UNCORRECTABLE ERROR' occurred while reading 'x'","x""#;
        assert_eq!(meaning_of(bare), Meaning::MediumError);
    }

    #[test]
    fn read_errors_count_after_the_drive_scan_or_without_progress_lines() {
        let observe = |phase: &mut RunPhase, line: &str| phase.observe(&parse_line(line).unwrap());
        let mut phase = RunPhase::default();
        assert!(
            phase.read_errors_count(),
            "a transcript without progress lines"
        );
        observe(&mut phase, r#"PRGT:5018,0,"Scanning CD-ROM devices""#);
        assert!(!phase.read_errors_count(), "during the drive scan");
        observe(&mut phase, r#"MSG:1005,0,1,"x","x""#);
        assert!(!phase.read_errors_count());
        observe(&mut phase, r#"PRGT:3404,0,"Opening Blu-ray disc""#);
        assert!(phase.read_errors_count(), "opening the disc");
        observe(&mut phase, r#"PRGT:5018,0,"Scanning CD-ROM devices""#);
        assert!(phase.read_errors_count(), "once opened, for good");
    }
}
