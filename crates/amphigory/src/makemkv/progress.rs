//! Progress of one `makemkvcon` operation (SPEC §6.4, §6.6): `PRGT`/`PRGC`/`PRGV` records
//! folded into a percent, an ETA, a size and a speed, throttled for the wire.
//!
//! Pure: every method takes `now`, so tests drive a fake clock. The runner feeds records
//! as they arrive, the size of the growing output file when it can read it, and polls
//! now and then so a suppressed change still goes out when the child falls quiet.
//!
//! - **Percent** is `PRGV` *total* ÷ max. Only one phase counts: for a rip, the phase
//!   opened by `PRGT:5024` ("Saving all titles to MKV files") — the drive scan and disc
//!   opening before it run their own 0 → 65536 and leave the rip at 0 %; for a scan, any
//!   phase but the drive scan (`PRGT:5018`). Each `PRGT` restarts the counters.
//! - **ETA** comes from the average rate since the phase started moving (its last sample
//!   at zero): a rate dip of a few seconds barely moves an hour-long average, so the ETA
//!   does not swing. No ETA before [`ETA_MIN_ELAPSED`] of movement.
//! - **Size** is the output file's size when the runner knows it, else expected size ×
//!   fraction; **speed** is bytes per second in decimal megabytes (`"42.3 MB/s"`).
//! - **Throttle**: at most one update per [`EMIT_INTERVAL`], and only when something
//!   changed; 0 % ([`ProgressTracker::start`]) and 100 % always go out, once each.

use std::time::{Duration, Instant};

use super::robot::RobotLine;

/// Minimum time between two updates (100 % excepted).
pub const EMIT_INTERVAL: Duration = Duration::from_millis(250);
/// Movement needed before an ETA or a speed is given.
pub const ETA_MIN_ELAPSED: Duration = Duration::from_secs(1);

/// `PRGT` code of the rip's saving phase.
const SAVING_PHASE: u32 = 5024;
/// `PRGT` code of the drive scan that opens every run.
const DRIVE_SCAN_PHASE: u32 = 5018;

/// Which operation is tracked: decides which phase counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressKind {
    /// `makemkvcon info`.
    Scan,
    /// `makemkvcon mkv`.
    Rip,
}

/// One progress report, the shape of the wire's `progress` message.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressUpdate {
    /// Whole percent, 0–100 (100 only when the phase is complete).
    pub percent: u8,
    /// Estimated seconds left, once known.
    pub eta_seconds: Option<u64>,
    /// Bytes written so far (file size, else expected size × fraction), once known.
    pub current_size_bytes: Option<u64>,
    /// Throughput like `"42.3 MB/s"`, once known.
    pub speed: Option<String>,
}

/// The progress state of one operation. See the module docs for the rules.
#[derive(Debug, Clone)]
pub struct ProgressTracker {
    kind: ProgressKind,
    expected_size: Option<u64>,
    counting: bool,
    fraction: f64,
    /// Start of the rate measurement: (time, fraction) of the phase's last sample at 0.
    anchor: Option<(Instant, f64)>,
    file_size: Option<u64>,
    last_emit: Option<Instant>,
    emitted: Option<(u8, Option<u64>)>,
    finished: bool,
    /// Bytes per second this drive usually reads (its history), for an ETA before
    /// MakeMKV's own progress has moved long enough to measure.
    usual_rate: Option<f64>,
}

impl ProgressTracker {
    /// A tracker for `kind`; `expected_size` (bytes of the title) feeds size and speed.
    pub fn new(kind: ProgressKind, expected_size: Option<u64>) -> Self {
        Self {
            kind,
            expected_size: expected_size.filter(|s| *s > 0),
            counting: false,
            fraction: 0.0,
            anchor: None,
            file_size: None,
            last_emit: None,
            emitted: None,
            finished: false,
            usual_rate: None,
        }
    }

    /// Gives the drive's usual read speed (bytes per second, from its history): until the
    /// phase's own rate is known, the ETA is the expected size left at that speed.
    pub fn with_usual_rate(mut self, bytes_per_second: Option<f64>) -> Self {
        self.usual_rate = bytes_per_second.filter(|r| r.is_finite() && *r > 0.0);
        self
    }

    /// The 0 % update that opens every operation.
    pub fn start(&mut self, now: Instant) -> ProgressUpdate {
        let update = self.snapshot(now);
        self.mark_emitted(&update, now);
        update
    }

    /// Folds one record in; returns an update when one is due.
    pub fn observe(&mut self, line: &RobotLine<'_>, now: Instant) -> Option<ProgressUpdate> {
        match line {
            RobotLine::ProgressTotalTitle(t) => {
                self.counting = match self.kind {
                    ProgressKind::Rip => t.code == SAVING_PHASE,
                    ProgressKind::Scan => t.code != DRIVE_SCAN_PHASE,
                };
                self.fraction = 0.0;
                self.anchor = None;
                None
            }
            RobotLine::ProgressValue { total, max, .. } if self.counting && *max > 0 => {
                self.fraction = (f64::from(*total) / f64::from(*max)).clamp(0.0, 1.0);
                if self.fraction <= 0.0 || self.anchor.is_none() {
                    self.anchor = Some((now, self.fraction));
                }
                self.poll(now)
            }
            _ => None,
        }
    }

    /// Records the current size of the output file (`None`: cannot be read).
    pub fn set_file_size(&mut self, bytes: Option<u64>) {
        self.file_size = bytes;
    }

    /// An update if one is due: 100 % reached, or the interval passed and something
    /// changed since the last update.
    pub fn poll(&mut self, now: Instant) -> Option<ProgressUpdate> {
        if self.finished {
            return None;
        }
        let update = self.snapshot(now);
        let due = update.percent == 100
            || match self.last_emit {
                None => true,
                Some(at) => {
                    now.saturating_duration_since(at) >= EMIT_INTERVAL
                        && self.emitted != Some(key(&update))
                }
            };
        due.then(|| {
            self.mark_emitted(&update, now);
            update
        })
    }

    /// The 100 % update of a successful operation, unless it already went out.
    pub fn complete(&mut self, now: Instant) -> Option<ProgressUpdate> {
        if self.finished {
            return None;
        }
        self.fraction = 1.0;
        self.counting = true;
        let update = self.snapshot(now);
        self.mark_emitted(&update, now);
        Some(update)
    }

    /// Fraction done, 0.0–1.0.
    pub fn fraction(&self) -> f64 {
        self.fraction
    }

    /// The current values, without throttling.
    pub fn snapshot(&self, now: Instant) -> ProgressUpdate {
        let rate = self.rate(now);
        let left = (1.0 - self.fraction).max(0.0);
        let eta_seconds = match (rate, self.usual_rate, self.expected_size) {
            (Some(r), _, _) => Some(to_u64((left / r).ceil())),
            (None, Some(usual), Some(size)) => Some(to_u64((left * size as f64 / usual).ceil())),
            _ => None,
        };
        let current_size_bytes = self
            .file_size
            .or_else(|| self.expected_size.map(|s| to_u64(s as f64 * self.fraction)));
        let bytes_per_second = rate.and_then(|r| match self.expected_size {
            Some(size) => Some(r * size as f64),
            None => self
                .file_size
                .zip(self.moving_for(now))
                .map(|(bytes, elapsed)| bytes as f64 / elapsed.as_secs_f64()),
        });
        ProgressUpdate {
            percent: percent_of(self.fraction),
            eta_seconds: if self.fraction >= 1.0 {
                Some(0)
            } else {
                eta_seconds
            },
            current_size_bytes,
            speed: bytes_per_second.map(format_speed),
        }
    }

    /// How long the counting phase has been moving, once long enough to measure.
    fn moving_for(&self, now: Instant) -> Option<Duration> {
        let (at, _) = self.anchor?;
        let elapsed = now.saturating_duration_since(at);
        (elapsed >= ETA_MIN_ELAPSED).then_some(elapsed)
    }

    /// Fraction per second, averaged since the phase started moving.
    fn rate(&self, now: Instant) -> Option<f64> {
        let (_, start_fraction) = self.anchor?;
        let elapsed = self.moving_for(now)?;
        let gained = self.fraction - start_fraction;
        (gained > 0.0).then(|| gained / elapsed.as_secs_f64())
    }

    fn mark_emitted(&mut self, update: &ProgressUpdate, now: Instant) {
        self.last_emit = Some(now);
        self.emitted = Some(key(update));
        if update.percent == 100 {
            self.finished = true;
        }
    }
}

/// What must change for a throttled update to go out.
fn key(update: &ProgressUpdate) -> (u8, Option<u64>) {
    (update.percent, update.current_size_bytes)
}

/// Whole percent, rounded down so 100 means done.
fn percent_of(fraction: f64) -> u8 {
    let p = (fraction * 100.0).floor().clamp(0.0, 100.0);
    // In range 0..=100 after the clamp, so the conversion is exact.
    p as u8
}

/// A non-negative finite float to `u64`, saturating.
fn to_u64(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 {
        // `as` saturates at u64::MAX; fractions are dropped, which is what callers want.
        x as u64
    } else {
        0
    }
}

/// `"42.3 MB/s"` (decimal megabytes, as drive speeds are quoted).
pub fn format_speed(bytes_per_second: f64) -> String {
    format!("{:.1} MB/s", bytes_per_second / 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::makemkv::robot::parse_line;

    fn feed(t: &mut ProgressTracker, line: &str, now: Instant) -> Option<ProgressUpdate> {
        t.observe(&parse_line(line).expect("robot line"), now)
    }

    fn prgv(total: u32) -> String {
        format!("PRGV:{total},{total},65536")
    }

    #[test]
    fn rip_counts_only_the_saving_phase() {
        let t0 = Instant::now();
        let mut t = ProgressTracker::new(ProgressKind::Rip, Some(1_000_000_000));
        assert_eq!(t.start(t0).percent, 0);
        let mut at = t0;
        for line in [
            r#"PRGT:5018,0,"Scanning CD-ROM devices""#,
            "PRGV:65536,65536,65536",
            r#"PRGT:3404,0,"Opening Blu-ray disc""#,
            "PRGV:40000,40000,65536",
        ] {
            at += Duration::from_secs(1);
            if let Some(u) = feed(&mut t, line, at) {
                assert_eq!(u.percent, 0, "{line}");
            }
        }
        assert_eq!(t.fraction(), 0.0);
        feed(
            &mut t,
            r#"PRGT:5024,0,"Saving all titles to MKV files""#,
            at,
        );
        let u = feed(&mut t, &prgv(32768), at + Duration::from_secs(1)).expect("due");
        assert_eq!(u.percent, 50);
        assert_eq!(u.current_size_bytes, Some(500_000_000));
    }

    #[test]
    fn before_its_own_rate_is_known_the_eta_is_the_drives_usual_speed() {
        let t0 = Instant::now();
        let mut t = ProgressTracker::new(ProgressKind::Rip, Some(1_000_000_000))
            .with_usual_rate(Some(10_000_000.0));
        assert_eq!(
            t.start(t0).eta_seconds,
            Some(100),
            "1 GB at the usual 10 MB/s"
        );
        feed(&mut t, r#"PRGT:5024,0,"Saving""#, t0);
        feed(&mut t, &prgv(0), t0);
        assert_eq!(
            t.snapshot(t0).eta_seconds,
            Some(100),
            "still the usual speed"
        );
        // Once MakeMKV's own rate is measured (20 MB/s here), it takes over.
        let measured = feed(&mut t, &prgv(13108), t0 + Duration::from_secs(10)).expect("due");
        assert_eq!((measured.percent, measured.eta_seconds), (20, Some(40)));
        let no_history = ProgressTracker::new(ProgressKind::Rip, Some(1))
            .with_usual_rate(None)
            .snapshot(t0);
        assert_eq!(no_history.eta_seconds, None);
    }

    #[test]
    fn throttles_but_always_sends_zero_and_hundred() {
        let t0 = Instant::now();
        let mut t = ProgressTracker::new(ProgressKind::Rip, None);
        t.start(t0);
        feed(&mut t, r#"PRGT:5024,0,"Saving""#, t0);
        let ms = Duration::from_millis;
        assert!(feed(&mut t, &prgv(1000), t0 + ms(100)).is_none());
        assert!(feed(&mut t, &prgv(2000), t0 + ms(200)).is_none());
        assert_eq!(
            feed(&mut t, &prgv(3000), t0 + ms(260)).map(|u| u.percent),
            Some(4)
        );
        assert!(
            feed(&mut t, &prgv(3000), t0 + ms(600)).is_none(),
            "nothing changed"
        );
        let done = feed(&mut t, &prgv(65536), t0 + ms(610)).expect("100 % is never throttled");
        assert_eq!((done.percent, done.eta_seconds), (100, Some(0)));
        assert!(t.complete(t0 + ms(700)).is_none(), "100 % goes out once");
        assert!(t.poll(t0 + ms(2000)).is_none());
    }

    #[test]
    fn complete_sends_hundred_when_makemkv_stopped_short() {
        let t0 = Instant::now();
        let mut t = ProgressTracker::new(ProgressKind::Rip, Some(100));
        t.start(t0);
        feed(&mut t, r#"PRGT:5024,0,"Saving""#, t0);
        feed(&mut t, &prgv(65000), t0 + Duration::from_secs(1));
        let u = t.complete(t0 + Duration::from_secs(2)).expect("100 %");
        assert_eq!((u.percent, u.current_size_bytes), (100, Some(100)));
    }

    #[test]
    fn scan_skips_the_drive_scan_and_counts_the_rest() {
        let t0 = Instant::now();
        let mut t = ProgressTracker::new(ProgressKind::Scan, None);
        t.start(t0);
        feed(&mut t, r#"PRGT:5018,0,"Scanning CD-ROM devices""#, t0);
        feed(
            &mut t,
            "PRGV:65536,65536,65536",
            t0 + Duration::from_secs(1),
        );
        assert_eq!(t.fraction(), 0.0);
        feed(
            &mut t,
            r#"PRGT:3404,0,"Opening DVD disc""#,
            t0 + Duration::from_secs(1),
        );
        let u = feed(&mut t, &prgv(16384), t0 + Duration::from_secs(2)).expect("due");
        assert_eq!(u.percent, 25);
    }

    #[test]
    fn eta_holds_steady_through_a_rate_dip() {
        let t0 = Instant::now();
        let mut t = ProgressTracker::new(ProgressKind::Rip, Some(10_000_000_000));
        t.start(t0);
        feed(&mut t, r#"PRGT:5024,0,"Saving""#, t0);
        feed(&mut t, &prgv(0), t0);
        // 1 % per second for 50 s …
        let per_percent = 65536.0 / 100.0;
        for s in 1..=50u32 {
            let total = (f64::from(s) * per_percent) as u32;
            feed(&mut t, &prgv(total), t0 + Duration::from_secs(u64::from(s)));
        }
        let steady = t.snapshot(t0 + Duration::from_secs(50));
        let eta = steady.eta_seconds.expect("eta");
        assert!((49..=51).contains(&eta), "{eta}");
        assert_eq!(steady.speed.as_deref(), Some("100.0 MB/s"));
        // … then nothing for 10 s: a last-second rate would say "never".
        let total = (50.0 * per_percent) as u32;
        for s in 51..=60u32 {
            feed(&mut t, &prgv(total), t0 + Duration::from_secs(u64::from(s)));
        }
        let dipped = t
            .snapshot(t0 + Duration::from_secs(60))
            .eta_seconds
            .expect("eta");
        assert!(dipped <= 62, "ETA swung from {eta} to {dipped}");
    }

    #[test]
    fn file_size_wins_over_the_estimate() {
        let t0 = Instant::now();
        let mut t = ProgressTracker::new(ProgressKind::Rip, Some(1000));
        t.start(t0);
        feed(&mut t, r#"PRGT:5024,0,"Saving""#, t0);
        t.set_file_size(Some(123));
        let u = feed(&mut t, &prgv(32768), t0 + Duration::from_secs(1)).expect("due");
        assert_eq!(u.current_size_bytes, Some(123));
        let mut blind = ProgressTracker::new(ProgressKind::Rip, None);
        assert_eq!(blind.start(t0).current_size_bytes, None);
        assert_eq!(format_speed(42_345_678.0), "42.3 MB/s");
    }

    /// The real Howl's Moving Castle rip, one line every 10 ms.
    #[test]
    fn real_rip_capture_progresses_monotonically() {
        let root = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/makemkv/"
        );
        let path = format!("{root}bluray-howls-moving-castle-rip-progress.txt");
        let Ok(text) = std::fs::read_to_string(&path) else {
            assert!(
                std::env::var("CI").is_err(),
                "fixture {path} missing under CI"
            );
            eprintln!("skipping: {path} missing");
            return;
        };
        let t0 = Instant::now();
        let mut t = ProgressTracker::new(ProgressKind::Rip, Some(30_000_000_000));
        let mut updates = vec![t.start(t0)];
        let mut saving = false;
        let mut now = t0;
        for line in text.lines() {
            now += Duration::from_millis(10);
            saving |= line.starts_with("PRGT:5024");
            if let Some(u) = parse_line(line).and_then(|l| t.observe(&l, now)) {
                if !saving {
                    assert_eq!(u.percent, 0, "progress before saving: {line}");
                }
                updates.push(u);
            }
        }
        let percents: Vec<u8> = updates.iter().map(|u| u.percent).collect();
        assert_eq!(percents.first(), Some(&0));
        assert_eq!(percents.last(), Some(&100));
        assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
        let elapsed = now.duration_since(t0).as_millis();
        let ceiling = elapsed / EMIT_INTERVAL.as_millis() + 2;
        assert!(
            updates.len() as u128 <= ceiling,
            "{} updates",
            updates.len()
        );
        assert!(updates.len() > 20, "{} updates", updates.len());
        let mid = updates.iter().find(|u| u.percent >= 50).expect("half way");
        assert!(mid.eta_seconds.is_some() && mid.speed.is_some(), "{mid:?}");
    }
}
