//! The "disc needed" rule (SPEC §11.1), pure with the time passed in: a disc is asked
//! for once it has been needed for [`DISC_NEEDED_SETTLE`] (the webapp writes a
//! selection of rips one file at a time, so the first count is often not the last:
//! "3 rips wait", not "1 rip waits"), then again every [`DISC_NEEDED_REPEAT`] while it is
//! still needed, always with the latest count. A disc no longer needed is forgotten,
//! except when it was last asked for.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use amphigory_wire::ws::NeededDisc;

/// How long before the same disc is asked for again.
pub const DISC_NEEDED_REPEAT: Duration = Duration::from_secs(60 * 60);
/// How long a disc must be needed before it is asked for the first time.
pub const DISC_NEEDED_SETTLE: Duration = Duration::from_secs(2);

/// The discs needed now and when each is to be asked for next.
#[derive(Debug, Default)]
pub(super) struct DiscAsker {
    needed: HashMap<String, Wanted>,
    /// When each disc (by fingerprint) was last asked for.
    asked: HashMap<String, Instant>,
}

#[derive(Debug)]
struct Wanted {
    disc: NeededDisc,
    due: Instant,
}

impl DiscAsker {
    /// The engine's latest count for `disc` (`waiting: 0`: no longer needed).
    pub(super) fn changed(&mut self, disc: &NeededDisc, now: Instant) {
        if disc.waiting == 0 {
            self.needed.remove(&disc.fingerprint);
            return;
        }
        if let Some(wanted) = self.needed.get_mut(&disc.fingerprint) {
            wanted.disc = disc.clone();
            return;
        }
        let settled = now + DISC_NEEDED_SETTLE;
        let due = match self.asked.get(&disc.fingerprint) {
            Some(last) => settled.max(*last + DISC_NEEDED_REPEAT),
            None => settled,
        };
        let wanted = Wanted {
            disc: disc.clone(),
            due,
        };
        self.needed.insert(disc.fingerprint.clone(), wanted);
    }

    /// The discs to ask for now (each then due again an hour later).
    pub(super) fn due(&mut self, now: Instant) -> Vec<NeededDisc> {
        let mut ask: Vec<NeededDisc> = Vec::new();
        for wanted in self.needed.values_mut().filter(|w| w.due <= now) {
            wanted.due = now + DISC_NEEDED_REPEAT;
            self.asked.insert(wanted.disc.fingerprint.clone(), now);
            ask.push(wanted.disc.clone());
        }
        ask.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        ask
    }

    /// When [`DiscAsker::due`] next has something to say.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.needed.values().map(|w| w.due).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc(fingerprint: &str, waiting: usize) -> NeededDisc {
        NeededDisc {
            fingerprint: fingerprint.into(),
            volume_name: None,
            waiting,
            rips: waiting,
        }
    }

    fn counts(asked: &[NeededDisc]) -> Vec<(&str, usize)> {
        asked
            .iter()
            .map(|d| (d.fingerprint.as_str(), d.waiting))
            .collect()
    }

    #[test]
    fn a_burst_is_asked_for_once_with_its_final_count() {
        let mut a = DiscAsker::default();
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        a.changed(&disc("VOL", 1), t0);
        a.changed(&disc("VOL", 2), t0 + ms(300));
        a.changed(&disc("VOL", 3), t0 + ms(900));
        assert!(a.due(t0 + ms(1999)).is_empty());
        assert_eq!(a.next_due(), Some(t0 + DISC_NEEDED_SETTLE));
        assert_eq!(counts(&a.due(t0 + DISC_NEEDED_SETTLE)), [("VOL", 3)]);
        // More tasks for it: counted, not asked again within the hour.
        let later = t0 + Duration::from_secs(600);
        a.changed(&disc("VOL", 4), later);
        assert!(a.due(later + DISC_NEEDED_SETTLE).is_empty());
        // Still needed an hour on: asked again, with the latest count.
        let reminder = t0 + DISC_NEEDED_SETTLE + DISC_NEEDED_REPEAT;
        assert_eq!(a.next_due(), Some(reminder));
        assert_eq!(counts(&a.due(reminder)), [("VOL", 4)]);
    }

    #[test]
    fn a_disc_no_longer_needed_is_not_asked_for() {
        let mut a = DiscAsker::default();
        let t0 = Instant::now();
        a.changed(&disc("VOL", 2), t0);
        a.changed(&disc("VOL", 0), t0 + Duration::from_secs(1));
        assert_eq!(a.next_due(), None);
        assert!(a.due(t0 + DISC_NEEDED_SETTLE).is_empty());
    }

    #[test]
    fn needed_again_soon_after_it_came_and_went_waits_for_the_hour() {
        let mut a = DiscAsker::default();
        let t0 = Instant::now();
        a.changed(&disc("VOL", 1), t0);
        a.changed(&disc("OTHER", 1), t0);
        let asked = t0 + DISC_NEEDED_SETTLE;
        assert_eq!(counts(&a.due(asked)), [("OTHER", 1), ("VOL", 1)]);
        a.changed(&disc("VOL", 0), asked);
        let back = asked + Duration::from_secs(60);
        a.changed(&disc("VOL", 2), back);
        assert!(a.due(back + DISC_NEEDED_SETTLE).is_empty());
        let next = a.due(asked + DISC_NEEDED_REPEAT);
        assert_eq!(counts(&next), [("OTHER", 1), ("VOL", 2)]);
    }
}
