//! From uploaded bytes to oriented pixels, refusing what is not worth decoding first: the type
//! is sniffed from the bytes, the dimensions and a GIF's frames are read from the headers, and
//! only then are pixels decoded (within allocation limits).

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};

use super::{ImageType, MediaError, MediaSettings};

/// Oriented pixels of `bytes`, 8 bits a channel (RGB, or RGBA when the image has alpha).
pub fn decode(
    bytes: &[u8],
    declared: ImageType,
    settings: &MediaSettings,
) -> Result<DynamicImage, MediaError> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    let actual = sniff(bytes).ok_or(MediaError::NotAnImage)?;
    if actual != declared {
        return Err(MediaError::Mismatch {
            actual: actual.name(),
            declared: declared.mime(),
        });
    }
    let (width, height) = reader(bytes, actual, settings)
        .into_dimensions()
        .map_err(corrupt)?;
    if u64::from(width) * u64::from(height) > settings.max_pixels {
        return Err(MediaError::TooManyPixels {
            width,
            height,
            limit: settings.max_pixels,
        });
    }
    match actual {
        ImageType::Gif => count_frames(bytes, settings.max_frames)?,
        ImageType::Jpeg if !jpeg_is_complete(bytes) => {
            return Err(MediaError::Corrupt(
                "the JPEG ends before its image data does".to_owned(),
            ));
        }
        _ => {}
    }
    let mut decoder = reader(bytes, actual, settings)
        .into_decoder()
        .map_err(corrupt)?;
    let orientation = decoder.orientation().map_err(corrupt)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    image.apply_orientation(orientation);
    Ok(if image.color().has_alpha() {
        DynamicImage::ImageRgba8(image.into_rgba8())
    } else {
        DynamicImage::ImageRgb8(image.into_rgb8())
    })
}

/// The type the bytes themselves say, if it is one Herald takes.
fn sniff(bytes: &[u8]) -> Option<ImageType> {
    ImageType::ALL
        .into_iter()
        .find(|t| image::guess_format(bytes).ok() == Some(t.format()))
}

fn reader<'a>(
    bytes: &'a [u8],
    kind: ImageType,
    settings: &MediaSettings,
) -> ImageReader<Cursor<&'a [u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    let mut limits = Limits::default();
    let side = u32::try_from(settings.max_pixels).unwrap_or(u32::MAX);
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    // Room for the pixels at 16 bits a channel with alpha, plus the decoder's own buffers.
    limits.max_alloc = Some(settings.max_pixels.saturating_mul(8) + (16 << 20));
    reader.limits(limits);
    reader
}

/// Whether an end-of-image marker follows the last start-of-scan one. The JPEG decoder fills
/// the missing part of a truncated file with grey instead of failing; neither marker can occur
/// inside entropy-coded data (a 0xFF there is always followed by 0x00 or a restart marker), and
/// an embedded thumbnail's markers come before the image's own scans.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let Some(scan) = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]) else {
        return false;
    };
    bytes[scan..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Counts a GIF's frames without decoding their pixels, stopping past `limit`.
fn count_frames(bytes: &[u8], limit: u32) -> Result<(), MediaError> {
    let mut options = gif::DecodeOptions::new();
    options.skip_frame_decoding(true);
    let mut decoder = options
        .read_info(Cursor::new(bytes))
        .map_err(|e| MediaError::Corrupt(e.to_string()))?;
    let mut frames = 0u32;
    while decoder
        .read_next_frame()
        .map_err(|e| MediaError::Corrupt(e.to_string()))?
        .is_some()
    {
        frames += 1;
        if frames > limit {
            return Err(MediaError::TooManyFrames { limit });
        }
    }
    if frames == 0 {
        return Err(MediaError::Corrupt("the GIF has no frames".to_owned()));
    }
    Ok(())
}

fn corrupt(e: ImageError) -> MediaError {
    match e {
        ImageError::Limits(limit) => {
            MediaError::Corrupt(format!("it needs more memory than allowed: {limit}"))
        }
        ImageError::Unsupported(e) => MediaError::Corrupt(format!("unsupported: {e}")),
        other => MediaError::Corrupt(other.to_string()),
    }
}
