//! Uploaded images made safe to serve: the type read from the bytes, decoding bounded before a
//! pixel is decoded, the orientation applied, and a display size and a thumbnail encoded again as
//! WebP. Nothing of the upload's metadata (EXIF with its GPS position, XMP, comments) reaches what
//! is served, because what is served is new pixels in a new file. No database, no HTTP.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// The image types an upload may be, read from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Gif,
    WebP,
}

impl Kind {
    /// The media type of the type.
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Gif => "image/gif",
            Kind::WebP => "image/webp",
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
            Kind::Gif => ImageFormat::Gif,
            Kind::WebP => ImageFormat::WebP,
        }
    }
}

/// The type of an image from its signature; `None` for anything else (text, SVG, HTML, PDF, …),
/// whatever its file name or the type its sender claimed.
pub fn sniff(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Kind::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Kind::Png)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(Kind::Gif)
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(Kind::WebP)
    } else {
        None
    }
}

/// How far decoding may go.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// The longest side an upload may have, in pixels.
    pub max_side: u32,
    /// The most pixels an upload may have (width × height).
    pub max_pixels: u64,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_side: 12_000,
            max_pixels: 40_000_000,
        }
    }
}

/// The longest side of the display size.
pub const DISPLAY_SIDE: u32 = 1600;
/// The longest side of the thumbnail.
pub const THUMBNAIL_SIDE: u32 = 320;
/// WebP quality of what is served (0–100).
const QUALITY: f32 = 82.0;

/// Why an upload is not an image Gloss serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not JPEG, PNG, GIF or WebP by its bytes.
    NotAnImage,
    /// Its header declares more pixels than decoding may make (a decompression bomb, or simply
    /// too large a picture).
    TooManyPixels { width: u32, height: u32 },
    /// It says it is an image but does not decode.
    Corrupt(String),
}

/// One encoded picture.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// An upload made ready to store.
#[derive(Debug, Clone)]
pub struct Processed {
    pub kind: Kind,
    /// The upload's size in pixels with its orientation applied.
    pub width: u32,
    pub height: u32,
    pub display: Encoded,
    pub thumbnail: Encoded,
}

/// What one square size of an avatar is.
pub const AVATAR_SIDES: [u32; 3] = [64, 128, 256];

/// Decodes an upload within `bounds` and applies its orientation. An animated GIF or WebP gives
/// its first frame.
pub fn decode(bytes: &[u8], bounds: Bounds) -> Result<(Kind, DynamicImage), Refused> {
    // a decoder that panics on a crafted file refuses the file, nothing more
    std::panic::catch_unwind(|| decode_unguarded(bytes, bounds))
        .unwrap_or_else(|_| Err(Refused::Corrupt("the decoder could not read it".into())))
}

fn decode_unguarded(bytes: &[u8], bounds: Bounds) -> Result<(Kind, DynamicImage), Refused> {
    let kind = sniff(bytes).ok_or(Refused::NotAnImage)?;
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(kind.format());
    let mut limits = Limits::default();
    limits.max_image_width = Some(bounds.max_side);
    limits.max_image_height = Some(bounds.max_side);
    // the decoded picture (4 bytes a pixel) and the decoder's own buffers
    limits.max_alloc = Some(bounds.max_pixels * 4 + (64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| refusal(e, bytes))?;
    let (width, height) = decoder.dimensions();
    if width == 0
        || height == 0
        || width > bounds.max_side
        || height > bounds.max_side
        || u64::from(width) * u64::from(height) > bounds.max_pixels
    {
        return Err(Refused::TooManyPixels { width, height });
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|e| refusal(e, bytes))?;
    picture.apply_orientation(orientation);
    Ok((kind, picture))
}

fn refusal(e: image::ImageError, bytes: &[u8]) -> Refused {
    match e {
        image::ImageError::Limits(_) => {
            let (width, height) = declared_size(bytes).unwrap_or((0, 0));
            Refused::TooManyPixels { width, height }
        }
        e => Refused::Corrupt(e.to_string()),
    }
}

/// The size a header declares, for the message of a refusal (best effort).
fn declared_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(sniff(bytes)?.format());
    reader.no_limits();
    reader.into_dimensions().ok()
}

/// Makes the display size and the thumbnail of an upload.
pub fn process(bytes: &[u8], bounds: Bounds) -> Result<Processed, Refused> {
    let (kind, picture) = decode(bytes, bounds)?;
    let (width, height) = (picture.width(), picture.height());
    let display = encode_within(&picture, DISPLAY_SIDE);
    let thumbnail = encode_within(&picture, THUMBNAIL_SIDE);
    Ok(Processed {
        kind,
        width,
        height,
        display,
        thumbnail,
    })
}

/// Square crops of an upload, centred, scaled to each side of `AVATAR_SIDES`.
pub fn avatar(bytes: &[u8], bounds: Bounds) -> Result<Vec<Encoded>, Refused> {
    let (_, picture) = decode(bytes, bounds)?;
    let side = picture.width().min(picture.height());
    let square = picture.crop_imm(
        (picture.width() - side) / 2,
        (picture.height() - side) / 2,
        side,
        side,
    );
    Ok(AVATAR_SIDES
        .iter()
        .map(|&s| {
            // always the exact size, so that clients can lay cards out by it (a small picture
            // is scaled up)
            let sized = if side == s {
                square.clone()
            } else {
                square.resize_exact(s, s, image::imageops::FilterType::Lanczos3)
            };
            webp(&sized)
        })
        .collect())
}

/// The picture scaled down (never up) to fit `side` on its longest side, as WebP.
fn encode_within(picture: &DynamicImage, side: u32) -> Encoded {
    if picture.width() <= side && picture.height() <= side {
        webp(picture)
    } else {
        webp(&picture.resize(side, side, image::imageops::FilterType::Lanczos3))
    }
}

/// Lossy WebP; with an alpha channel only when the picture has one.
fn webp(picture: &DynamicImage) -> Encoded {
    let (width, height) = (picture.width(), picture.height());
    let memory = if picture.color().has_alpha() {
        let rgba = picture.to_rgba8();
        webp::Encoder::from_rgba(&rgba, width, height).encode(QUALITY)
    } else {
        let rgb = picture.to_rgb8();
        webp::Encoder::from_rgb(&rgb, width, height).encode(QUALITY)
    };
    Encoded {
        bytes: memory.to_vec(),
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = DynamicImage::new_rgb8(width, height);
        let mut out = Cursor::new(Vec::new());
        picture.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn the_type_comes_from_the_bytes() {
        assert_eq!(sniff(&png(2, 2)), Some(Kind::Png));
        assert_eq!(sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), None);
        assert_eq!(sniff(b"hello, I am a .png"), None);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Kind::WebP));
        assert_eq!(sniff(b"GIF89a"), Some(Kind::Gif));
    }

    #[test]
    fn large_pictures_are_scaled_down_and_small_ones_kept() {
        let p = process(&png(3200, 800), Bounds::default()).unwrap();
        assert_eq!((p.width, p.height), (3200, 800));
        assert_eq!((p.display.width, p.display.height), (1600, 400));
        assert_eq!((p.thumbnail.width, p.thumbnail.height), (320, 80));
        assert_eq!(sniff(&p.display.bytes), Some(Kind::WebP));
        let p = process(&png(40, 30), Bounds::default()).unwrap();
        assert_eq!((p.display.width, p.thumbnail.width), (40, 40));
    }

    #[test]
    fn a_header_declaring_too_many_pixels_is_refused_before_decoding() {
        let bounds = Bounds {
            max_side: 1000,
            max_pixels: 100_000,
        };
        assert!(matches!(
            process(&png(2000, 10), bounds),
            Err(Refused::TooManyPixels {
                width: 2000,
                height: 10
            })
        ));
        assert!(matches!(
            process(&png(500, 500), bounds),
            Err(Refused::TooManyPixels { .. })
        ));
    }

    #[test]
    fn a_truncated_image_is_corrupt() {
        let bytes = png(50, 50);
        assert!(matches!(
            process(&bytes[..40], Bounds::default()),
            Err(Refused::Corrupt(_))
        ));
    }

    #[test]
    fn avatars_are_centred_squares() {
        let sizes = avatar(&png(600, 300), Bounds::default()).unwrap();
        let sides: Vec<(u32, u32)> = sizes.iter().map(|e| (e.width, e.height)).collect();
        assert_eq!(sides, vec![(64, 64), (128, 128), (256, 256)]);
    }
}
