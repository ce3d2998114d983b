//! MakeMKV: the robot-mode parser, the scan assembler and classifier, progress, and the
//! supervised `makemkvcon` runner.
//!
//! Everything but [`runner`] and [`process`] is pure and synchronous, tested on recorded
//! transcripts without any process.

pub mod classify;
pub mod messages;
pub mod process;
pub mod progress;
pub mod robot;
pub mod runner;
pub mod scan;
