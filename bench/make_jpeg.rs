//! A photo-sized test JPEG for `bench/media.sh`: gradients with grain, so the encoder and
//! decoder have real work (a flat image would be unrealistically cheap).
//!
//!     cargo run --release --example make_jpeg -- 4000 3000 photo.jpg

use image::{ExtendedColorType, ImageEncoder, RgbImage};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, width, height, out] = args.as_slice() else {
        eprintln!("usage: make_jpeg WIDTH HEIGHT OUT.jpg");
        std::process::exit(2);
    };
    let (width, height): (u32, u32) = (width.parse().unwrap(), height.parse().unwrap());
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let image = RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let grain = (seed % 24) as u32;
        image::Rgb([
            ((x * 200 / width) + grain) as u8,
            ((y * 200 / height) + grain) as u8,
            (((x + y) * 100 / (width + height)) + 60 + grain) as u8,
        ])
    });
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
        .write_image(image.as_raw(), width, height, ExtendedColorType::Rgb8)
        .unwrap();
    std::fs::write(out, bytes).unwrap();
}
