//! Item images as readers get them (issue 16): absolute URLs, sizes, and a ready `srcset` built
//! from a medium's files (`{public URL}/media/{path}`), for the JSON API, feeds and pages alike.

use serde::Serialize;
use utoipa::ToSchema;

use crate::feeds::text::html_escaped as text;
use crate::model::{ImageSource, ItemImage, MediaFile};
use crate::urls::Urls;

/// Where a stored media file is served.
pub fn media_url(urls: &Urls, path: &str) -> String {
    urls.url(&format!("media/{path}"))
}

/// The stored path of a URL served under `{public URL}/media/`, if it is one.
pub fn media_path<'a>(urls: &Urls, url: &'a str) -> Option<&'a str> {
    let prefix = media_url(urls, "");
    let path = url.strip_prefix(prefix.as_str()).or_else(|| {
        // A root-relative reference (`/media/…`) under a public URL at the host's root.
        let root = urls.base().path();
        url.strip_prefix(root)?.strip_prefix("media/")
    })?;
    let path = path.split(['?', '#']).next().unwrap_or(path);
    (!path.is_empty()).then_some(path)
}

/// A set of candidates of one other type, for a `<source>` of a `<picture>` (e.g. WebP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ImageSourceSet, example = json!({"type": "image/webp", "srcset": "https://news.example/media/a.webp 320w"}))]
pub struct SourceSet {
    #[serde(rename = "type")]
    pub content_type: String,
    pub srcset: String,
}

/// An item's image as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ItemImageView, example = json!({
    "media_id": 3,
    "url": "https://news.example/media/3f/9a.jpg",
    "width": 1600,
    "height": 900,
    "type": "image/jpeg",
    "alt": "The team at the stand",
    "caption": "At the Mobile World Congress",
    "credit": "Photo: Telenor",
    "srcset": "https://news.example/media/1c.jpg 320w, https://news.example/media/3f/9a.jpg 1600w",
    "sources": [{"type": "image/webp", "srcset": "https://news.example/media/77.webp 320w"}]
}))]
pub struct ImageView {
    /// The uploaded medium shown (see `/api/v1/media`); `null` for an image hosted elsewhere.
    pub media_id: Option<i64>,
    /// The full-size image: the medium's original, or the external URL.
    pub url: String,
    /// Pixels; for an external image only when the writer gave them.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Media type of `url`, when known (always for media).
    #[serde(rename = "type")]
    pub content_type: Option<String>,
    pub alt: String,
    pub caption: Option<String>,
    pub credit: Option<String>,
    /// Ready for `<img srcset>`: every size of the original's type, smallest first
    /// (`url 320w, url 640w, …`).
    pub srcset: String,
    /// The same image in other types (e.g. WebP), for `<picture><source>`.
    pub sources: Vec<SourceSet>,
    /// Bytes of `url` (0 when unknown), for feed enclosures.
    #[serde(skip)]
    pub bytes: u64,
    /// The smallest candidate of the original's type, for feed thumbnails.
    #[serde(skip)]
    pub thumbnail: Option<Thumbnail>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub url: String,
    pub width: u32,
    pub height: u32,
}

fn candidates<'a>(urls: &Urls, files: impl Iterator<Item = &'a MediaFile>) -> String {
    let mut files: Vec<&MediaFile> = files.collect();
    files.sort_by_key(|f| (f.width, f.original));
    files
        .iter()
        .map(|f| format!("{} {}w", media_url(urls, &f.path), f.width))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ImageView {
    /// `None` for a medium without its original (which the store never keeps): no image is
    /// better than a broken one.
    pub fn new(image: &ItemImage, urls: &Urls) -> Option<Self> {
        let d = &image.draft;
        let texts = |view: Self| Self {
            alt: d.alt.clone(),
            caption: d.caption.clone(),
            credit: d.credit.clone(),
            ..view
        };
        let view = match &d.source {
            ImageSource::Url { url, width, height } => Self {
                media_id: None,
                url: url.clone(),
                width: *width,
                height: *height,
                content_type: content_type_of(url).map(str::to_owned),
                alt: String::new(),
                caption: None,
                credit: None,
                srcset: match width {
                    Some(w) => format!("{url} {w}w"),
                    None => url.clone(),
                },
                sources: Vec::new(),
                bytes: 0,
                thumbnail: None,
            },
            ImageSource::Media(id) => {
                let original = image.files.iter().find(|f| f.original)?;
                let same = |f: &&MediaFile| f.content_type == original.content_type;
                let mut others: Vec<&str> = image
                    .files
                    .iter()
                    .filter(|f| f.content_type != original.content_type)
                    .map(|f| f.content_type.as_str())
                    .collect();
                others.sort();
                others.dedup();
                let sources = others
                    .into_iter()
                    .map(|t| SourceSet {
                        content_type: t.to_owned(),
                        srcset: candidates(
                            urls,
                            image.files.iter().filter(|f| f.content_type == t),
                        ),
                    })
                    .collect();
                let thumbnail = image
                    .files
                    .iter()
                    .filter(same)
                    .min_by_key(|f| f.width)
                    .map(|f| Thumbnail {
                        url: media_url(urls, &f.path),
                        width: f.width,
                        height: f.height,
                    });
                Self {
                    media_id: Some(*id),
                    url: media_url(urls, &original.path),
                    width: Some(original.width),
                    height: Some(original.height),
                    content_type: Some(original.content_type.clone()),
                    alt: String::new(),
                    caption: None,
                    credit: None,
                    srcset: candidates(urls, image.files.iter().filter(same)),
                    sources,
                    bytes: original.bytes,
                    thumbnail,
                }
            }
        };
        Some(texts(view))
    }

    /// The media type for an enclosure: the known one, else `image/*` by the URL's extension,
    /// else `image/jpeg` (the most common; readers sniff the bytes anyway).
    pub fn enclosure_type(&self) -> &str {
        self.content_type.as_deref().unwrap_or("image/jpeg")
    }

    /// The image as the first thing of an HTML body: `<figure><img …><figcaption>…`, every
    /// text escaped.
    pub fn figure_html(&self) -> String {
        use std::fmt::Write;
        let mut html = String::from("<figure><img src=\"");
        html.push_str(&attr(&self.url));
        html.push_str("\" alt=\"");
        html.push_str(&attr(&self.alt));
        html.push('"');
        if let (Some(w), Some(h)) = (self.width, self.height) {
            let _ = write!(html, " width=\"{w}\" height=\"{h}\"");
        }
        html.push('>');
        html.push_str(&self.figcaption());
        html.push_str("</figure>\n");
        html
    }
}

impl ImageView {
    /// The image for an HTML page: a `<picture>` with a `<source>` per other type, the `<img>`
    /// with its `srcset`, size and alt text, and the caption; every text escaped.
    pub fn picture_html(&self) -> String {
        use std::fmt::Write;
        let sizes = match self.width {
            Some(w) => format!(" sizes=\"(max-width: {w}px) 100vw, {w}px\""),
            None => String::new(),
        };
        let mut html = String::from("<figure><picture>");
        for source in &self.sources {
            let _ = write!(
                html,
                "<source type=\"{}\" srcset=\"{}\"{sizes}>",
                attr(&source.content_type),
                attr(&source.srcset)
            );
        }
        let _ = write!(
            html,
            "<img src=\"{}\" srcset=\"{}\"{sizes} alt=\"{}\"",
            attr(&self.url),
            attr(&self.srcset),
            attr(&self.alt)
        );
        if let (Some(w), Some(h)) = (self.width, self.height) {
            let _ = write!(html, " width=\"{w}\" height=\"{h}\"");
        }
        html.push_str("></picture>");
        html.push_str(&self.figcaption());
        html.push_str("</figure>");
        html
    }

    fn figcaption(&self) -> String {
        let caption = match (&self.caption, &self.credit) {
            (Some(c), Some(r)) => format!("{} <small>{}</small>", text(c), text(r)),
            (Some(c), None) => text(c),
            (None, Some(r)) => format!("<small>{}</small>", text(r)),
            (None, None) => return String::new(),
        };
        format!("<figcaption>{caption}</figcaption>")
    }
}

/// The image type a URL's extension names, if it names one.
fn content_type_of(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next()?;
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => Some("image/jpeg"),
        "png" => Some("image/png"),
        "gif" => Some("image/gif"),
        "webp" => Some("image/webp"),
        "avif" => Some("image/avif"),
        "svg" => Some("image/svg+xml"),
        _ => None,
    }
}

/// An item's body for its HTML pages: its image first, when it has one.
pub fn page_html(item: &crate::model::NewsItem, urls: &Urls) -> String {
    match item.image.as_ref().and_then(|i| ImageView::new(i, urls)) {
        Some(image) => image.picture_html() + &item.content_html,
        None => item.content_html.clone(),
    }
}

/// Escaped for an HTML attribute value in double quotes.
pub fn attr(s: &str) -> String {
    text(s).replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ImageDraft;

    fn urls() -> Urls {
        Urls::new(url::Url::parse("https://news.example/").unwrap())
    }

    fn file(path: &str, original: bool, t: &str, width: u32) -> MediaFile {
        MediaFile {
            path: path.into(),
            original,
            content_type: t.into(),
            width,
            height: width / 2,
            bytes: 100,
        }
    }

    #[test]
    fn srcset_lists_the_originals_type_by_width_and_other_types_as_sources() {
        let image = ItemImage {
            draft: ImageDraft {
                source: ImageSource::Media(1),
                alt: "a \"b\" <c> & d".into(),
                caption: Some("<i>c</i>".into()),
                credit: None,
            },
            files: vec![
                file("o.jpg", true, "image/jpeg", 1000),
                file("s.jpg", false, "image/jpeg", 320),
                file("m.jpg", false, "image/jpeg", 640),
                file("s.webp", false, "image/webp", 320),
            ],
        };
        let view = ImageView::new(&image, &urls()).unwrap();
        assert_eq!(view.url, "https://news.example/media/o.jpg");
        assert_eq!(
            view.srcset,
            "https://news.example/media/s.jpg 320w, https://news.example/media/m.jpg 640w, \
             https://news.example/media/o.jpg 1000w"
        );
        assert_eq!(view.sources.len(), 1);
        assert_eq!(view.sources[0].content_type, "image/webp");
        assert_eq!(view.thumbnail.as_ref().unwrap().width, 320);
        assert_eq!(
            view.figure_html(),
            "<figure><img src=\"https://news.example/media/o.jpg\" alt=\"a &quot;b&quot; &lt;c&gt; \
             &amp; d\" width=\"1000\" height=\"500\"><figcaption>&lt;i&gt;c&lt;/i&gt;</figcaption>\
             </figure>\n"
        );
    }

    #[test]
    fn media_paths_are_found_in_absolute_and_root_relative_urls() {
        let urls = urls();
        assert_eq!(
            media_path(&urls, "https://news.example/media/ab/c.png?x=1"),
            Some("ab/c.png")
        );
        assert_eq!(media_path(&urls, "/media/ab/c.png"), Some("ab/c.png"));
        assert_eq!(media_path(&urls, "https://other.example/media/a.png"), None);
        assert_eq!(media_path(&urls, "/media/"), None);
    }
}
