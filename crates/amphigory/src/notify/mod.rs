//! Telling the user what happened (SPEC §11.1): [`decide`] owns *what* to say; the
//! per-platform backends that *say* it are still to come (issue 18).

pub mod decide;
