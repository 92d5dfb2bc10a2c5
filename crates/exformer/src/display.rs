//! Rich output from cells. Under the exformer kernel it goes through the bridge as
//! display_data; elsewhere (stock evcxr_jupyter) it is printed as evcxr MIME blocks, which that
//! kernel turns into the cell's output.

use serde_json::{json, Map, Value};

/// Shows a MIME bundle (`{"text/plain": .., "text/html": .., "image/png": <base64>}`).
pub fn show(bundle: Map<String, Value>) {
    if crate::comm::in_kernel()
        && crate::comm::display(Value::Object(bundle.clone()), json!({}), None, false).is_ok()
    {
        return;
    }
    print_mime_blocks(&bundle);
}

/// Prints evcxr's `EVCXR_BEGIN_CONTENT` blocks (what `evcxr_display` implementations emit).
pub fn print_mime_blocks(bundle: &Map<String, Value>) {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (mime, v) in bundle {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = writeln!(out, "EVCXR_BEGIN_CONTENT {mime}\n{text}\nEVCXR_END_CONTENT");
    }
    let _ = out.flush();
}

pub fn html(html: &str) {
    let mut b = Map::new();
    b.insert("text/html".into(), Value::String(html.into()));
    b.insert("text/plain".into(), Value::String(strip_tags(html)));
    show(b);
}

pub fn markdown(md: &str) {
    let mut b = Map::new();
    b.insert("text/markdown".into(), Value::String(md.into()));
    b.insert("text/plain".into(), Value::String(md.into()));
    show(b);
}

/// Width and height from a PNG's header, `None` when the bytes are not a PNG.
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    let ihdr = png.get(16..24).filter(|_| png.starts_with(b"\x89PNG"))?;
    Some((
        u32::from_be_bytes([ihdr[0], ihdr[1], ihdr[2], ihdr[3]]),
        u32::from_be_bytes([ihdr[4], ihdr[5], ihdr[6], ihdr[7]]),
    ))
}

/// HTML that shows a PNG (given base64-encoded, with its size) with a text below it, for front
/// ends that show one MIME type per output and prefer HTML to a PNG (GitHub's and nbviewer's
/// notebook previews, VS Code without widgets, nbconvert without the widget mimetype): both the
/// picture and the text are seen. The image's alt text is the text's first line.
pub fn png_with_text_html(png_base64: &str, size: Option<(u32, u32)>, text: &str) -> String {
    let size = size
        .map(|(w, h)| format!(" width=\"{w}\" height=\"{h}\""))
        .unwrap_or_default();
    let alt = escape_html(text.lines().next().unwrap_or(""));
    format!(
        "<div class=\"exformer-snapshot\"><img src=\"data:image/png;base64,{png_base64}\"{size} alt=\"{alt}\" style=\"max-width:100%;height:auto\">\n<pre>{}</pre></div>",
        escape_html(text)
    )
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Clears the cell's output (`wait`: only when new output arrives).
pub fn clear_output(wait: bool) {
    if crate::comm::clear_output(wait).is_err() {
        // Outside the exformer kernel there is no way to clear; say so on stderr.
        eprintln!("clear_output is only available in the exformer kernel");
    }
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_with_text_html_shows_both_and_escapes_the_text() {
        // a 3 x 2 PNG header is enough for the size
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&3u32.to_be_bytes());
        png.extend_from_slice(&2u32.to_be_bytes());
        assert_eq!(png_size(&png), Some((3, 2)));
        assert_eq!(png_size(b"not a png, though long enough"), None);
        let html = png_with_text_html(
            "iVBORw0KGgo",
            png_size(&png),
            "AttentionView: <m> & \"q\"\ntokens (2): 0:\"a\"",
        );
        assert!(html.contains("width=\"3\" height=\"2\""), "{html}");
        assert!(
            html.contains("alt=\"AttentionView: &lt;m&gt; &amp; &quot;q&quot;\""),
            "{html}"
        );
        assert!(html.contains("<pre>AttentionView: &lt;m&gt; &amp; &quot;q&quot;\ntokens (2): 0:&quot;a&quot;</pre>"), "{html}");
        assert!(
            html.contains("src=\"data:image/png;base64,iVBORw0KGgo\""),
            "{html}"
        );
        assert!(!png_with_text_html("x", None, "x").contains("width="));
    }
}
