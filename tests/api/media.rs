//! Image uploads and `/media/…` (issue 16): every type, variants, metadata stripped,
//! orientation, dedupe, paging, deletes, every bad upload, and how files are served.
//!
//! Item images have no API on this branch yet, so the 409 test puts a `news_images` row in with
//! SQL on the test's database (see `show_on_an_item`).

use std::io::Cursor;

use herald::clock::Clock;
use image::{DynamicImage, ImageEncoder, RgbImage, RgbaImage};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TestApp, assert_problem, spawn_adjusted, spawn_app};

/// A photo-like gradient, so encoders have something to do.
fn pixels(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            ((x + y) % 256) as u8,
        ])
    })
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(
            pixels(width, height).as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// One colour: a big image in a small file.
fn flat_jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(RgbImage::from_pixel(
        width,
        height,
        image::Rgb([40, 90, 160]),
    ))
    .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
    .unwrap();
    out
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let rgba = RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([
            (x % 256) as u8,
            (y % 256) as u8,
            90,
            if x < 5 { 0 } else { 255 },
        ])
    });
    let mut out = Vec::new();
    DynamicImage::ImageRgba8(rgba)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn webp(width: u32, height: u32) -> Vec<u8> {
    let rgb = pixels(width, height);
    webp::Encoder::from_rgb(rgb.as_raw(), width, height)
        .encode(80.0)
        .to_vec()
}

/// A GIF of `frames` frames (tiny ones after the first keep big counts cheap).
fn gif(width: u32, height: u32, frames: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut out, width as u16, height as u16, &[]).unwrap();
        let mut rgba =
            RgbaImage::from_pixel(width, height, image::Rgba([200, 30, 30, 255])).into_raw();
        let first = gif::Frame::from_rgba_speed(width as u16, height as u16, &mut rgba, 30);
        encoder.write_frame(&first).unwrap();
        for _ in 1..frames {
            let mut one = vec![10, 200, 10, 255];
            let frame = gif::Frame::from_rgba_speed(1, 1, &mut one, 30);
            encoder.write_frame(&frame).unwrap();
        }
    }
    out
}

/// What the test looks for in served files: it sits in the GPS block of the EXIF below.
const GPS_MARK: &[u8] = b"HERALDGPS";

/// `jpeg` with an EXIF segment (APP1) holding `orientation` and a GPS block.
fn jpeg_with_exif(width: u32, height: u32, orientation: u16) -> Vec<u8> {
    let mut tiff: Vec<u8> = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    // IFD0 at 8: Orientation, and the GPS IFD's offset (38).
    tiff.extend([0, 2]);
    tiff.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    tiff.extend(orientation.to_be_bytes());
    tiff.extend([0, 0]);
    tiff.extend([0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]);
    tiff.extend([0, 0, 0, 0]);
    // The GPS IFD at 38: latitude reference `N`, and a map datum string at 68.
    tiff.extend([0, 2]);
    tiff.extend([0x00, 0x01, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend([0x00, 0x12, 0, 2, 0, 0, 0, 10, 0, 0, 0, 68]);
    tiff.extend([0, 0, 0, 0]);
    assert_eq!(tiff.len(), 68);
    tiff.extend(GPS_MARK);
    tiff.push(0);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend(((2 + 6 + tiff.len()) as u16).to_be_bytes());
    segment.extend(b"Exif\x00\x00");
    segment.extend(tiff);
    let plain = jpeg(width, height);
    let mut out = plain[..2].to_vec();
    out.extend(segment);
    out.extend(&plain[2..]);
    out
}

async fn upload(
    app: &TestApp,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.authed(Method::POST, "/api/v1/media", token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Uploads and expects a new medium.
async fn created(app: &TestApp, token: &str, content_type: &str, body: Vec<u8>) -> Value {
    let response = upload(app, token, content_type, body).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let medium: Value = response.json().await.unwrap();
    assert!(
        location.ends_with(&format!("/api/v1/media/{}", medium["id"])),
        "{location}"
    );
    medium
}

/// Every URL of a medium: the original's, then each variant's.
fn urls(medium: &Value) -> Vec<String> {
    let mut all = vec![medium["url"].as_str().unwrap().to_owned()];
    for v in medium["variants"].as_array().unwrap() {
        all.push(v["url"].as_str().unwrap().to_owned());
    }
    all
}

async fn fetch(app: &TestApp, url: &str) -> reqwest::Response {
    app.client.get(url).send().await.unwrap()
}

#[tokio::test]
async fn each_type_is_stored_with_variants_in_its_type_and_webp_never_upscaled() {
    let app = spawn_app().await;
    let token = app.token().await;
    let cases = [
        ("image/jpeg", jpeg(1000, 500), "image/jpeg"),
        ("image/png", png(700, 350), "image/png"),
        ("image/webp", webp(400, 200), "image/webp"),
        ("image/gif", gif(330, 100, 1), "image/gif"),
    ];
    for (content_type, body, served) in cases {
        let medium = created(&app, &token, content_type, body).await;
        assert_eq!(medium["type"], served, "{medium}");
        let width = medium["width"].as_i64().unwrap();
        let height = medium["height"].as_i64().unwrap();
        let expected_widths: Vec<i64> = [320, 640, 1280, 1920]
            .into_iter()
            .filter(|w| *w < width)
            .collect();
        let variants = medium["variants"].as_array().unwrap();
        let mut widths: Vec<i64> = variants
            .iter()
            .map(|v| v["width"].as_i64().unwrap())
            .collect();
        widths.dedup();
        assert_eq!(widths, expected_widths, "{medium}");
        for v in variants {
            let w = v["width"].as_i64().unwrap();
            assert_eq!(
                v["height"].as_i64().unwrap(),
                (height * w + width / 2) / width,
                "{v}"
            );
        }
        for w in &expected_widths {
            let types: Vec<&str> = variants
                .iter()
                .filter(|v| v["width"] == *w)
                .map(|v| v["type"].as_str().unwrap())
                .collect();
            if served == "image/webp" {
                assert_eq!(types, ["image/webp"]);
            } else {
                assert_eq!(types, [served, "image/webp"], "{medium}");
            }
        }
        // Every file is served, as the type it says, with the size it says.
        let originals = std::iter::once((medium["url"].clone(), served, width, height));
        let all = originals.chain(variants.iter().map(|v| {
            (
                v["url"].clone(),
                v["type"].as_str().unwrap(),
                v["width"].as_i64().unwrap(),
                v["height"].as_i64().unwrap(),
            )
        }));
        for (url, kind, w, h) in all {
            let response = fetch(&app, url.as_str().unwrap()).await;
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["content-type"], kind);
            let bytes = response.bytes().await.unwrap();
            let decoded = image::load_from_memory(&bytes).unwrap();
            assert_eq!(
                (decoded.width() as i64, decoded.height() as i64),
                (w, h),
                "{url}"
            );
        }
        // GET reads the same medium back.
        let id = medium["id"].as_i64().unwrap();
        let read: Value = app
            .authed(Method::GET, &format!("/api/v1/media/{id}"), &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(read, medium);
    }
}

#[tokio::test]
async fn exif_gps_is_gone_from_every_served_file_and_orientation_is_applied() {
    let app = spawn_app().await;
    let token = app.token().await;
    // Orientation 6: the camera was turned; the stored pixels are 800×400, shown 400×800.
    let upload_bytes = jpeg_with_exif(800, 400, 6);
    assert!(upload_bytes.windows(GPS_MARK.len()).any(|w| w == GPS_MARK));
    let medium = created(&app, &token, "image/jpeg", upload_bytes).await;
    assert_eq!(
        (medium["width"].as_i64(), medium["height"].as_i64()),
        (Some(400), Some(800))
    );
    let served = urls(&medium);
    // The original, and at 320 wide a JPEG and a WebP.
    assert_eq!(served.len(), 3, "{medium}");
    for url in served {
        let bytes = fetch(&app, &url).await.bytes().await.unwrap();
        assert!(
            !bytes.windows(GPS_MARK.len()).any(|w| w == GPS_MARK),
            "{url} keeps GPS"
        );
        assert!(!bytes.windows(4).any(|w| w == b"Exif"), "{url} keeps EXIF");
        let decoded = image::load_from_memory(&bytes).unwrap();
        assert!(decoded.height() > decoded.width(), "{url} is not turned");
    }
}

#[tokio::test]
async fn the_same_bytes_twice_are_the_same_medium() {
    let app = spawn_app().await;
    let token = app.token().await;
    let first = created(&app, &token, "image/png", png(50, 40)).await;
    let again = upload(&app, &token, "image/png", png(50, 40)).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    let list: Value = app
        .authed(Method::GET, "/api/v1/media", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["media"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_list_pages_newest_first() {
    let app = spawn_app().await;
    let token = app.token().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            created(&app, &token, "image/png", png(10 + n, 10)).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut path = "/api/v1/media?limit=2".to_owned();
    loop {
        let page: Value = app
            .authed(Method::GET, &path, &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let media = page["media"].as_array().unwrap();
        assert!(media.len() <= 2);
        seen.extend(media.iter().map(|m| m["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/media?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    for bad in ["limit=0", "limit=101", "limit=x", "cursor=nope"] {
        let response = app
            .authed(Method::GET, &format!("/api/v1/media?{bad}"), &token)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400).await;
    }
}

/// Puts the medium on the first item as its image, in SQL: item images have no API here yet.
async fn show_on_an_item(app: &TestApp, media_id: i64) {
    let sql = "INSERT INTO news_images (item_id, media_id, alt) \
               VALUES ((SELECT min(id) FROM news_items), $1, 'A test image')";
    if herald::store::is_postgres_url(&app.database_url) {
        let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        sqlx::query(sql)
            .bind(media_id)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
        sqlx::query(sql)
            .bind(media_id)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

#[tokio::test]
async fn delete_is_refused_while_an_item_shows_the_medium() {
    let app = spawn_app().await;
    let token = app.token().await;
    let shown = created(&app, &token, "image/jpeg", jpeg(400, 300)).await;
    let unused = created(&app, &token, "image/jpeg", jpeg(300, 300)).await;
    show_on_an_item(&app, shown["id"].as_i64().unwrap()).await;
    let delete = |id: &Value| {
        app.authed(Method::DELETE, &format!("/api/v1/media/{id}"), &token)
            .send()
    };
    let body = assert_problem(delete(&shown["id"]).await.unwrap(), 409).await;
    assert_eq!(body["errors"][0]["field"], "id");
    assert_eq!(
        fetch(&app, shown["url"].as_str().unwrap()).await.status(),
        200
    );

    let files = urls(&unused);
    // Served once, so the file is in memory too: the delete must reach it there.
    assert_eq!(fetch(&app, &files[0]).await.status(), 200);
    assert_eq!(delete(&unused["id"]).await.unwrap().status(), 204);
    for url in files {
        assert_problem(fetch(&app, &url).await, 404).await;
    }
    assert_problem(delete(&unused["id"]).await.unwrap(), 404).await;
    let gone = app
        .authed(
            Method::GET,
            &format!("/api/v1/media/{}", unused["id"]),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_problem(gone, 404).await;
}

#[tokio::test]
async fn every_bad_upload_is_a_clear_4xx() {
    let app = spawn_adjusted(|s| {
        s.media.max_bytes = 64 * 1024;
        s.media.max_pixels = 1_000_000;
        s.media.max_frames = 50;
    })
    .await;
    let token = app.token().await;
    let good = jpeg(300, 200);
    let mut truncated = jpeg(600, 400);
    truncated.truncate(truncated.len() / 2);
    let mut truncated_png = png(300, 300);
    truncated_png.truncate(truncated_png.len() / 2);
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        ("empty body", "image/jpeg", Vec::new(), 422),
        (
            "not an image",
            "image/png",
            b"hello, world, not a picture".to_vec(),
            422,
        ),
        ("type mismatch", "image/png", good.clone(), 422),
        ("unsupported type", "image/svg+xml", b"<svg/>".to_vec(), 415),
        ("no type", "application/octet-stream", good.clone(), 415),
        ("truncated JPEG", "image/jpeg", truncated, 422),
        ("truncated PNG", "image/png", truncated_png, 422),
        ("too big", "image/jpeg", vec![0xFF; 65 * 1024], 413),
        // 2000×1000 is two megapixels, over the limit of one: refused from the header.
        ("too many pixels", "image/jpeg", flat_jpeg(2000, 1000), 422),
        ("too many frames", "image/gif", gif(20, 20, 51), 422),
    ];
    for (what, content_type, body, status) in cases {
        let response = upload(&app, &token, content_type, body).await;
        let problem = assert_problem(response, status).await;
        if status == 422 {
            assert_eq!(problem["errors"][0]["field"], "body", "{what}: {problem}");
        }
        println!("{what}: {}", problem["errors"][0]["message"]);
    }
    // Fifty frames are fine; only the first is served.
    let medium = created(&app, &token, "image/gif", gif(20, 20, 50)).await;
    assert_eq!(medium["width"], 20);
    // Without a token, nothing is read at all.
    let anonymous = app
        .client
        .post(app.url("/api/v1/media"))
        .header("Content-Type", "image/jpeg")
        .body(good)
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401).await;
    // Nothing half-written: only the GIF is there.
    let list: Value = app
        .authed(Method::GET, "/api/v1/media", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["media"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_token_without_the_media_scope_cannot_upload() {
    let app = spawn_app().await;
    let writer = herald::auth::issue_with(
        &app.state.store,
        &herald::auth::TokenSpec {
            name: "writer".to_owned(),
            scopes: herald::auth::Scopes::parse_list("write").unwrap(),
            expires_at: None,
        },
        app.clock.now(),
    )
    .await
    .unwrap();
    let response = upload(&app, &writer, "image/png", png(10, 10)).await;
    assert_problem(response, 403).await;
}

#[tokio::test]
async fn files_are_served_immutable_with_etags_304s_and_ranges() {
    let app = spawn_app().await;
    let token = app.token().await;
    let medium = created(&app, &token, "image/png", png(100, 80)).await;
    let url = medium["url"].as_str().unwrap();
    assert!(url.starts_with(&app.url("/media/")), "{url}");
    let response = fetch(&app, url).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers["accept-ranges"], "bytes");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len() as i64, medium["bytes"].as_i64().unwrap());
    assert_eq!(headers["content-length"], body.len().to_string().as_str());

    let get = |headers: Vec<(&'static str, String)>| {
        let mut request = app.client.get(url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let not_modified = get(vec![("If-None-Match", etag.clone())]).await.unwrap();
    assert_eq!(not_modified.status(), 304);
    assert_eq!(not_modified.headers()["etag"], etag.as_str());
    assert_eq!(
        get(vec![("If-None-Match", "\"other\"".into())])
            .await
            .unwrap()
            .status(),
        200
    );

    let part = get(vec![("Range", "bytes=0-9".into())]).await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 0-9/{}", body.len()).as_str()
    );
    assert_eq!(part.bytes().await.unwrap(), body[..10]);
    let tail = get(vec![("Range", "bytes=-5".into())]).await.unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap(), body[body.len() - 5..]);

    let outside = get(vec![("Range", format!("bytes={}-", body.len()))])
        .await
        .unwrap();
    assert_eq!(
        outside.headers()["content-range"],
        format!("bytes */{}", body.len()).as_str()
    );
    assert_problem(outside, 416).await;

    let current = get(vec![
        ("Range", "bytes=0-9".into()),
        ("If-Range", etag.clone()),
    ])
    .await;
    assert_eq!(current.unwrap().status(), 206);
    let stale = get(vec![
        ("Range", "bytes=0-9".into()),
        ("If-Range", "\"old\"".into()),
    ])
    .await;
    let stale = stale.unwrap();
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.bytes().await.unwrap(), body);

    let head = app.client.head(url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["etag"], etag.as_str());

    for unknown in [
        "/media/00000000000000000000000000000000.png",
        "/media/nothing.png",
        "/media/..%2Fherald.db",
    ] {
        assert_problem(app.get(unknown).await, 404).await;
    }
    let post = app.client.post(url).send().await.unwrap();
    assert_problem(post, 405).await;
}

/// Every medium of `app` as listed, with its URLs made relative to the server.
async fn listed(app: &TestApp, token: &str) -> Vec<Value> {
    let list: Value = app
        .authed(Method::GET, "/api/v1/media?limit=100", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = list["media"].to_string().replace(app.base.as_str(), "/");
    serde_json::from_str(&text).unwrap()
}

/// The bytes of every file of `media` on `app`.
async fn files_of(app: &TestApp, media: &[Value]) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    for medium in media {
        for url in urls(medium) {
            let response = app.get(&url).await;
            assert_eq!(response.status(), 200, "{url}");
            all.push(response.bytes().await.unwrap().to_vec());
        }
    }
    all
}

#[tokio::test]
async fn export_and_copy_store_carry_media_with_their_files() {
    use std::sync::Arc;
    let original = spawn_app().await;
    let token = original.token().await;
    created(&original, &token, "image/jpeg", jpeg(700, 400)).await;
    let gone = created(&original, &token, "image/png", png(30, 30)).await;
    created(&original, &token, "image/gif", gif(40, 20, 3)).await;
    let response = original
        .authed(
            Method::DELETE,
            &format!("/api/v1/media/{}", gone["id"]),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let media = listed(&original, &token).await;
    assert_eq!(media.len(), 2);
    let files = files_of(&original, &media).await;

    // herald export, then import into an empty store.
    let mut export = Vec::new();
    herald::import::export::write(&original.state.store, &mut export)
        .await
        .unwrap();
    let restored =
        crate::helpers::spawn_with(Arc::new(tempfile::TempDir::new().unwrap()), None).await;
    let counts = herald::import::export::restore(&restored.state.store, &mut export.as_slice())
        .await
        .unwrap();
    assert_eq!(counts.media, 2);
    // herald copy-store, into a store that already has a medium (forced over).
    let copied =
        crate::helpers::spawn_with(Arc::new(tempfile::TempDir::new().unwrap()), None).await;
    let copy_token = copied.token().await;
    created(&copied, &copy_token, "image/png", png(12, 12)).await;
    let report = herald::store::copy::copy_store(&original.state.store, &copied.state.store, true)
        .await
        .unwrap();
    assert_eq!(report.copied.media, 2);

    for target in [&restored, &copied] {
        let token = target.token().await;
        assert_eq!(listed(target, &token).await, media);
        assert_eq!(files_of(target, &media).await, files);
        // New uploads take ids after the copied ones.
        let new = created(target, &token, "image/png", png(20, 21)).await;
        assert!(
            new["id"].as_i64().unwrap() > media[0]["id"].as_i64().unwrap(),
            "{new}"
        );
    }
}
