//! The tray icons as signed-distance shapes, rasterised with supersampling: black ink on
//! transparent, so they work as macOS template images. Shared by the generator
//! (`examples/gen_icons`), `tests/tray_icons.rs` (which checks the committed PNGs are its
//! output) and the app icon of `Amphigory.app` ([`super::app_icon`]).
//!
//! Geometry is in design units on a 22×22 canvas (the 1x size); the 2x icons are the same
//! shapes at twice the resolution, not an upscale.
//!
//! - The disc (radius 10): idle with no disc, an outline with an empty centre (outer ring
//!   and spindle ring); with a disc, solid with a spindle hole; working, solid with two
//!   curved motion marks cut out of it, as if spinning.
//! - Overlays are badges of 9.4 units, each cut out of the disc with a clear margin and
//!   stacked from the bottom-right corner: bottom-right, above it, left of it, then the
//!   remaining corner. Paused: two bars. Disconnected: a slashed circle. Error: a warning
//!   triangle with `!`. Needs config: a gear.

use super::{Activity, IconName, Overlay};

/// Design canvas size (1x pixels).
const CANVAS: f64 = 22.0;
/// Subsamples per pixel along each axis.
const SUPERSAMPLE: u32 = 5;
const CENTRE: (f64, f64) = (11.0, 11.0);
const DISC_RADIUS: f64 = 10.0;
const HOLE_RADIUS: f64 = 2.4;
/// Badge side and the clear margin around it, up to three badges.
const BADGE: f64 = 9.4;
const MARGIN: f64 = 1.3;
/// With all four, smaller badges in the four corners, so that a cross of the disc (and
/// with it the activity) still shows between them.
const SMALL_BADGE: f64 = 7.7;
const SMALL_MARGIN: f64 = 1.0;

type Point = (f64, f64);

/// The icon as 8-bit RGBA, `size` × `size` pixels.
pub fn render(icon: IconName, size: u32) -> Vec<u8> {
    let scale = f64::from(size) / CANVAS;
    let overlays = icon.overlays();
    let badges: Vec<Badge> = overlays
        .iter()
        .zip(Badge::slots(overlays.len()))
        .map(|(overlay, (at, size, margin))| Badge {
            overlay: *overlay,
            at,
            size,
            margin,
        })
        .collect();
    let ink = |p: Point| -> f64 {
        let disc = disc(icon.activity, p);
        let cut = badges
            .iter()
            .map(|b| b.knockout(p))
            .fold(f64::INFINITY, f64::min);
        let badge_ink = badges
            .iter()
            .map(|b| b.ink(p))
            .fold(f64::INFINITY, f64::min);
        disc.max(-cut).min(badge_ink)
    };
    let samples = f64::from(SUPERSAMPLE * SUPERSAMPLE);
    let mut rgba = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            let mut inside = 0u32;
            for sy in 0..SUPERSAMPLE {
                for sx in 0..SUPERSAMPLE {
                    let px = f64::from(x) + (f64::from(sx) + 0.5) / f64::from(SUPERSAMPLE);
                    let py = f64::from(y) + (f64::from(sy) + 0.5) / f64::from(SUPERSAMPLE);
                    if ink((px / scale, py / scale)) < 0.0 {
                        inside += 1;
                    }
                }
            }
            let alpha = (f64::from(inside) / samples * 255.0).round() as u8;
            rgba.extend_from_slice(&[0, 0, 0, alpha]);
        }
    }
    rgba
}

/// An overlay badge placed on the icon.
struct Badge {
    overlay: Overlay,
    /// Top-left corner of its box.
    at: Point,
    /// Side of its box.
    size: f64,
    /// Clear space around it.
    margin: f64,
}

impl Badge {
    /// (top-left corner, side, margin) of each slot for `count` badges, in stacking
    /// order: bottom-right, above it, left of it, the remaining corner.
    fn slots(count: usize) -> Vec<(Point, f64, f64)> {
        let (size, margin) = match count {
            4 => (SMALL_BADGE, SMALL_MARGIN),
            _ => (BADGE, MARGIN),
        };
        let far = CANVAS - size;
        let near = if count == 4 { 0.0 } else { far - size - margin };
        [(far, far), (far, near), (near, far), (near, near)]
            .into_iter()
            .map(|at| (at, size, margin))
            .collect()
    }

    /// The clear area around the badge: its box grown by the margin, corners rounded. (A
    /// square rather than the glyph's own outline: stacked badges then leave no specks
    /// of disc between them.)
    fn knockout(&self, p: Point) -> f64 {
        let min = (self.at.0 - self.margin, self.at.1 - self.margin);
        let max = (
            self.at.0 + self.size + self.margin,
            self.at.1 + self.size + self.margin,
        );
        rounded_box(p, min, max, 2.5)
    }

    /// The glyph.
    fn ink(&self, p: Point) -> f64 {
        glyph(
            self.overlay,
            ((p.0 - self.at.0) / self.size, (p.1 - self.at.1) / self.size),
        ) * self.size
    }
}

/// The disc for an activity.
fn disc(activity: Activity, p: Point) -> f64 {
    match activity {
        Activity::IdleEmpty => {
            let outer = ring(p, CENTRE, DISC_RADIUS, DISC_RADIUS - 1.7);
            let spindle = ring(p, CENTRE, HOLE_RADIUS + 1.5, HOLE_RADIUS);
            outer.min(spindle)
        }
        Activity::IdleDisc => ring(p, CENTRE, DISC_RADIUS, HOLE_RADIUS),
        Activity::Working => {
            let solid = ring(p, CENTRE, DISC_RADIUS, HOLE_RADIUS);
            let marks = arc(p, CENTRE, 6.6, 0.75, -150.0, -60.0)
                .min(arc(p, CENTRE, 6.6, 0.75, 30.0, 120.0));
            solid.max(-marks)
        }
    }
}

/// An overlay's glyph in unit-box coordinates ([0, 1]²).
fn glyph(overlay: Overlay, u: Point) -> f64 {
    match overlay {
        Overlay::Paused => rounded_box(u, (0.14, 0.04), (0.40, 0.96), 0.05).min(rounded_box(
            u,
            (0.60, 0.04),
            (0.86, 0.96),
            0.05,
        )),
        Overlay::Disconnected => {
            let circle = ring(u, (0.5, 0.5), 0.5, 0.31);
            let slash = capsule(u, (0.18, 0.18), (0.82, 0.82), 0.095);
            circle.min(slash)
        }
        Overlay::Error => {
            let triangle = triangle(u, (0.5, 0.0), (1.0, 0.96), (0.0, 0.96)) - 0.04;
            let bar = capsule(u, (0.5, 0.36), (0.5, 0.6), 0.075);
            let dot = circle(u, (0.5, 0.8), 0.085);
            triangle.max(-bar.min(dot))
        }
        Overlay::NeedsConfig => gear(u),
    }
}

/// Six teeth around a hub with a hole.
fn gear(u: Point) -> f64 {
    let hub = circle(u, (0.5, 0.5), 0.34);
    let teeth = (0..6)
        .map(|k| {
            let angle = f64::from(k) * std::f64::consts::FRAC_PI_3;
            let (s, c) = angle.sin_cos();
            let inner = (0.5 + 0.25 * c, 0.5 + 0.25 * s);
            let outer = (0.5 + 0.39 * c, 0.5 + 0.39 * s);
            capsule(u, inner, outer, 0.11)
        })
        .fold(f64::INFINITY, f64::min);
    hub.min(teeth).max(-circle(u, (0.5, 0.5), 0.15))
}

fn length(v: Point) -> f64 {
    v.0.hypot(v.1)
}

fn circle(p: Point, c: Point, r: f64) -> f64 {
    length((p.0 - c.0, p.1 - c.1)) - r
}

/// Between radii `inner` and `outer`.
fn ring(p: Point, c: Point, outer: f64, inner: f64) -> f64 {
    let d = length((p.0 - c.0, p.1 - c.1));
    (d - outer).max(inner - d)
}

/// A segment from `a` to `b` with round ends, `r` thick on each side.
fn capsule(p: Point, a: Point, b: Point, r: f64) -> f64 {
    let pa = (p.0 - a.0, p.1 - a.1);
    let ba = (b.0 - a.0, b.1 - a.1);
    let len2 = ba.0 * ba.0 + ba.1 * ba.1;
    let h = if len2 > 0.0 {
        ((pa.0 * ba.0 + pa.1 * ba.1) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    length((pa.0 - ba.0 * h, pa.1 - ba.1 * h)) - r
}

fn rounded_box(p: Point, min: Point, max: Point, r: f64) -> f64 {
    let c = ((min.0 + max.0) / 2.0, (min.1 + max.1) / 2.0);
    let half = ((max.0 - min.0) / 2.0 - r, (max.1 - min.1) / 2.0 - r);
    let q = ((p.0 - c.0).abs() - half.0, (p.1 - c.1).abs() - half.1);
    length((q.0.max(0.0), q.1.max(0.0))) + q.0.max(q.1).min(0.0) - r
}

/// A triangle (exact distance, after Inigo Quilez).
fn triangle(p: Point, a: Point, b: Point, c: Point) -> f64 {
    let edges = [(a, b), (b, c), (c, a)];
    let mut dist = f64::INFINITY;
    let mut sign = 1.0;
    let mut inside_count = 0;
    for (v0, v1) in edges {
        let e = (v1.0 - v0.0, v1.1 - v0.1);
        let w = (p.0 - v0.0, p.1 - v0.1);
        let t = ((w.0 * e.0 + w.1 * e.1) / (e.0 * e.0 + e.1 * e.1)).clamp(0.0, 1.0);
        dist = dist.min(length((w.0 - e.0 * t, w.1 - e.1 * t)));
        if e.0 * w.1 - e.1 * w.0 >= 0.0 {
            inside_count += 1;
        }
    }
    // All edge cross products share a sign inside (either winding).
    if inside_count == 3 || inside_count == 0 {
        sign = -1.0;
    }
    dist * sign
}

/// An arc of radius `r` (centre line), `half_width` thick on each side, with round
/// ends, from angle `from` to `to` (degrees, clockwise on screen from the +x axis).
fn arc(p: Point, c: Point, r: f64, half_width: f64, from: f64, to: f64) -> f64 {
    let mid = ((from + to) / 2.0).to_radians();
    let aperture = ((to - from).abs() / 2.0).to_radians();
    // Rotate so the arc's middle lies on the +y axis, then fold it symmetric.
    let rel = (p.0 - c.0, p.1 - c.1);
    let turn = std::f64::consts::FRAC_PI_2 - mid;
    let (s, co) = turn.sin_cos();
    let q = ((rel.0 * co - rel.1 * s).abs(), rel.0 * s + rel.1 * co);
    let (sin_a, cos_a) = aperture.sin_cos();
    let d = if cos_a * q.0 > sin_a * q.1 {
        length((q.0 - sin_a * r, q.1 - cos_a * r))
    } else {
        (length(q) - r).abs()
    };
    d - half_width
}
