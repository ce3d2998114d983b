//! Robot-mode output of the simulated makemkvcon, and its sense of time: every pause
//! checks that the parent is still there, so the simulator never outlives the daemon
//! (on Linux the runner's parent-death signal does this too; macOS has none).

use std::io::{self, BufWriter, Stdout, Write};
use std::time::{Duration, Instant};

use nix::unistd::{Pid, getppid};

/// Longest sleep between two parent checks.
const PARENT_CHECK: Duration = Duration::from_millis(100);

/// Why the simulator stops early.
#[derive(Debug)]
pub(super) enum Halt {
    /// Output failed (the reader is gone).
    Io(io::Error),
    /// The parent died: makemkvcon's stand-in dies with it.
    ParentGone,
}

impl From<io::Error> for Halt {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// Robot-mode lines on stdout.
pub(super) struct Robot {
    out: BufWriter<Stdout>,
    parent: Pid,
}

impl Robot {
    pub(super) fn new() -> Self {
        Self {
            out: BufWriter::new(io::stdout()),
            parent: getppid(),
        }
    }

    /// One raw line.
    pub(super) fn line(&mut self, line: &str) -> Result<(), Halt> {
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// `MSG:code,flags,count,"text","format","param"…` with `%N` filled in.
    pub(super) fn msg(
        &mut self,
        code: u32,
        flags: u32,
        format: &str,
        params: &[&str],
    ) -> Result<(), Halt> {
        let mut text = format.to_owned();
        for (i, p) in params.iter().enumerate().rev() {
            text = text.replace(&format!("%{}", i + 1), p);
        }
        let mut line = format!(
            "MSG:{code},{flags},{},{},{}",
            params.len(),
            quote(&text),
            quote(format)
        );
        for p in params {
            line.push(',');
            line.push_str(&quote(p));
        }
        self.line(&line)
    }

    /// `PRGT:code,0,"name"`.
    pub(super) fn total_title(&mut self, code: u32, name: &str) -> Result<(), Halt> {
        self.line(&format!("PRGT:{code},0,{}", quote(name)))
    }

    /// `PRGC:code,0,"name"`.
    pub(super) fn current_title(&mut self, code: u32, name: &str) -> Result<(), Halt> {
        self.line(&format!("PRGC:{code},0,{}", quote(name)))
    }

    /// `PRGV:current,total,65536`.
    pub(super) fn value(&mut self, current: u32, total: u32) -> Result<(), Halt> {
        self.line(&format!("PRGV:{current},{total},65536"))
    }

    /// Flushes what was printed, then sleeps `duration` watching the parent.
    pub(super) fn pause(&mut self, duration: Duration) -> Result<(), Halt> {
        self.out.flush()?;
        let end = Instant::now() + duration;
        loop {
            if getppid() != self.parent {
                return Err(Halt::ParentGone);
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(PARENT_CHECK));
        }
    }

    /// Stops printing and waits until killed (or orphaned).
    pub(super) fn hang(&mut self) -> Result<(), Halt> {
        loop {
            self.pause(Duration::from_secs(3600))?;
        }
    }

    pub(super) fn flush(&mut self) -> Result<(), Halt> {
        Ok(self.out.flush()?)
    }
}

/// A robot-mode string field: quoted, `"` and `\` escaped.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::makemkv::robot::{RobotLine, parse_line};

    #[test]
    fn quoted_fields_parse_back() {
        let line = format!("CINFO:2,0,{}", quote(r#"A "B", C\D"#));
        let Some(RobotLine::DiscInfo(a)) = parse_line(&line) else {
            panic!("{line}")
        };
        assert_eq!(a.value, r#"A "B", C\D"#);
    }
}
