//! Encoding served files. Every file is written from pixels alone, so no metadata of the upload
//! (EXIF, GPS positions, XMP, comments) survives. WebP is lossy through libwebp: the `image`
//! crate only writes lossless WebP, larger than a JPEG for photos.

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, ImageEncoder};

use super::{EncodedFile, ImageType, MediaError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    /// The full-size file stands in for the upload: little loss.
    Original,
    /// Resized copies for screens: smaller files.
    Variant,
}

impl Quality {
    fn jpeg(self) -> u8 {
        match self {
            Quality::Original => 90,
            Quality::Variant => 82,
        }
    }

    fn webp(self) -> f32 {
        match self {
            Quality::Original => 90.0,
            Quality::Variant => 80.0,
        }
    }
}

/// `image` (RGB8 or RGBA8) as a file of type `kind`.
pub fn encode(
    image: &DynamicImage,
    kind: ImageType,
    quality: Quality,
) -> Result<EncodedFile, MediaError> {
    let (width, height) = (image.width(), image.height());
    let mut data = Vec::new();
    let failed = |e: image::ImageError| MediaError::Internal(anyhow::anyhow!("encoding: {e}"));
    match kind {
        ImageType::Jpeg => {
            let rgb = image.to_rgb8();
            JpegEncoder::new_with_quality(&mut data, quality.jpeg())
                .write_image(&rgb, width, height, image::ExtendedColorType::Rgb8)
                .map_err(failed)?;
        }
        ImageType::Png => {
            PngEncoder::new_with_quality(&mut data, CompressionType::Fast, FilterType::Adaptive)
                .write_image(image.as_bytes(), width, height, image.color().into())
                .map_err(failed)?;
        }
        ImageType::Gif => {
            let rgba = image.to_rgba8();
            GifEncoder::new_with_speed(&mut data, 10)
                .encode(&rgba, width, height, image::ExtendedColorType::Rgba8)
                .map_err(failed)?;
        }
        ImageType::Webp => {
            let encoder = if image.color().has_alpha() {
                webp::Encoder::from_rgba(image.as_bytes(), width, height)
            } else {
                webp::Encoder::from_rgb(image.as_bytes(), width, height)
            };
            let memory = encoder
                .encode_simple(false, quality.webp())
                .map_err(|e| MediaError::Internal(anyhow::anyhow!("encoding WebP: {e:?}")))?;
            data.extend_from_slice(&memory);
        }
    }
    Ok(EncodedFile::new(kind, width, height, data))
}
