//! The status problems, kept by the engine per source: each source replaces exactly its
//! own lines and nobody else's, and the status lists them in a fixed order of sources.

use std::collections::BTreeMap;

use crate::core::Problem;

/// Where a status problem comes from, in the order the status lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ProblemSource {
    /// The webapp's configuration (needs config; restart needed after a refetch).
    Config,
    /// Known at start (makemkvcon missing, disc detection unavailable).
    Startup,
    /// The queue directory itself.
    Queue,
    /// Results that cannot be written yet.
    Results,
    /// Discs queued tasks wait for.
    DiscsNeeded,
}

/// Every source's current problems.
#[derive(Debug, Clone, Default)]
pub(crate) struct Problems {
    by_source: BTreeMap<ProblemSource, Vec<Problem>>,
}

impl Problems {
    /// Makes `now` what `source` shows (nothing when empty).
    pub(crate) fn set(&mut self, source: ProblemSource, now: Vec<Problem>) {
        if now.is_empty() {
            self.by_source.remove(&source);
        } else {
            self.by_source.insert(source, now);
        }
    }

    /// Every line, sources in order; a line two sources give is listed once.
    pub(crate) fn list(&self) -> Vec<Problem> {
        let mut lines: Vec<Problem> = Vec::new();
        for line in self.by_source.values().flatten() {
            if !lines.contains(line) {
                lines.push(line.clone());
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_replaces_only_its_own_lines() {
        let mut problems = Problems::default();
        problems.set(ProblemSource::Config, vec!["needs config".into()]);
        problems.set(ProblemSource::Results, vec!["cannot write results".into()]);
        assert_eq!(problems.list(), ["needs config", "cannot write results"]);
        problems.set(ProblemSource::Results, Vec::new());
        assert_eq!(problems.list(), ["needs config"]);
        problems.set(ProblemSource::Queue, vec!["queue gone".into()]);
        assert_eq!(problems.list(), ["needs config", "queue gone"]);
    }
}
