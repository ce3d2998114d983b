#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The tray's icons: every file exists, decodes, has the right size, is a template image
//! (black ink on transparent), is what `examples/gen_icons` draws today, and is the one
//! embedded in the binary. Also writes a contact sheet of all of them to
//! `target/tray-contact-sheet.png` for a person to look at.

use amphigory::tray::draw;

use std::path::{Path, PathBuf};

use amphigory::tray::icons::{self, ASSET_DIR, Rgba, Scale};
use amphigory::tray::{Activity, IconName};

fn asset(icon: IconName, scale: Scale) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(ASSET_DIR)
        .join(icons::file_name(icon, scale))
}

fn read(icon: IconName, scale: Scale) -> Rgba {
    let path = asset(icon, scale);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    icons::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
}

#[test]
fn every_icon_exists_decodes_and_has_the_right_size() {
    for icon in IconName::all() {
        for scale in Scale::ALL {
            let rgba = read(icon, scale);
            let name = icons::file_name(icon, scale);
            assert_eq!(
                (rgba.width, rgba.height),
                (scale.size(), scale.size()),
                "{name}"
            );
            assert_eq!(
                rgba.pixels.len(),
                (scale.size() * scale.size() * 4) as usize
            );
            // Template image: black ink, the shape only in alpha.
            assert!(
                rgba.pixels.chunks_exact(4).all(|p| p[..3] == [0, 0, 0]),
                "{name} is not black on transparent"
            );
            let ink = rgba.pixels.chunks_exact(4).filter(|p| p[3] > 0).count();
            assert!(ink > rgba.pixels.len() / 4 / 8, "{name} is nearly empty");
            // The corners stay clear (a round disc, badges inside the canvas).
            assert_eq!(rgba.pixels[3], 0, "{name}: top-left corner");
            // The embedded copy is this file.
            let file = std::fs::read(asset(icon, scale)).unwrap();
            assert_eq!(icons::png(icon, scale), Some(file.as_slice()), "{name}");
            assert_eq!(icons::load(icon, scale).unwrap(), rgba, "{name}");
        }
    }
}

/// The committed PNGs are the generator's output: change `draw.rs`, run
/// `cargo run -p amphigory --example gen_icons`, commit both.
#[test]
fn committed_icons_match_the_generator() {
    for icon in IconName::all() {
        for scale in Scale::ALL {
            let committed = read(icon, scale);
            let drawn = draw::render(icon, scale.size());
            // Tolerance for last-bit differences of libm between platforms.
            let worst = committed
                .pixels
                .iter()
                .zip(&drawn)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            assert!(
                worst <= 8,
                "{} differs from the generator (by {worst}): rerun gen_icons",
                icons::file_name(icon, scale)
            );
        }
    }
}

/// Distinct states look distinct: no two icons of the same size are identical.
#[test]
fn every_icon_is_different() {
    for scale in Scale::ALL {
        let all: Vec<(String, Vec<u8>)> = IconName::all()
            .into_iter()
            .map(|i| (i.stem(), read(i, scale).pixels))
            .collect();
        for (i, (a, pa)) in all.iter().enumerate() {
            for (b, pb) in all.iter().skip(i + 1) {
                assert_ne!(pa, pb, "{a} and {b} look the same at {scale:?}");
            }
        }
    }
}

const CELL: u32 = 96;
const ZOOM: u32 = 2;
const LIGHT: [u8; 3] = [0xec, 0xec, 0xec];
const DARK: [u8; 3] = [0x1e, 0x1e, 0x1e];

/// One row per overlay combination (in `IconName::all` order), and per activity three
/// cells: 2x on a light menu bar, 2x on a dark one (template icons turn white there),
/// 1x on a light one; each magnified 2×.
#[test]
fn contact_sheet() {
    let rows = 16;
    let columns = Activity::ALL.len() as u32 * 3;
    let (width, height) = (columns * CELL, rows * CELL);
    let mut sheet = vec![0xffu8; (width * height * 3) as usize];
    for (index, icon) in IconName::all().into_iter().enumerate() {
        let (group, row) = (index as u32 / 16, index as u32 % 16);
        let cells = [
            (Scale::X2, LIGHT, [0, 0, 0]),
            (Scale::X2, DARK, [0xff, 0xff, 0xff]),
            (Scale::X1, LIGHT, [0, 0, 0]),
        ];
        for (k, (scale, background, ink)) in cells.into_iter().enumerate() {
            let x0 = (group * 3 + k as u32) * CELL;
            let y0 = row * CELL;
            fill(&mut sheet, width, (x0 + 2, y0 + 2), CELL - 4, background);
            let rgba = read(icon, scale);
            let zoom = ZOOM * Scale::X2.size() / scale.size();
            let offset = (CELL - rgba.width * zoom) / 2;
            blit(
                &mut sheet,
                width,
                (x0 + offset, y0 + offset),
                &rgba,
                zoom,
                ink,
            );
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    std::fs::create_dir_all(&target).unwrap();
    let path = target.join("tray-contact-sheet.png");
    write_rgb(&path, width, height, &sheet);
    println!(
        "tray contact sheet: {}",
        path.canonicalize().unwrap().display()
    );
}

fn fill(sheet: &mut [u8], width: u32, at: (u32, u32), side: u32, rgb: [u8; 3]) {
    for y in at.1..at.1 + side {
        for x in at.0..at.0 + side {
            let i = ((y * width + x) * 3) as usize;
            sheet[i..i + 3].copy_from_slice(&rgb);
        }
    }
}

/// Alpha-blends `ink` through the icon's alpha, magnified `zoom`× (nearest neighbour).
fn blit(sheet: &mut [u8], width: u32, at: (u32, u32), icon: &Rgba, zoom: u32, ink: [u8; 3]) {
    for y in 0..icon.height * zoom {
        for x in 0..icon.width * zoom {
            let src = (((y / zoom) * icon.width + x / zoom) * 4) as usize;
            let alpha = u32::from(icon.pixels[src + 3]);
            let dst = (((at.1 + y) * width + at.0 + x) * 3) as usize;
            for c in 0..3 {
                let under = u32::from(sheet[dst + c]);
                let over = u32::from(ink[c]);
                sheet[dst + c] = ((over * alpha + under * (255 - alpha)) / 255) as u8;
            }
        }
    }
}

fn write_rgb(path: &Path, width: u32, height: u32, rgb: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(rgb).unwrap();
    writer.finish().unwrap();
}
