//! Reading an XML file an importer was given, defensively: a size bound, UTF-8 only, no
//! document type declarations (so no entity can expand: "billion laughs" and external
//! entities are refused outright, not merely left unexpanded) and well-formed to the last tag
//! (so a truncated file is refused). Every refusal names the line.

use anyhow::bail;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// The largest XML file read: the whole file is held in memory (the rss and atom parsers want
/// all of it), so this bounds the memory an import can take.
pub const MAX_XML_BYTES: usize = 256 * 1024 * 1024;

/// The 1-based line of byte `pos` in `bytes`.
pub fn line_of(bytes: &[u8], pos: usize) -> usize {
    bytes[..pos.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// What the root element of a checked document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// Its name as written, prefix included (`rss`, `feed`, `atom:feed`).
    pub name: String,
    /// Its `xmlns` and `xmlns:*` declarations as (attribute, URI).
    pub namespaces: Vec<(String, String)>,
}

/// Checks `bytes` as described above and returns them as text with the root element.
pub fn check(bytes: &[u8]) -> anyhow::Result<(&str, Root)> {
    check_within(bytes, MAX_XML_BYTES)
}

fn check_within(bytes: &[u8], max: usize) -> anyhow::Result<(&str, Root)> {
    if bytes.len() > max {
        bail!(
            "the file is {} bytes; XML files up to {max} bytes are read",
            bytes.len()
        );
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => bail!(
            "line {}: the file is not UTF-8 (a byte that is not UTF-8 text); Herald reads XML in \
             UTF-8 only: convert it, e.g. with `iconv -t UTF-8`",
            line_of(bytes, e.valid_up_to())
        ),
    };
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut root: Option<Root> = None;
    let mut open: Vec<(String, usize)> = Vec::new();
    loop {
        let at = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let pos = reader.error_position() as usize;
                bail!("line {}: not well-formed XML: {e}", line_of(bytes, pos));
            }
        };
        match event {
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding() {
                    let encoding = String::from_utf8_lossy(&encoding).to_ascii_lowercase();
                    if encoding != "utf-8" && encoding != "utf8" {
                        bail!(
                            "line {}: the file declares the encoding `{encoding}`; Herald reads \
                             XML in UTF-8 only: convert it, e.g. with `iconv -t UTF-8`",
                            line_of(bytes, at)
                        );
                    }
                }
            }
            Event::DocType(_) => bail!(
                "line {}: a document type declaration (<!DOCTYPE …>) is refused: its entities \
                 could expand without bound or read other files",
                line_of(bytes, at)
            ),
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if root.is_none() {
                    root = Some(Root {
                        name: name.clone(),
                        namespaces: namespaces(e),
                    });
                } else if open.is_empty() {
                    bail!(
                        "line {}: a second root element <{name}> after the document ended",
                        line_of(bytes, at)
                    );
                }
                if matches!(event, Event::Start(_)) {
                    open.push((name, line_of(bytes, at)));
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some((name, line)) = open.last() {
        bail!(
            "line {}: the file ends inside <{name}> (opened at line {line}): it is truncated",
            line_of(bytes, bytes.len())
        );
    }
    let Some(root) = root else {
        bail!(
            "line {}: the file holds no XML element",
            line_of(bytes, bytes.len())
        );
    };
    Ok((text, root))
}

fn namespaces(element: &quick_xml::events::BytesStart) -> Vec<(String, String)> {
    element
        .attributes()
        .filter_map(Result::ok)
        .filter_map(|a| {
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            (key == "xmlns" || key.starts_with("xmlns:"))
                .then(|| (key, String::from_utf8_lossy(&a.value).into_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_bound_is_refused_before_parsing() {
        let huge = format!("<rss>{}</rss>", "<item/>".repeat(1000));
        let err = check_within(huge.as_bytes(), 1000).unwrap_err().to_string();
        assert!(err.contains("1000 bytes"), "{err}");
        assert!(check_within(huge.as_bytes(), huge.len()).is_ok());
    }

    #[test]
    fn the_root_and_its_namespaces_are_found_past_comments() {
        let (_, root) =
            check(b"<?xml version=\"1.0\"?>\n<!-- c -->\n<rss xmlns:wp=\"http://wordpress.org/export/1.2/\"/>")
                .unwrap();
        assert_eq!(root.name, "rss");
        assert_eq!(
            root.namespaces,
            [(
                "xmlns:wp".to_owned(),
                "http://wordpress.org/export/1.2/".to_owned()
            )]
        );
        let err = check(b"<a>\n<b>\n").unwrap_err().to_string();
        assert!(err.contains("truncated") && err.contains("line"), "{err}");
    }
}
