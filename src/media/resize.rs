//! Downscaling with `fast_image_resize` (SIMD convolution).

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;

use super::MediaError;

/// `image` scaled to `width`, keeping its aspect ratio (at least one pixel high).
pub fn to_width(image: &DynamicImage, width: u32) -> Result<DynamicImage, MediaError> {
    let height = ((u64::from(image.height()) * u64::from(width) + u64::from(image.width()) / 2)
        / u64::from(image.width()))
    .max(1) as u32;
    let mut out = DynamicImage::new(width, height, image.color());
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize(image, &mut out, &options)
        .map_err(|e| MediaError::Internal(anyhow::anyhow!("resizing: {e}")))?;
    Ok(out)
}
