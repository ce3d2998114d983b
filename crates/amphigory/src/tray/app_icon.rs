//! The icon of `Amphigory.app`: the tray's disc (the same drawing, [`super::draw`]) in
//! dark ink on a light rounded square, written as an Apple `.icns` file of PNG images.
//!
//! `.icns` layout: `icns` + total length (u32, big-endian), then one entry per image:
//! its type (`icp4` 16 px, `icp5` 32, `icp6` 64, `ic07` 128, `ic08` 256, `ic09` 512), its
//! length including the 8-byte header, and the PNG bytes.

use super::{Activity, IconName, draw};

/// The image types written, with their sizes in pixels.
pub const ICNS_ENTRIES: [(&[u8; 4], u32); 6] = [
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
];

/// Background of the rounded square and colour of the ink.
const PAPER: [u8; 3] = [246, 244, 240];
const INK: [u8; 3] = [38, 50, 72];

/// The app icon as 8-bit RGBA, `size` × `size`: a rounded square (10 % margin, as macOS
/// icons have) holding the solid disc of the tray icon.
pub fn render(size: u32) -> Vec<u8> {
    let inset = size / 10;
    let disc_size = size.saturating_sub(4 * inset).max(1);
    let disc = draw::render(IconName::new(Activity::IdleDisc), disc_size);
    let side = f64::from(size.saturating_sub(2 * inset));
    let radius = side * 0.225;
    let mut out = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            let paper = rounded_square_coverage(x, y, inset, side, radius);
            let ink = ink_alpha(
                &disc,
                disc_size,
                x.wrapping_sub(2 * inset),
                y.wrapping_sub(2 * inset),
            );
            let ink = ink * paper;
            let colour: Vec<u8> = PAPER
                .iter()
                .zip(INK)
                .map(|(p, i)| (f64::from(*p) * (1.0 - ink) + f64::from(i) * ink).round() as u8)
                .collect();
            out.extend_from_slice(&colour);
            out.push((paper * 255.0).round() as u8);
        }
    }
    out
}

/// How much of pixel (x, y) the rounded square covers (0–1), anti-aliased by distance.
fn rounded_square_coverage(x: u32, y: u32, inset: u32, side: f64, radius: f64) -> f64 {
    let half = side / 2.0;
    let centre = f64::from(inset) + half;
    let px = (f64::from(x) + 0.5 - centre).abs() - (half - radius);
    let py = (f64::from(y) + 0.5 - centre).abs() - (half - radius);
    let outside = px.max(0.0).hypot(py.max(0.0)) + px.max(py).min(0.0) - radius;
    (0.5 - outside).clamp(0.0, 1.0)
}

/// The disc drawing's alpha (0–1) at (x, y) of its own square; 0 outside it.
fn ink_alpha(disc: &[u8], size: u32, x: u32, y: u32) -> f64 {
    if x >= size || y >= size {
        return 0.0;
    }
    let at = ((y * size + x) * 4 + 3) as usize;
    disc.get(at).map_or(0.0, |a| f64::from(*a) / 255.0)
}

/// The `.icns` file of the app icon at every size of [`ICNS_ENTRIES`].
pub fn icns() -> Result<Vec<u8>, png::EncodingError> {
    let mut body = Vec::new();
    for (kind, size) in ICNS_ENTRIES {
        let png = encode_png(size, &render(size))?;
        body.extend_from_slice(kind);
        body.extend_from_slice(&entry_length(png.len()).to_be_bytes());
        body.extend_from_slice(&png);
    }
    let mut file = b"icns".to_vec();
    file.extend_from_slice(&entry_length(body.len()).to_be_bytes());
    file.extend_from_slice(&body);
    Ok(file)
}

/// A length with its 8-byte header, as the format stores it.
fn entry_length(data: usize) -> u32 {
    u32::try_from(data + 8).unwrap_or(u32::MAX)
}

fn encode_png(size: u32, rgba: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgba)?;
    writer.finish()?;
    Ok(out)
}
