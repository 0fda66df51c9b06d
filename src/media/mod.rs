//! Uploaded images (issue 16): checked, decoded, oriented, resized and re-encoded without their
//! metadata, off the async workers. Everything here works on bytes; the store keeps the results
//! and `api::media` serves them.

mod cache;
mod decode;
mod encode;
mod pool;
mod resize;

pub use cache::{CachedFile, FileCache};
pub use pool::Processor;

/// What the media routes share: the bounded pool uploads are processed on, and the files
/// kept in memory.
pub struct Media {
    pub processor: Processor,
    pub files: FileCache,
}

impl Media {
    pub fn new(settings: MediaSettings) -> Self {
        Self {
            files: FileCache::new(settings.cache_budget),
            processor: Processor::new(settings),
        }
    }
}

/// Widths of the resized copies, each made only when smaller than the original (never upscaled).
pub const VARIANT_WIDTHS: [u32; 4] = [320, 640, 1280, 1920];

const WEBP_MAX_SIDE: u32 = 16383;

pub const DEFAULT_MAX_BYTES: usize = 10 << 20;
pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;
pub const DEFAULT_MAX_FRAMES: u32 = 1000;
pub const DEFAULT_CACHE_BUDGET: usize = 64 << 20;

/// Limits of uploads and the memory kept for serving them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSettings {
    /// The largest upload accepted, in bytes.
    pub max_bytes: usize,
    /// The most pixels (width × height) an upload may declare; checked before decoding.
    pub max_pixels: u64,
    /// The most frames an animated GIF may have (only the first is served).
    pub max_frames: u32,
    /// Uploads decoded and resized at once; the rest wait their turn.
    pub workers: usize,
    /// Bytes of hot files kept in memory for `/media/…`.
    pub cache_budget: usize,
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            max_pixels: DEFAULT_MAX_PIXELS,
            max_frames: DEFAULT_MAX_FRAMES,
            workers: default_workers(),
            cache_budget: DEFAULT_CACHE_BUDGET,
        }
    }
}

/// Half the cores (at least one), so uploads never take every core from the readers.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// The image types Herald takes and serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageType {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl ImageType {
    pub const ALL: [ImageType; 4] = [
        ImageType::Jpeg,
        ImageType::Png,
        ImageType::Webp,
        ImageType::Gif,
    ];

    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
            ImageType::Webp => "image/webp",
            ImageType::Gif => "image/gif",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageType::Jpeg => "jpg",
            ImageType::Png => "png",
            ImageType::Webp => "webp",
            ImageType::Gif => "gif",
        }
    }

    /// A media type as sent in `Content-Type` (parameters ignored, any case).
    pub fn from_mime(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next()?.trim();
        Self::ALL
            .into_iter()
            .find(|t| t.mime().eq_ignore_ascii_case(essence))
    }

    /// The type of a stored file, by its extension.
    pub fn from_extension(ext: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.extension() == ext)
    }

    fn format(self) -> image::ImageFormat {
        match self {
            ImageType::Jpeg => image::ImageFormat::Jpeg,
            ImageType::Png => image::ImageFormat::Png,
            ImageType::Webp => image::ImageFormat::WebP,
            ImageType::Gif => image::ImageFormat::Gif,
        }
    }

    /// A human name for messages.
    pub fn name(self) -> &'static str {
        match self {
            ImageType::Jpeg => "JPEG",
            ImageType::Png => "PNG",
            ImageType::Webp => "WebP",
            ImageType::Gif => "GIF",
        }
    }
}

/// Why an upload was refused; each is the client's doing (a 4xx), but [`MediaError::Internal`].
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("the body is empty; send the image's bytes")]
    Empty,
    #[error("the body is not a JPEG, PNG, WebP or GIF image")]
    NotAnImage,
    #[error("the body is a {actual} image, not {declared} as Content-Type says")]
    Mismatch {
        actual: &'static str,
        declared: &'static str,
    },
    #[error("the image is {width}×{height} pixels, more than the limit of {limit} pixels")]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("the GIF has more than {limit} frames")]
    TooManyFrames { limit: u32 },
    #[error("the image is truncated or corrupt ({0})")]
    Corrupt(String),
    #[error("processing the image failed: {0:#}")]
    Internal(anyhow::Error),
}

/// One file to serve: the original or a variant, encoded, at its content-addressed path.
#[derive(Debug, Clone)]
pub struct EncodedFile {
    /// `<hex SHA-256 of the bytes, 32 digits>.<extension>`.
    pub path: String,
    pub kind: ImageType,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl EncodedFile {
    fn new(kind: ImageType, width: u32, height: u32, data: Vec<u8>) -> Self {
        Self {
            path: content_path(&data, kind),
            kind,
            width,
            height,
            data,
        }
    }
}

/// What an upload becomes.
#[derive(Debug, Clone)]
pub struct Processed {
    /// Hex SHA-256 of the uploaded bytes: the same upload twice is the same medium.
    pub source_hash: String,
    pub original: EncodedFile,
    pub variants: Vec<EncodedFile>,
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The content-addressed path of a file: 128 bits of its hash and its extension.
pub fn content_path(data: &[u8], kind: ImageType) -> String {
    format!("{}.{}", &sha256_hex(data)[..32], kind.extension())
}

/// Whether `path` could be one [`content_path`] made (so no other string reaches the store).
pub fn is_content_path(path: &str) -> bool {
    let Some((stem, ext)) = path.split_once('.') else {
        return false;
    };
    // A stem may carry `-<id>` when another medium holds a file with the same bytes.
    let (hash, suffix) = stem.split_once('-').unwrap_or((stem, "0"));
    hash.len() == 32
        && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && !suffix.is_empty()
        && suffix.len() <= 19
        && suffix.bytes().all(|b| b.is_ascii_digit())
        && ImageType::from_extension(ext).is_some()
}

/// Checks, decodes and re-encodes one upload (blocking: run it on [`Processor`]).
pub fn process(
    bytes: &[u8],
    declared: ImageType,
    settings: &MediaSettings,
) -> Result<Processed, MediaError> {
    let image = decode::decode(bytes, declared, settings)?;
    let original = encode::encode(&image, declared, encode::Quality::Original)?;
    let mut variants = Vec::new();
    let mut source = image;
    for width in VARIANT_WIDTHS.into_iter().rev() {
        if width >= source.width() {
            continue;
        }
        // Each smaller size from the next larger one: fewer pixels to read, same result.
        let resized = resize::to_width(&source, width)?;
        variants.push(encode::encode(
            &resized,
            declared,
            encode::Quality::Variant,
        )?);
        // WebP stops at 16383 pixels a side: a very tall image has no WebP copy.
        if declared != ImageType::Webp && resized.height() <= WEBP_MAX_SIDE {
            variants.push(encode::encode(
                &resized,
                ImageType::Webp,
                encode::Quality::Variant,
            )?);
        }
        source = resized;
    }
    variants.sort_by_key(|v| (v.width, v.kind != declared));
    Ok(Processed {
        source_hash: sha256_hex(bytes),
        original,
        variants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_paths_are_recognised_and_nothing_else() {
        let path = content_path(b"x", ImageType::Png);
        assert!(is_content_path(&path), "{path}");
        let stem = path.trim_end_matches(".png");
        assert!(is_content_path(&format!("{stem}-12.jpg")));
        for bad in [
            "",
            "x.png",
            &format!("{stem}.exe"),
            &format!("{stem}-.png"),
            &format!("{stem}-1a.png"),
            &format!("../{stem}.png"),
            &format!("{}.png", stem.to_uppercase()),
        ] {
            assert!(!is_content_path(bad), "{bad}");
        }
    }

    #[test]
    fn types_read_from_content_type_with_parameters() {
        assert_eq!(ImageType::from_mime("IMAGE/PNG; q=1"), Some(ImageType::Png));
        assert_eq!(ImageType::from_mime("image/svg+xml"), None);
    }
}
