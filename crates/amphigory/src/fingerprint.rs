//! Disc fingerprints (SPEC §9.4). (Placeholder: being written.)
