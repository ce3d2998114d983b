//! The tray's icons: one PNG per [`IconName`] and [`Scale`], drawn by
//! `examples/gen_icons` (`cargo run -p amphigory --example gen_icons`) into
//! `assets/tray/` and embedded here with `include_bytes!` (the table in `icon_table.rs`
//! is generated with them). Black on transparent, so macOS can use them as template
//! images (recoloured for light and dark menu bars); Linux gets them tinted.

use std::io::Cursor;

use super::IconName;

#[path = "icon_table.rs"]
mod table;

/// Where the PNGs live, relative to the crate.
pub const ASSET_DIR: &str = "assets/tray";

/// The two resolutions of every icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scale {
    /// 22×22 pixels.
    X1,
    /// 44×44 pixels (Retina / HiDPI).
    X2,
}

impl Scale {
    /// Both scales.
    pub const ALL: [Self; 2] = [Self::X1, Self::X2];

    /// Width and height in pixels.
    pub fn size(self) -> u32 {
        match self {
            Self::X1 => 22,
            Self::X2 => 44,
        }
    }

    /// The file-name suffix (`""`, `"@2x"`).
    pub fn suffix(self) -> &'static str {
        match self {
            Self::X1 => "",
            Self::X2 => "@2x",
        }
    }
}

/// `working-paused@2x.png`.
pub fn file_name(icon: IconName, scale: Scale) -> String {
    format!("{}{}.png", icon.stem(), scale.suffix())
}

/// The embedded PNG of `icon` at `scale`.
pub fn png(icon: IconName, scale: Scale) -> Option<&'static [u8]> {
    let stem = icon.stem();
    table::ICONS
        .iter()
        .find(|(name, _, _)| *name == stem)
        .map(|(_, x1, x2)| match scale {
            Scale::X1 => *x1,
            Scale::X2 => *x2,
        })
}

/// A decoded icon: 8-bit RGBA, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgba {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// `width × height × 4` bytes: red, green, blue, alpha.
    pub pixels: Vec<u8>,
}

impl Rgba {
    /// The same alpha with every pixel's colour set to `rgb` (template icons are black).
    pub fn tinted(&self, rgb: [u8; 3]) -> Self {
        let mut pixels = self.pixels.clone();
        for px in pixels.chunks_exact_mut(4) {
            for (channel, value) in px.iter_mut().zip(rgb) {
                *channel = value;
            }
        }
        Self {
            pixels,
            ..self.clone()
        }
    }

    /// ARGB32 in network byte order (StatusNotifierItem `IconPixmap`).
    pub fn to_argb32(&self) -> Vec<u8> {
        self.pixels
            .chunks_exact(4)
            .flat_map(|px| match *px {
                [r, g, b, a] => [a, r, g, b],
                _ => [0; 4],
            })
            .collect()
    }
}

/// Why an icon could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum IconError {
    /// No such icon is embedded.
    #[error("no icon {0}")]
    Missing(String),
    /// The PNG does not decode.
    #[error("icon {name}: {source}")]
    Decode {
        /// Its file name.
        name: String,
        /// What failed.
        source: png::DecodingError,
    },
    /// Not 8-bit RGBA.
    #[error("icon {0}: not 8-bit RGBA")]
    Format(String),
}

/// The embedded icon, decoded.
pub fn load(icon: IconName, scale: Scale) -> Result<Rgba, IconError> {
    let name = file_name(icon, scale);
    let bytes = png(icon, scale).ok_or_else(|| IconError::Missing(name.clone()))?;
    decode(bytes).map_err(|e| match e {
        DecodeError::Png(source) => IconError::Decode { name, source },
        DecodeError::Format => IconError::Format(name),
    })
}

/// Why a PNG did not decode to RGBA.
#[derive(Debug)]
pub enum DecodeError {
    /// Not a valid PNG.
    Png(png::DecodingError),
    /// Valid, but not 8-bit RGBA.
    Format,
}

/// Decodes an 8-bit RGBA PNG (what the generator writes).
pub fn decode(bytes: &[u8]) -> Result<Rgba, DecodeError> {
    let decoder = png::Decoder::new(Cursor::new(bytes));
    let mut reader = decoder.read_info().map_err(DecodeError::Png)?;
    let size = reader.output_buffer_size().ok_or(DecodeError::Format)?;
    let mut pixels = vec![0; size];
    let info = reader.next_frame(&mut pixels).map_err(DecodeError::Png)?;
    if info.color_type != png::ColorType::Rgba || info.bit_depth != png::BitDepth::Eight {
        return Err(DecodeError::Format);
    }
    pixels.truncate(info.buffer_size());
    Ok(Rgba {
        width: info.width,
        height: info.height,
        pixels,
    })
}
